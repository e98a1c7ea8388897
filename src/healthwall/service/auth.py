"""Who is calling: API keys for the API, signed session cookies and CSRF tokens for the console.

API: ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``); keys are checked against their
SHA-256 hash (:mod:`healthwall.workflows.credentials`). Roles: requester / officer / auditor.

Console: the session cookie holds a random session id and its HMAC-SHA256 under the session key;
the session itself (principal, CSRF token, expiry) is in the database, so signing out ends it.
Cookies are ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` over TLS (or when configured).
Every console form carries the session's CSRF token; the sign-in form, before any session
exists, uses a signed double-submit token.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.responses import Response

from healthwall.errors import Forbidden, Unauthorized
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Principal, Role, Session

SESSION_COOKIE = "hw_session"
LOGIN_COOKIE = "hw_login"


# API keys -------------------------------------------------------------------------------------
def api_key_of(authorization: str, x_api_key: str) -> str:
    """The API key of a request's ``Authorization: Bearer`` header, else its ``X-API-Key``."""
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    if x_api_key:
        return x_api_key.strip()
    raise Unauthorized("an API key is required (Authorization: Bearer KEY)", field="authorization")


async def principal_of_key(ctx: AppContext, key: str) -> Principal:
    """The owner of an API key: a key seen in the last 30 s costs no hop to the thread pool; a
    key not seen lately is checked against the database off the event loop."""
    cached = ctx.cached_principal(key)
    if cached is not None:
        return cached
    return await asyncio.to_thread(ctx.principal_for_key, key)


async def api_principal(request: Request, ctx: AppContext = Depends(get_context)) -> Principal:
    """FastAPI dependency: the principal of the request's API key."""
    headers = request.headers
    key = api_key_of(headers.get("authorization", ""), headers.get("x-api-key", ""))
    return await principal_of_key(ctx, key)


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only API callers with one of ``roles`` (async: no thread hop)."""
    allowed = frozenset(roles)

    async def dependency(principal: Principal = Depends(api_principal)) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("this route needs another role", field="role")
        return principal

    return dependency


# signed cookies -------------------------------------------------------------------------------
def _sign(key: bytes, value: str) -> str:
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return value + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _unsign(key: bytes, signed: str) -> str | None:
    value, _, _sig = signed.rpartition(".")
    if not value or not hmac.compare_digest(_sign(key, value), signed):
        return None
    return value


def _secure(ctx: AppContext, request: Request) -> bool:
    return ctx.settings.secure_cookies or request.url.scheme == "https"


def set_cookie(
    ctx: AppContext, request: Request, response: Response, name: str, value: str
) -> None:
    """Set a signed, HttpOnly, SameSite=Strict cookie (Secure over TLS)."""
    response.set_cookie(
        name,
        _sign(ctx.session_key, value),
        max_age=ctx.settings.session_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=_secure(ctx, request),
        path="/",
    )


def read_cookie(ctx: AppContext, request: Request, name: str) -> str | None:
    signed = request.cookies.get(name)
    return _unsign(ctx.session_key, signed) if signed else None


# sessions -------------------------------------------------------------------------------------
def sign_in(ctx: AppContext, request: Request, response: Response, principal: Principal) -> None:
    """Open a session for an officer or auditor and set its cookie."""
    if principal.role not in (Role.OFFICER, Role.AUDITOR):
        raise Forbidden("only officers and auditors use the console", field="role")
    ttl = dt.timedelta(minutes=ctx.settings.session_minutes)
    session_id, _ = ctx.credentials.start_session(principal, ttl)
    set_cookie(ctx, request, response, SESSION_COOKIE, session_id)
    response.delete_cookie(LOGIN_COOKIE, path="/")


def sign_out(ctx: AppContext, request: Request, response: Response) -> None:
    session_id = read_cookie(ctx, request, SESSION_COOKIE)
    if session_id:
        ctx.credentials.end_session(session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


def current_session(request: Request, ctx: AppContext = Depends(get_context)) -> Session:
    """FastAPI dependency: the live console session, else 401 (the console redirects)."""
    session_id = read_cookie(ctx, request, SESSION_COOKIE)
    session = ctx.credentials.session(session_id) if session_id else None
    if session is None:
        raise Unauthorized("sign in first", field="session")
    return session


def console_roles(*roles: Role) -> Callable[..., Session]:
    """A dependency admitting only console sessions with one of ``roles``."""
    allowed = frozenset(roles)

    def dependency(session: Session = Depends(current_session)) -> Session:
        if session.principal.role not in allowed:
            raise Forbidden("this page needs another role", field="role")
        return session

    return dependency


# CSRF -----------------------------------------------------------------------------------------
async def _form_token(request: Request) -> str:
    form = await request.form()
    token = form.get("csrf_token")
    return token if isinstance(token, str) else ""


def csrf_protected(*roles: Role) -> Callable[..., Awaitable[Session]]:
    """A dependency for console POSTs: a session with one of ``roles`` AND its CSRF token."""
    check_roles = console_roles(*roles)

    async def dependency(request: Request, session: Session = Depends(current_session)) -> Session:
        check_roles(session)
        token = await _form_token(request)
        if not token or not hmac.compare_digest(token, session.csrf_token):
            raise Forbidden("missing or wrong CSRF token", field="csrf_token")
        return session

    return dependency


def new_login_token() -> str:
    """A fresh double-submit token for the sign-in form (set as a cookie and a hidden field)."""
    return secrets.token_urlsafe(24)


async def check_login_token(ctx: AppContext, request: Request) -> None:
    """The sign-in form's token must equal its signed cookie."""
    expected = read_cookie(ctx, request, LOGIN_COOKIE)
    token = await _form_token(request)
    if not expected or not token or not hmac.compare_digest(token, expected):
        raise Forbidden("missing or wrong CSRF token", field="csrf_token")
