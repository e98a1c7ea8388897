"""The one JSON error shape of the API, and how every kind of failure maps onto it.

``{"error": CODE, "message": TEXT, "field": NAME?, "correlation_id": ID?}`` -- built by
:meth:`healthwall.errors.HealthwallError.to_dict`. Validation failures become 422 naming the field
(``unknown-code`` for a code outside its list); anything unexpected becomes a generic 500 with a
correlation id that is also in the server log, next to the exception type (never its message,
which might carry data). Console pages get the same message as an HTML page.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from healthwall.errors import (
    Forbidden,
    HealthwallError,
    InvalidInput,
    NotFound,
    TooLarge,
    Unauthorized,
    UnknownCode,
)

log = logging.getLogger("healthwall.service")


class MethodNotAllowed(InvalidInput):
    """A route exists but not for this HTTP method."""

    status = 405
    code = "method-not-allowed"


_CODE_ERRORS = {"enum", "literal_error"}
_BY_STATUS: dict[int, type[HealthwallError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
}


def error_response(exc: HealthwallError, request: Request | None = None) -> Response:
    """The response for one of our errors: JSON for the API, an HTML page for the console."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if request is not None and _is_console(request):
        return _console_error(request, exc)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def validation_error(exc: RequestValidationError) -> InvalidInput:
    """A FastAPI validation failure as an :class:`InvalidInput` naming every field (no values)."""
    problems: list[str] = []
    fields: list[str] = []
    unknown = False
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "request"
        kind = err.get("type", "")
        if kind == "json_invalid":
            where, text = "request", "not valid JSON"
        elif kind in _CODE_ERRORS:
            unknown, text = True, "unknown code"
        elif kind == "missing":
            text = "field required"
        elif kind == "extra_forbidden":
            text = "unknown field"
        else:
            text = str(err.get("msg", "invalid")).split(", input")[0][:200]
        fields.append(where)
        problems.append(f"{where}: {text}")
    cls = UnknownCode if unknown else InvalidInput
    return cls("invalid request: " + "; ".join(problems), field=fields[0] if fields else None)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    async def on_healthwall(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HealthwallError)
        return error_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc), request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(_from_status(exc.status_code), request)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return unexpected_response(exc)

    app.add_exception_handler(HealthwallError, on_healthwall)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def unexpected_response(exc: BaseException) -> Response:
    """A generic 500 with a correlation id; the log gets the id and the exception type only."""
    correlation = uuid.uuid4().hex[:12]
    log.error("internal error %s (%s)", correlation, type(exc).__name__)
    body: dict[str, Any] = {
        "error": "internal-error",
        "message": f"internal error; correlation id {correlation}",
        "correlation_id": correlation,
    }
    return JSONResponse(body, status_code=500)


def _from_status(status: int) -> HealthwallError:
    if status == 405:
        return MethodNotAllowed("method not allowed on this route", field="method")
    if status == 413:
        return TooLarge("request body too large", field="request")
    cls = _BY_STATUS.get(status, InvalidInput)
    messages = {404: "not found", 401: "authentication required", 403: "forbidden"}
    return cls(messages.get(status, "bad request"))


def _is_console(request: Request) -> bool:
    return request.url.path.startswith("/console")


def _console_error(request: Request, exc: HealthwallError) -> Response:
    from fastapi.responses import RedirectResponse

    if exc.status == 401:
        return RedirectResponse("/console/login", status_code=303)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "error.html", {"error": exc, "principal": None}, status_code=exc.status
    )
