"""Accounting of disclosures (164.528): window, exemptions, summaries, suspensions, deadlines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from ledger_helpers import release

from healthwall.errors import InvalidInput
from healthwall.ledger import Ledger
from healthwall.model.entries import Recipient
from healthwall.workflows import accounting as wf

AS_OF = dt.date(2026, 6, 30)
SHERIFF = Recipient(name="County Sheriff", address="1 Court St, Springfield")
HEALTH = Recipient(name="State Health Dept", address="2 Capitol Way")


def _at(day: str) -> str:
    return f"{day}T10:00:00Z"


@pytest.fixture()
def populated(sqlite_ledger: Ledger) -> Ledger:
    p = sqlite_ledger.patient_pseudonym("patient-A")
    other = sqlite_ledger.patient_pseudonym("patient-B")
    rows = [
        release(p, 1, at=_at("2026-01-05"), recipient=SHERIFF),
        release(p, 2, at=_at("2026-02-05"), recipient=SHERIFF),
        release(p, 3, at=_at("2026-03-07"), recipient=SHERIFF),
        release(p, 4, at=_at("2025-11-01"), recipient=HEALTH, purpose="PUBHLTH"),
        release(p, 5, at=_at("2026-04-01"), recipient=HEALTH, purpose="TREAT", accountable=False),
        release(p, 6, at=_at("2019-01-01"), recipient=HEALTH, purpose="PUBHLTH"),
        release(other, 7, at=_at("2026-01-10"), recipient=SHERIFF),
    ]
    with sqlite_ledger.writer() as tx:
        tx.append_many(rows)
    return sqlite_ledger


def test_accounting_lists_accountable_disclosures_in_the_window(populated: Ledger) -> None:
    acc = wf.accounting_for(populated, "patient-A", as_of=AS_OF)
    assert acc.start == "2020-06-30" and acc.end == "2026-06-30"
    assert acc.disclosures == 4
    assert [(ln.date, ln.recipient, ln.count) for ln in acc.lines] == [
        ("2025-11-01", "State Health Dept", 1),
        ("2026-01-05", "County Sheriff", 3),
    ]
    sheriff = acc.lines[1]
    assert sheriff.last_date == "2026-03-07" and sheriff.frequency is not None
    assert "3 times" in sheriff.frequency
    assert sheriff.recipient_address == SHERIFF.address
    assert sheriff.description == "name and address"
    assert sheriff.purpose == "law-enforcement" and "164.512(f)" in sheriff.legal_basis
    assert sheriff.ledger_indexes == [0, 1, 2]


def test_window_never_exceeds_six_years_and_dates_filter(populated: Ledger) -> None:
    acc = wf.accounting_for(populated, "patient-A", dt.date(2015, 1, 1), None, as_of=AS_OF)
    assert acc.start == "2020-06-30"
    acc = wf.accounting_for(
        populated, "patient-A", dt.date(2026, 2, 1), dt.date(2026, 2, 28), as_of=AS_OF
    )
    assert [(ln.date, ln.count) for ln in acc.lines] == [("2026-02-05", 1)]
    with pytest.raises(InvalidInput):
        wf.accounting_for(populated, "patient-A", dt.date(2026, 2, 1), dt.date(2026, 1, 1))


def test_other_patients_and_unknown_patients(populated: Ledger) -> None:
    acc = wf.accounting_for(populated, "patient-B", as_of=AS_OF)
    assert acc.disclosures == 1
    assert wf.accounting_for(populated, "patient-Z", as_of=AS_OF).lines == []


def test_written_suspension_hides_the_agency_only_while_in_effect(populated: Ledger) -> None:
    wf.suspend(
        populated,
        "patient-A",
        agency="county sheriff",
        form="written",
        start=dt.date(2026, 6, 1),
        end=dt.date(2026, 9, 30),
        statement_ref="letter 17",
    )
    during = wf.accounting_for(populated, "patient-A", as_of=AS_OF)
    assert [ln.recipient for ln in during.lines] == ["State Health Dept"]
    assert during.withheld_by_suspension == 3
    assert "withheld" not in json.dumps(during.to_json())
    after = wf.accounting_for(populated, "patient-A", as_of=dt.date(2026, 10, 1))
    assert {ln.recipient for ln in after.lines} == {"State Health Dept", "County Sheriff"}


def test_oral_suspension_lasts_at_most_thirty_days(populated: Ledger) -> None:
    with pytest.raises(InvalidInput):
        wf.suspend(
            populated,
            "patient-A",
            agency="County Sheriff",
            form="oral",
            start=dt.date(2026, 6, 1),
            end=dt.date(2026, 7, 15),
        )
    wf.suspend(
        populated,
        "patient-A",
        agency="County Sheriff",
        form="oral",
        start=dt.date(2026, 6, 1),
        end=dt.date(2026, 7, 1),
    )
    assert wf.accounting_for(populated, "patient-A", as_of=AS_OF).disclosures == 1
    assert wf.accounting_for(populated, "patient-A", as_of=dt.date(2026, 7, 2)).disclosures == 4


def test_html_page_is_printable_and_escaped(populated: Ledger, tmp_path: Path) -> None:
    p = populated.patient_pseudonym("patient-A")
    evil = Recipient(name="<script>alert(1)</script>", address=None)
    populated.append(release(p, 9, at=_at("2026-05-01"), recipient=evil))
    acc = wf.accounting_for(populated, "patient-A", as_of=AS_OF)
    wf.write_accounting(
        acc, json_path=tmp_path / "a.json", html_path=tmp_path / "a.html", custodian="Clinic"
    )
    html = (tmp_path / "a.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "County Sheriff" in html and "not known" in html and "@media print" in html
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["disclosures"] == 5 and "patient-A" not in (tmp_path / "a.json").read_text()


def test_request_deadlines_extension_and_delivery(populated: Ledger) -> None:
    today = dt.datetime.now(dt.UTC).date()
    entry, _ = wf.record_request(populated, "patient-A", today - dt.timedelta(days=70))
    assert entry.due == today - dt.timedelta(days=10)
    fresh, _ = wf.record_request(populated, "patient-B", today)
    status = {r.accounting_id: r for r in wf.open_requests(populated)}
    assert status[entry.accounting_id].overdue and not status[fresh.accounting_id].overdue
    wf.extend_request(populated, entry.accounting_id, "records held off site")
    status = {r.accounting_id: r for r in wf.open_requests(populated)}
    assert status[entry.accounting_id].extended and not status[entry.accounting_id].overdue
    with pytest.raises(InvalidInput):
        wf.extend_request(populated, entry.accounting_id, "again")
    acc = wf.accounting_for(populated, "patient-A")
    assert wf.mark_provided(populated, "patient-A", acc) == [entry.accounting_id]
    assert [r.accounting_id for r in wf.open_requests(populated)] == [fresh.accounting_id]
    assert not wf.open_requests(populated)[0].fee_may_apply  # patient-B: first in 12 months
    again, _ = wf.record_request(populated, "patient-A", today)
    status = {r.accounting_id: r for r in wf.open_requests(populated)}
    assert status[again.accounting_id].fee_may_apply  # patient-A had one provided today
    assert populated.verify().ok
