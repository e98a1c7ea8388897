"""Rendering a console page: the base layout's context (principal, nav, CSRF token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from healthwall.service.context import AppContext
from healthwall.workflows.credentials import Role, Session


@dataclass(frozen=True)
class NavItem:
    """One entry of the console's navigation, shown to the listed roles."""

    label: str
    href: str
    roles: frozenset[Role]
    order: int = 50


def page(
    ctx: AppContext,
    request: Request,
    template: str,
    session: Session | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render ``console/<template>`` inside the base layout."""
    role = session.principal.role if session else None
    nav = [item for item in request.app.state.nav if role in item.roles]
    context = {
        "principal": session.principal if session else None,
        "csrf_token": session.csrf_token if session else "",
        "nav": nav,
        "path": request.url.path,
        **values,
    }
    response = ctx.templates.TemplateResponse(
        request, f"console/{template}", context, status_code=status_code
    )
    assert isinstance(response, HTMLResponse)
    return response
