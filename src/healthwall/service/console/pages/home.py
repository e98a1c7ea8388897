"""The console's overview page: jurisdiction, pending reviews, ledger size."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from healthwall.service.auth import console_roles
from healthwall.service.console.render import NavItem, page
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")
NAV = (NavItem("Overview", "/console/", frozenset({Role.OFFICER, Role.AUDITOR}), order=0),)


@router.get("/")
def overview(
    request: Request,
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """What is waiting, and how big the ledger is."""
    return page(
        ctx,
        request,
        "home.html",
        session,
        jurisdiction=ctx.runtime.jurisdiction,
        pending=len(ctx.runtime.pending_reviews()),
        ledger_size=ctx.runtime.ledger_size(),
    )
