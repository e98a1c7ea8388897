"""Accounting of disclosures use cases: build one, record requests and their deadlines, suspend.

``accounting_for(ledger, patient_id, start, end)`` is what ``GET /v1/accounting/{patient}`` and
``healthwall accounting --patient ID`` call: it maps the patient id to its keyed pseudonym (the
id itself never reaches the ledger) and reads that patient's entries.

Deadlines (164.528(c)): a request is recorded as an ``AccountingRequested`` entry, due in 60 days;
one extension of at most 30 days needs a written reason; answering appends
``AccountingProvided``. :func:`open_requests` lists requests still open, flagging overdue ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthwall.errors import InvalidInput, NotFound
from healthwall.ledger import Ledger, Receipt
from healthwall.model.entries import (
    ACCOUNTING_DUE_DAYS,
    ACCOUNTING_EXTENSION_DAYS,
    AccountingProvided,
    AccountingRequested,
    AccountingSuspended,
    utc_now,
)
from healthwall.reports.accounting import Accounting, build_accounting, render_accounting_html
from healthwall.workflows.ledger import write_atomic

ACCOUNTING_KINDS = ("released", "accounting-suspended")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def accounting_for(
    ledger: Ledger,
    patient_id: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    as_of: dt.date | None = None,
) -> Accounting:
    """The patient's accounting of disclosures for ``start``..``end`` (default: six years)."""
    if start is not None and end is not None and end < start:
        raise InvalidInput("to: before from", field="to")
    pseudonym = ledger.patient_pseudonym(patient_id)
    entries = ledger.find(kinds=ACCOUNTING_KINDS, patient=pseudonym)
    return build_accounting(
        pseudonym,
        entries,
        start=start,
        end=end,
        as_of=as_of or _today(),
        generated_at=utc_now(),
    )


def write_accounting(
    accounting: Accounting, *, json_path: Path | None, html_path: Path | None, custodian: str
) -> None:
    """Write the JSON and/or printable HTML (atomically)."""
    if json_path is not None:
        write_atomic(json_path, json.dumps(accounting.to_json(), indent=2).encode())
    if html_path is not None:
        write_atomic(html_path, render_accounting_html(accounting, custodian=custodian).encode())


def record_request(
    ledger: Ledger, patient_id: str, requested_at: dt.date | None = None
) -> tuple[AccountingRequested, Receipt]:
    """Record a patient's request for an accounting; due in 60 days."""
    day = requested_at or _today()
    entry = AccountingRequested(
        accounting_id=f"acc-{uuid.uuid4().hex[:16]}",
        patient=ledger.patient_pseudonym(patient_id),
        requested_at=day,
        due=day + dt.timedelta(days=ACCOUNTING_DUE_DAYS),
    )
    return entry, ledger.append(entry)


def _latest_requests(ledger: Ledger) -> dict[str, AccountingRequested]:
    latest: dict[str, AccountingRequested] = {}
    for _, e in ledger.find(kinds=["accounting-requested"]):
        assert isinstance(e, AccountingRequested)
        latest[e.accounting_id] = e
    return latest


def extend_request(ledger: Ledger, accounting_id: str, reason: str) -> AccountingRequested:
    """Extend an open request once by 30 days, with the written reason the patient is given."""
    current = _latest_requests(ledger).get(accounting_id)
    if current is None:
        raise NotFound("no such accounting request", field="accounting_id")
    if current.extended_due is not None:
        raise InvalidInput("accounting request was already extended once", field="accounting_id")
    entry = current.model_copy(
        update={
            "at": utc_now(),
            "extended_due": current.due + dt.timedelta(days=ACCOUNTING_EXTENSION_DAYS),
            "extension_reason": reason,
        }
    )
    ledger.append(AccountingRequested.model_validate(entry.model_dump()))
    return entry


def mark_provided(ledger: Ledger, patient_id: str, accounting: Accounting) -> list[str]:
    """Close every open request of the patient with the digest of the accounting given."""
    pseudonym = ledger.patient_pseudonym(patient_id)
    digest = hashlib.sha256(json.dumps(accounting.to_json(), sort_keys=True).encode()).hexdigest()
    closed = _closed_ids(ledger)
    open_ids = [
        a for a, e in _latest_requests(ledger).items() if e.patient == pseudonym and a not in closed
    ]
    with ledger.writer() as tx:
        tx.append_many(
            [
                AccountingProvided(accounting_id=a, patient=pseudonym, content_digest=digest)
                for a in open_ids
            ]
        )
    return open_ids


def _closed_ids(ledger: Ledger) -> set[str]:
    return {
        e.accounting_id
        for _, e in ledger.find(kinds=["accounting-provided"])
        if isinstance(e, AccountingProvided)
    }


def _provided_dates(ledger: Ledger) -> dict[str, list[dt.date]]:
    """Dates on which each patient (pseudonym) was given an accounting."""
    out: dict[str, list[dt.date]] = {}
    for _, e in ledger.find(kinds=["accounting-provided"]):
        if isinstance(e, AccountingProvided):
            out.setdefault(e.patient, []).append(e.when.date())
    return out


@dataclass(frozen=True)
class RequestStatus:
    """An accounting request still to be answered."""

    accounting_id: str
    patient_ref: str
    requested_at: str
    due: str
    overdue: bool
    extended: bool
    #: an accounting was already provided to this patient in the 12 months before the request,
    #: so a reasonable cost-based fee may be charged (164.528(c)(2)); the first one is free
    fee_may_apply: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def open_requests(ledger: Ledger, as_of: dt.date | None = None) -> list[RequestStatus]:
    """Requests not yet answered, oldest deadline first; ``overdue`` past the (extended) due."""
    day = as_of or _today()
    closed = _closed_ids(ledger)
    provided = _provided_dates(ledger)
    out = []
    for a, e in _latest_requests(ledger).items():
        if a in closed:
            continue
        due = e.extended_due or e.due
        year_before = e.requested_at - dt.timedelta(days=365)
        out.append(
            RequestStatus(
                a,
                e.patient,
                e.requested_at.isoformat(),
                due.isoformat(),
                day > due,
                e.extended_due is not None,
                any(year_before <= d <= e.requested_at for d in provided.get(e.patient, [])),
            )
        )
    return sorted(out, key=lambda r: r.due)


def suspend(
    ledger: Ledger,
    patient_id: str,
    *,
    agency: str,
    form: str,
    start: dt.date,
    end: dt.date,
    statement_ref: str = "",
) -> Receipt:
    """Record an agency's suspension of the patient's accounting (oral: at most 30 days)."""
    try:
        entry = AccountingSuspended(
            patient=ledger.patient_pseudonym(patient_id),
            agency=agency,
            form=form,
            start=start,
            end=end,
            statement_ref=statement_ref,
        )
    except ValueError as exc:
        raise InvalidInput(
            "suspension: invalid form or period (oral: at most 30 days)", field="suspension"
        ) from exc
    return ledger.append(entry)
