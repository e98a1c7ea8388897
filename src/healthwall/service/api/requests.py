"""``POST /v1/requests`` (decide a record request), ``GET /v1/requests/{id}``, and
``GET /v1/requests/{id}/release`` (the one-time pickup of an approved review's release).

A requester's API key fixes who it is: ``requester.id`` in the body must be the key's principal,
and a requester reads only its own requests (anyone else's is a 404, never a 403, so the
existence of other requests is not revealed). Officers and auditors read every request.

``POST /v1/requests`` is served by :func:`submit_direct`, a raw ASGI handler the service
middleware calls directly (:data:`DIRECT_ROUTES`), so the hot path skips FastAPI's and Starlette's
middleware stack, router and request/response objects: the same steps in the same order as
FastAPI's (JSON parse, API key and role, pydantic validation of the Request contract, the 422
naming the field), errors rendered by the app's one error shape. The FastAPI route stays behind
it for OpenAPI (and answers should a request ever reach the router).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Path
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from healthwall.errors import Forbidden, HealthwallError
from healthwall.model.decision import Decision
from healthwall.model.request import Request as RecordRequest
from healthwall.service.auth import api_key_of, principal_of_key, require_roles
from healthwall.service.context import AppContext, get_context
from healthwall.service.errors import error_response, validation_error
from healthwall.workflows.credentials import Principal, Role
from healthwall.workflows.gateway_review import Disclosure

router = APIRouter(prefix="/v1", tags=["requests"])


class DecisionWithRelease(Decision):
    """The Decision, plus ``release``: the released elements' content when the decision is
    ``permit`` and the patient was matched (``{element: value(s)}``); null otherwise. It is
    given once, in this response, and recorded in the ledger by its SHA-256 only."""

    release: dict[str, Any] | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid API key"},
    403: {"description": "wrong role, or requester.id is not the key's requester"},
    413: {"description": "request body too large"},
    422: {"description": "invalid request: the `field` names what is wrong"},
}


@router.post("/requests", response_model=DecisionWithRelease, responses=_ERRORS)
async def submit_request(
    body: RecordRequest,
    principal: Principal = Depends(require_roles(Role.REQUESTER)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Decide a record request: permit, deny or review, with reasons and released elements."""
    return await _decide(body, principal, ctx)


async def _decide(body: RecordRequest, principal: Principal, ctx: AppContext) -> Response:
    if body.requester.id != principal.id:
        raise Forbidden("requester.id must be the API key's requester", field="requester.id")
    disclosure = await ctx.runtime.submit_awaitable(body)
    answer = disclosure.decision.to_json()
    answer["release"] = disclosure.content
    # Already the documented shape (response_model, for OpenAPI): sent without re-validation.
    return JSONResponse(answer)


#: The FastAPI route of ``POST /v1/requests``: the access log names its template.
SUBMIT_ROUTE = next(r for r in router.routes if getattr(r, "endpoint", None) is submit_request)

_JSON_HEADERS = (b"content-type", b"application/json")
_DECISION_JSON = Decision.__pydantic_serializer__.to_json  # the documented shape, as bytes


def answer_bytes(disclosure: Disclosure) -> bytes:
    """The response body: the Decision's JSON with ``release`` appended (DecisionWithRelease),
    encoded once to bytes (no dict of the decision, no second JSON encoder pass)."""
    decision = disclosure.decision_json or _DECISION_JSON(disclosure.decision)
    return decision[:-1] + b',"release":' + orjson.dumps(disclosure.content) + b"}"


async def submit_direct(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /v1/requests`` as raw ASGI, called by the service middleware (inside its body
    limit, security headers, generic 500 and access log): in FastAPI's order, a body that is not
    JSON is a 422 first, then the API key (401) and role (403), then the Request contract's
    pydantic validation (422 naming the field); errors in the app's one shape."""
    scope["route"] = SUBMIT_ROUTE  # the access log names the route template
    try:
        status, body = 200, await _submit_direct(scope, receive)
        headers = [_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    except (HealthwallError, RequestValidationError) as exc:
        error = exc if isinstance(exc, HealthwallError) else validation_error(exc)
        response = error_response(error)
        status, body, headers = response.status_code, bytes(response.body), response.raw_headers
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _submit_direct(scope: Scope, receive: Receive) -> bytes:
    ctx: AppContext = scope["app"].state.ctx
    raw, headers = await _read_body(receive), _headers(scope)
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    # The common case first: a JSON body that is a valid Request, parsed and validated in one
    # pass. Anything else takes the step-by-step path, whose errors come in FastAPI's order.
    body = _valid_json(raw, content_type)
    payload = _payload(raw, content_type) if body is None else None
    key = api_key_of(
        headers.get(b"authorization", b"").decode("latin-1"),
        headers.get(b"x-api-key", b"").decode("latin-1"),
    )
    principal = await principal_of_key(ctx, key)
    if principal.role is not Role.REQUESTER:
        raise Forbidden("this route needs another role", field="role")
    if body is None:
        if payload is None:
            raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "missing"}])
        body = _validate(payload)
    if body.requester.id != principal.id:
        raise Forbidden("requester.id must be the API key's requester", field="requester.id")
    return answer_bytes(await ctx.runtime.submit_awaitable(body))


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (as Starlette reads it; a disconnect ends the request)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request headers by lower-case name; the first of repeated names (as Starlette)."""
    out: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        out.setdefault(name.lower(), value)
    return out


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _valid_json(raw: bytes, content_type: str) -> RecordRequest | None:
    """The Request of a JSON body parsed and validated in one pass (pydantic's JSON mode), or
    None when that fails for any reason: the caller then parses with ``json`` and validates the
    object, exactly as before, so every error (and its order) is unchanged. Where JSON mode
    succeeds it gives the same Request as ``json.loads`` then validation (anything ``json``
    reads differently -- a byte order mark, a lone surrogate -- fails JSON mode)."""
    if not raw or not _is_json(content_type):
        return None
    try:
        return RecordRequest.model_validate_json(raw)
    except Exception:  # whatever it was, the old path meets it in its own place
        return None


def _payload(raw: bytes, content_type: str) -> Any:
    """The parsed body as FastAPI reads it: JSON for a JSON content type, else the raw bytes
    (which then fail validation); None when there is no body. (``json``, not orjson: orjson
    reads integers past 64 bits as floats.)"""
    if not raw:
        return None
    if not _is_json(content_type):
        return raw
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error"}]
        ) from None


def _validate(payload: Any) -> RecordRequest:
    try:
        return RecordRequest.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in errors]
        ) from None


#: Raw ASGI handlers the service middleware calls directly, by (method, path).
DIRECT_ROUTES = {("POST", "/v1/requests"): submit_direct}


@router.get("/requests/{request_id}", response_model=Decision, responses=_ERRORS)
async def get_request(
    request_id: str = Path(min_length=1, max_length=200),
    principal: Principal = Depends(require_roles(Role.REQUESTER, Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> dict[str, Any]:
    """One decision; a requester sees only its own (others: 404)."""
    owner = principal.id if principal.role is Role.REQUESTER else None
    return ctx.runtime.get(request_id, owner).to_json()


@router.get(
    "/requests/{request_id}/release",
    response_model=DecisionWithRelease,
    responses={**_ERRORS, 404: {"description": "nothing to pick up (or not yours)"}},
)
async def pickup_release(
    request_id: str = Path(min_length=1, max_length=200),
    principal: Principal = Depends(require_roles(Role.REQUESTER)),
    ctx: AppContext = Depends(get_context),
) -> dict[str, Any]:
    """The released content of a review a privacy officer approved: once, by the requester that
    made the request, before it expires; recorded in the ledger (Released) before it is sent.
    Anything else -- another requester's request, not approved, already picked up, expired -- is
    a 404 like a missing request."""
    disclosure = await asyncio.to_thread(ctx.runtime.pickup, request_id, principal.id)
    answer = disclosure.decision.to_json()
    answer["release"] = disclosure.content
    return answer
