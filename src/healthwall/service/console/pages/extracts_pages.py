"""The history of bulk extracts: every ``ExtractMade`` entry with its risk figures.

What the ledger recorded for each extract -- recipient, profile, rows in and out, re-identification
risk before and after against the threshold, outcome and reason, digests -- newest first.
"""

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
NAV = (NavItem("Extracts", "/console/extracts", frozenset({Role.OFFICER, Role.AUDITOR}), 40),)


@router.get("/extracts")
def extracts(
    request: Request,
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
    views: LedgerViews = Depends(get_views),
) -> Response:
    """Every recorded extract, newest first."""
    return page(ctx, request, "extracts.html", session, extracts=views.extracts())
