"""The accounting of disclosures (45 CFR 164.528), built from one patient's ledger entries.

Pure: takes the patient's entries (already selected by pseudonym) and returns an
:class:`Accounting`. Rules encoded:

* window: at most six years before the date of the accounting (164.528(a)(1));
* exempt disclosures (``accountable=False``: treatment, payment, operations, to the patient, under
  authorization, limited data set, national security, custodial law enforcement) are left out;
* each line: date, recipient name and address if known, a brief description of what was
  disclosed, and the purpose / legal basis (164.528(b)(2));
* repeated disclosures to one recipient for one purpose are summarized: the first in full, then
  the number, the frequency and the date of the last (164.528(b)(3));
* suspensions (164.528(a)(2)): while an agency's suspension is in effect on the accounting date,
  disclosures to that agency are left out (written: the stated period; oral: at most 30 days);
  the patient-facing output does not mention the suspension.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from healthwall.model.entries import (
    ORAL_SUSPENSION_DAYS,
    AccountingSuspended,
    LedgerEntry,
    Released,
)

WINDOW_YEARS = 6
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class AccountingLine:
    """One disclosure, or a summary of repeated disclosures to one recipient for one purpose."""

    date: str
    recipient: str
    recipient_address: str | None
    description: str
    purpose: str
    legal_basis: str
    count: int = 1
    last_date: str | None = None
    frequency: str | None = None
    ledger_indexes: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Accounting:
    """A patient's accounting of disclosures for ``start``..``end`` (inclusive dates)."""

    patient_ref: str
    start: str
    end: str
    generated_at: str
    lines: list[AccountingLine]
    disclosures: int
    withheld_by_suspension: int = 0

    def to_json(self) -> dict[str, Any]:
        """The patient-facing JSON (suspension counts are for the officer, not included)."""
        return {
            "patient_ref": self.patient_ref,
            "start": self.start,
            "end": self.end,
            "generated_at": self.generated_at,
            "disclosures": self.disclosures,
            "lines": [line.to_json() for line in self.lines],
        }


def six_years_before(day: dt.date) -> dt.date:
    """The same calendar day six years earlier (28 Feb for 29 Feb)."""
    try:
        return day.replace(year=day.year - WINDOW_YEARS)
    except ValueError:
        return day.replace(year=day.year - WINDOW_YEARS, day=28)


def clamp_period(
    start: dt.date | None, end: dt.date | None, as_of: dt.date
) -> tuple[dt.date, dt.date]:
    """The accounting period: defaults to the full window; never more than six years back."""
    floor = six_years_before(as_of)
    lo = max(start or floor, floor)
    hi = min(end or as_of, as_of)
    return lo, hi


def _suspended_agencies(suspensions: Iterable[AccountingSuspended], as_of: dt.date) -> set[str]:
    active: set[str] = set()
    for s in suspensions:
        end = s.end
        if s.form == "oral":
            end = min(end, s.start + dt.timedelta(days=ORAL_SUSPENSION_DAYS))
        if s.start <= as_of <= end:
            active.add(s.agency.strip().casefold())
    return active


def _frequency(dates: Sequence[dt.date]) -> str:
    if len(dates) < 2:
        return "once"
    span = (dates[-1] - dates[0]).days
    every = span / (len(dates) - 1)
    return f"{len(dates)} times, about every {max(1, round(every))} days"


def _basis(r: Released) -> str:
    citation = f" ({r.legal_basis.citation})" if r.legal_basis.citation else ""
    return f"{r.legal_basis.instrument}{citation}"


def _line(group: list[tuple[int, Released]]) -> AccountingLine:
    first = group[0][1]
    dates = [r.when.date() for _, r in group]
    return AccountingLine(
        date=dates[0].isoformat(),
        recipient=first.recipient.name,
        recipient_address=first.recipient.address,
        description=first.description or ", ".join(first.elements),
        purpose=first.purpose,
        legal_basis=_basis(first),
        count=len(group),
        last_date=dates[-1].isoformat() if len(group) > 1 else None,
        frequency=_frequency(dates) if len(group) > 1 else None,
        ledger_indexes=[seq for seq, _ in group],
    )


def build_accounting(
    patient_ref: str,
    entries: Iterable[tuple[int, LedgerEntry]],
    *,
    start: dt.date | None,
    end: dt.date | None,
    as_of: dt.date,
    generated_at: str,
) -> Accounting:
    """The accounting from one patient's entries (all kinds; only releases are listed)."""
    entries = list(entries)
    lo, hi = clamp_period(start, end, as_of)
    suspended = _suspended_agencies(
        (e for _, e in entries if isinstance(e, AccountingSuspended)), as_of
    )
    groups: dict[tuple[str, str | None, str], list[tuple[int, Released]]] = {}
    withheld = 0
    for seq, e in entries:
        if not isinstance(e, Released) or not e.accountable or not lo <= e.when.date() <= hi:
            continue
        if e.recipient.name.strip().casefold() in suspended:
            withheld += 1
            continue
        key = (e.recipient.name.strip().casefold(), e.recipient.address, e.purpose)
        groups.setdefault(key, []).append((seq, e))
    lines = sorted((_line(g) for g in groups.values()), key=lambda ln: (ln.date, ln.recipient))
    return Accounting(
        patient_ref=patient_ref,
        start=lo.isoformat(),
        end=hi.isoformat(),
        generated_at=generated_at,
        lines=lines,
        disclosures=sum(line.count for line in lines),
        withheld_by_suspension=withheld,
    )


def render_accounting_html(accounting: Accounting, *, custodian: str) -> str:
    """A printable HTML page of the accounting (autoescaped Jinja2)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("accounting.html").render(a=accounting, custodian=custodian)
