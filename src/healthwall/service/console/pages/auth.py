"""Sign-in and sign-out (officers and auditors; passwords checked with scrypt)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from healthwall.errors import Unauthorized
from healthwall.service import auth
from healthwall.service.console.render import page
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")


@router.get("/login")
def login_form(request: Request, ctx: AppContext = Depends(get_context)) -> Response:
    """The sign-in form, with a fresh double-submit CSRF token."""
    return _with_token(ctx, request, auth.new_login_token(), None)


def _with_token(
    ctx: AppContext, request: Request, token: str, error: str | None, status: int = 200
) -> Response:
    response = page(
        ctx, request, "login.html", None, login_csrf=token, error=error, status_code=status
    )
    auth.set_cookie(ctx, request, response, auth.LOGIN_COOKIE, token)
    return response


@router.post("/login")
async def login(
    request: Request,
    user: str = Form(min_length=1, max_length=200),
    password: str = Form(min_length=1, max_length=500),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Check the CSRF token and the password; open a session and go to the console."""
    await auth.check_login_token(ctx, request)
    try:
        principal = ctx.credentials.authenticate_password(user, password)
    except Unauthorized as exc:
        return _with_token(ctx, request, auth.new_login_token(), exc.message, 401)
    response = RedirectResponse("/console/", status_code=303)
    auth.sign_in(ctx, request, response, principal)
    return response


@router.post("/logout")
async def logout(
    request: Request,
    _: Session = Depends(auth.csrf_protected(*Role)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """End the session (CSRF-protected, like every form)."""
    response = RedirectResponse("/console/login", status_code=303)
    auth.sign_out(ctx, request, response)
    return response
