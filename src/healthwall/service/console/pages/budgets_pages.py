"""Aggregate privacy budgets: per requester and period, the total, spent and remaining, and the
latest differentially private answers (``AggregateAnswered`` entries) with what each spent."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from healthwall.service.auth import console_roles
from healthwall.service.console.render import NavItem, page
from healthwall.service.console.views import get_views
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.console_views import LedgerViews
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")
NAV = (NavItem("Budgets", "/console/budgets", frozenset({Role.OFFICER, Role.AUDITOR}), 50),)


@router.get("/budgets")
def budgets(
    request: Request,
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
    views: LedgerViews = Depends(get_views),
) -> Response:
    """Every requester's differential-privacy budget, and the latest answers that spent it."""
    return page(
        ctx,
        request,
        "budgets.html",
        session,
        budgets=ctx.runtime.budgets(None),
        answers=views.aggregates(),
    )
