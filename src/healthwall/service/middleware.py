"""One pure-ASGI middleware: security headers, the body size limit and the access log.

- Security headers on every response: a ``default-src 'self'`` CSP (the OpenAPI page at /docs
  also allows the Swagger UI CDN), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  no-referrer``, ``X-Frame-Options: DENY`` and ``Cache-Control: no-store`` (static files excepted).
- A body over ``max_body_bytes`` is refused with 413 before the app reads it (declared length) or
  as soon as the stream passes the limit.
- An unexpected exception becomes the generic 500 here, so it never travels on to the server,
  whose traceback in the log could carry data; the log gets a correlation id and the type only.
- The access log line names the method, the route *template* (``/v1/accounting/{patient}``, never
  the path itself), the status and the milliseconds, so identifiers in a URL never reach the log.

Written as raw ASGI rather than ``BaseHTTPMiddleware`` to keep the per-request cost small.
``direct`` maps (method, path) to a raw ASGI handler called instead of the wrapped app (the hot
``POST /v1/requests``): it gets the same headers, body limit, generic 500 and access log, without
the framework's middleware stack and router.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from healthwall.errors import TooLarge
from healthwall.service.errors import unexpected_response

access_log = logging.getLogger("healthwall.access")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "style-src 'self' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_STATIC_CACHE = (b"cache-control", b"public, max-age=3600")
_NO_STORE = (b"cache-control", b"no-store")


def _headers_for(path: str) -> list[tuple[bytes, bytes]]:
    csp = DOCS_CSP if path in ("/docs", "/docs/oauth2-redirect") else CSP
    cache = _STATIC_CACHE if path.startswith("/static/") else _NO_STORE
    return [*_COMMON, (b"content-security-policy", csp.encode()), cache]


class _BodyTooLarge(Exception):
    pass


class ServiceMiddleware:
    """Wraps the app: headers, body limit, access log."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        log_access: bool,
        direct: Mapping[tuple[str, str], ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.log_access = log_access
        self.direct = dict(direct or {})

    def is_direct(self, scope: Scope) -> bool:
        """Whether an HTTP request goes to one of the ``direct`` handlers."""
        return (scope["method"], scope["path"]) in self.direct

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        extra = _headers_for(scope["path"])
        state: dict[str, Any] = {"status": 0, "sent": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["sent"] = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in extra if h[0] not in names),
                ]
            await send(message)

        if self._declared_length(scope) > self.max_body:
            await self._too_large(send_with_headers)
        else:
            app = self.direct.get((scope["method"], scope["path"]), self.app)
            try:
                await app(scope, self._limited(receive), send_with_headers)
            except _BodyTooLarge:
                if not state["sent"]:
                    await self._too_large(send_with_headers)
            except Exception as exc:  # never let a traceback (which may hold data) reach a log
                response = unexpected_response(exc)
                if not state["sent"]:
                    await response(scope, receive, send_with_headers)
        if self.log_access:
            self._log(scope, state["status"], started)

    def _declared_length(self, scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return self.max_body + 1
        return 0

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _BodyTooLarge
            return message

        return limited

    async def _too_large(self, send: Send) -> None:
        err = TooLarge(f"request body over {self.max_body} bytes", field="request")
        body = json.dumps(err.to_dict()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": err.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or (
            "/static/*" if scope["path"].startswith("/static/") else "-"
        )
        millis = (time.perf_counter() - started) * 1000
        access_log.info("%s %s %d %.1fms", scope["method"], template, status, millis)
