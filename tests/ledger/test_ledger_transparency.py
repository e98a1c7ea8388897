"""The transparency report: counts by category, small cells suppressed, files written."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import release

from healthwall.ledger import Ledger
from healthwall.model.entries import (
    AggregateAnswered,
    Budget,
    DecisionMade,
    ExtractMade,
    LedgerEntry,
    Party,
    ReasonRef,
    RequestReceived,
)
from healthwall.reports.transparency import MARKER, THRESHOLD, suppress_table
from healthwall.workflows.transparency import build_report, write_report


def _request(i: int, kind: str, instrument: str, month: int) -> RequestReceived:
    return RequestReceived(
        at=f"2026-{month:02d}-15T09:00:00Z",
        request_id=f"req-{i}",
        requester=Party(id=f"agency-{kind}", name=f"Agency {kind}", kind=kind),
        purpose=kind,
        instrument=instrument,
        scope_kind="single-patient",
        elements=["name", "address"],
        request_digest=f"{i:064x}",
    )


def _decision(i: int, outcome: str, month: int, policy: str = "p") -> DecisionMade:
    return DecisionMade(
        at=f"2026-{month:02d}-15T10:00:00Z",
        request_id=f"req-{i}",
        decision=outcome,  # type: ignore[arg-type]
        reasons=[ReasonRef(policy=policy, citation="c", text="t")],
    )


@pytest.fixture()
def report_ledger(sqlite_ledger: Ledger) -> Ledger:
    p = sqlite_ledger.patient_pseudonym("patient-T")
    entries: list[LedgerEntry] = []
    for i in range(30):  # 30 law-enforcement court orders, 25 permitted, 5 denied
        entries.append(_request(i, "law-enforcement", "court-order", 1 + i % 2))
        entries.append(_decision(i, "permit" if i < 25 else "deny", 1 + i % 2, "no-warrant"))
        if i < 25:
            entries.append(release(p, i, at="2026-01-20T00:00:00Z"))
    for i in range(30, 34):  # 4 immigration requests, denied
        entries.append(_request(i, "immigration-enforcement", "administrative-warrant", 3))
        entries.append(_decision(i, "review", 3))
        entries.append(_decision(i, "deny", 3, "sb81-immigration"))
    entries.append(_request(99, "court", "court-order", 7))  # outside the period
    for i in range(12):
        entries.append(
            ExtractMade(
                at="2026-02-01T00:00:00Z",
                extract_id=f"x{i}",
                recipient="Researcher",
                profile="safe-harbor",
                spec_hash="a" * 64,
                input_digest="b" * 64,
                output_digest="c" * 64,
                rows_in=100,
                rows_out=90,
                risk_before=0.5,
                risk_after=0.04,
                threshold=0.05,
                outcome="released",
            )
        )
    entries.append(
        AggregateAnswered(
            at="2026-02-02T00:00:00Z",
            request_id="agg-1",
            requester=Party(id="ph", name="Public Health", kind="public-health"),
            template="patients",
            parameters={"by": ["zip3"]},
            mechanism="laplace",
            budget_spent=Budget(epsilon=0.5),
            budget_remaining=Budget(epsilon=1.5),
            output_digest="d" * 64,
            cells_released=40,
            cells_suppressed=3,
        )
    )
    with sqlite_ledger.writer() as tx:
        tx.append_many(entries)
    return sqlite_ledger


def _table(data: dict[str, object], tid: str) -> dict[str, object]:
    tables = data["tables"]
    assert isinstance(tables, dict)
    rows = tables[tid]["rows"]
    return {r["key"]: r["count"] for r in rows}


def test_report_counts_and_suppresses(report_ledger: Ledger) -> None:
    report = build_report(report_ledger, dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    data = report.to_json()
    assert data["ledger"]["size"] == report_ledger.size()
    kinds = _table(data, "requests_by_requester_kind")
    # 4 immigration requests are suppressed, and so (complementary) is the other cell
    assert kinds == {"law-enforcement": MARKER, "immigration-enforcement": MARKER}
    assert data["tables"]["requests_by_requester_kind"]["total"] == 34
    assert _table(data, "requests_by_month") == {
        "2026-01": MARKER,  # complementary suppression of the smallest other cell
        "2026-02": 15,
        "2026-03": MARKER,
    }
    decisions = _table(data, "requests_by_decision")
    # the last decision on a request counts: 25 permit, 9 deny (both hidden, complementary)
    assert decisions == {"permit": MARKER, "deny": MARKER}
    assert data["tables"]["requests_by_decision"]["total"] == 34
    assert _table(data, "refusals_by_reason") == {"no-warrant": MARKER, "sb81-immigration": MARKER}
    assert _table(data, "elements_released") == {"name": 25, "address": 25}
    assert _table(data, "extracts_by_outcome") == {"released": 12}
    assert _table(data, "aggregates_by_template") == {"patients": MARKER}
    assert "court" not in kinds


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.integers(0, 60), max_size=8))
@settings(max_examples=200, deadline=None)
def test_no_published_cell_is_small_or_recoverable(counts: dict[str, int]) -> None:
    rows, total = suppress_table(Counter(counts))
    published = dict(rows)
    for key, value in counts.items():
        cell = published[key]
        assert cell in (value, MARKER)
        assert not (isinstance(cell, int) and 0 < cell < THRESHOLD)
    hidden = [k for k, c in published.items() if c == MARKER]
    if isinstance(total, int) and total > 0:
        assert len(hidden) != 1  # a single hidden cell next to a total could be subtracted out


@pytest.mark.slow
def test_report_files_with_charts(report_ledger: Ledger, tmp_path: Path) -> None:
    report = build_report(report_ledger, dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    paths = write_report(report, tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in paths}
    assert {"transparency.json", "transparency.html"} <= names
    assert "charts/elements_released.png" in names
    assert "charts/requests_by_requester_kind.png" not in names  # nothing unsuppressed to draw
    png = (tmp_path / "charts" / "elements_released.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    html = (tmp_path / "transparency.html").read_text()
    assert "charts/elements_released.png" in html and "&lt;11" in html
    assert json.loads((tmp_path / "transparency.json").read_text()) == report.to_json()
