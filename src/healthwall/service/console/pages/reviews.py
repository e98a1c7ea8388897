"""The review queue: requests waiting for a privacy officer, approved or denied with a note.

Officers decide; auditors see the queue read-only. The decision goes through the gateway
(``Gateway.review``), which records it in the ledger with the officer's id and note.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from healthwall.errors import InvalidInput
from healthwall.service.auth import console_roles, csrf_protected
from healthwall.service.console.render import NavItem, page
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")
NAV = (NavItem("Review queue", "/console/reviews", frozenset({Role.OFFICER, Role.AUDITOR}), 10),)


@router.get("/reviews")
def queue(
    request: Request,
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Every request waiting for review, oldest first."""
    return page(
        ctx,
        request,
        "reviews.html",
        session,
        items=ctx.runtime.pending_reviews(),
        can_review=session.principal.role is Role.OFFICER,
    )


@router.post("/reviews/{request_id}")
async def decide(
    request_id: str = Path(min_length=1, max_length=200),
    action: str = Form(),
    note: str = Form(min_length=1, max_length=2000),
    session: Session = Depends(csrf_protected(Role.OFFICER)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Approve or deny one request; then show its page with the recorded decision."""
    if action not in ("approve", "deny"):
        raise InvalidInput("action must be approve or deny", field="action")
    ctx.runtime.review(request_id, session.principal.id, action == "approve", note)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)
