"""The ledger browser: size, latest signed checkpoint, verification, entries, inclusion proofs.

Officers and auditors read it. Listings show kinds, timestamps, request ids and patient
pseudonyms only (the ledger never holds content); an entry's page shows its exact hashed bytes
and its RFC 9162 inclusion proof against a signed checkpoint, checked server-side with the
standalone verifier.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from healthwall.service.auth import console_roles
from healthwall.service.console.render import NavItem, page
from healthwall.service.console.views import get_views
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.console_views import PAGE_SIZE, LedgerViews
from healthwall.workflows.credentials import Role, Session

READERS = frozenset({Role.OFFICER, Role.AUDITOR})
router = APIRouter(prefix="/console")
NAV = (NavItem("Ledger", "/console/ledger", READERS, 20),)


@router.get("/ledger")
def ledger(
    request: Request,
    page_no: int = Query(0, alias="page", ge=0, le=10_000_000),
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
    views: LedgerViews = Depends(get_views),
) -> Response:
    """The ledger's state and one page of entries, newest first (page 0 is the newest)."""
    size = views.size()
    stop = max(0, size - page_no * PAGE_SIZE)
    start = max(0, stop - PAGE_SIZE)
    rows = list(reversed(views.page(start, stop - start))) if stop > start else []
    pages = max(1, -(-size // PAGE_SIZE))
    verification, verifying = views.verification()
    return page(
        ctx,
        request,
        "ledger.html",
        session,
        size=size,
        checkpoint=views.checkpoint(),
        verification=verification,
        verifying=verifying,
        rows=rows,
        page_no=page_no,
        pages=pages,
        first=start,
        last=stop - 1,
    )


@router.get("/ledger/entries/{index}")
def entry(
    request: Request,
    index: int = Path(ge=0),
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
    views: LedgerViews = Depends(get_views),
) -> Response:
    """One entry with its inclusion proof against a signed checkpoint."""
    return page(ctx, request, "ledger_entry.html", session, view=views.entry(index))
