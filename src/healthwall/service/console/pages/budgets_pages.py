"""Aggregate privacy budgets: per requester and period, the total, spent and remaining."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from healthwall.service.auth import console_roles
from healthwall.service.console.render import NavItem, page
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")
NAV = (NavItem("Budgets", "/console/budgets", frozenset({Role.OFFICER, Role.AUDITOR}), 50),)


@router.get("/budgets")
def budgets(
    request: Request,
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Every requester's differential-privacy budget (from the aggregates workflow)."""
    return page(ctx, request, "budgets.html", session, budgets=ctx.runtime.budgets(None))
