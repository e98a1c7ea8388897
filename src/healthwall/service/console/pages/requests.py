"""One request's page: who asked and on what basis, the decision, its reasons and citations,
the released and withheld elements and the ledger entry. Patient identifiers are never shown.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from healthwall.service.auth import console_roles
from healthwall.service.console.render import page
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")


@router.get("/requests/{request_id}")
def request_page(
    request: Request,
    request_id: str = Path(min_length=1, max_length=200),
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """The decision of one request, explained."""
    view = ctx.runtime.detail(request_id)
    can_review = session.principal.role is Role.OFFICER and view.decision.decision.value == "review"
    return page(
        ctx,
        request,
        "request.html",
        session,
        decision=view.decision,
        summary=view.summary,
        can_review=can_review,
    )
