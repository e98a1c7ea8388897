"""Patient accounting lookup (45 CFR 164.528): a POST form, so the patient id is never in a URL.

The id goes only to ``Runtime.accounting`` (which maps it to the ledger's keyed pseudonym); the
page shows the pseudonym, never the id. ``/console/accounting/print`` renders the same accounting
as a standalone printable page (print CSS).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from healthwall.errors import InvalidInput
from healthwall.service.auth import console_roles, csrf_protected
from healthwall.service.console.render import NavItem, page
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")
NAV = (NavItem("Accounting", "/console/accounting", frozenset({Role.OFFICER, Role.AUDITOR}), 25),)


def _date(value: str, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{field}: not a date (YYYY-MM-DD)", field=field) from exc


def _lookup(ctx: AppContext, patient: str, start: str, end: str) -> Any:
    return ctx.runtime.accounting(patient.strip(), _date(start, "from"), _date(end, "to"))


@router.get("/accounting")
def form(
    request: Request,
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """The lookup form."""
    return page(ctx, request, "accounting.html", session, accounting=None)


@router.post("/accounting")
def lookup(
    request: Request,
    patient: str = Form(min_length=1, max_length=200),
    start: str = Form("", alias="from", max_length=10),
    end: str = Form("", alias="to", max_length=10),
    session: Session = Depends(csrf_protected(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """The patient's accounting of disclosures, with a button for the printable page."""
    accounting = _lookup(ctx, patient, start, end)
    return page(
        ctx,
        request,
        "accounting.html",
        session,
        accounting=accounting,
        patient=patient,
        start=start,
        end=end,
    )


@router.post("/accounting/print")
def printable(
    request: Request,
    patient: str = Form(min_length=1, max_length=200),
    start: str = Form("", alias="from", max_length=10),
    end: str = Form("", alias="to", max_length=10),
    session: Session = Depends(csrf_protected(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """The accounting as a standalone page for the patient, laid out for printing."""
    accounting = _lookup(ctx, patient, start, end)
    return page(
        ctx,
        request,
        "accounting_print.html",
        session,
        accounting=accounting,
        custodian=ctx.runtime.jurisdiction,
    )
