"""A patient's entries come back exactly, across segments of the segmented patient index."""

from __future__ import annotations

from ledger_helpers import decision, release
from sqlalchemy import text

from healthwall.ledger import Ledger
from healthwall.ledger.store import PATIENT_QUERY, PATIENT_SEGMENT
from healthwall.model.entries import LedgerEntry

#: Three segments and a partial fourth.
N = 3 * PATIENT_SEGMENT + 17


def _fill(ledger: Ledger) -> list[tuple[int, LedgerEntry]]:
    pseudonyms = [ledger.patient_pseudonym(f"patient-{k}") for k in range(5)]
    entries: list[LedgerEntry] = []
    for i in range(N):
        # patient 0 at both ends of every segment; the others interleaved; some without patient
        p = pseudonyms[0] if i % PATIENT_SEGMENT in (0, PATIENT_SEGMENT - 1) else pseudonyms[i % 5]
        entries.append(decision(i) if i % 7 == 0 else release(p, i))
    with ledger.writer() as tx:
        tx.append_many(entries)
    return list(enumerate(entries))


def test_patient_entries_across_segments(ledger: Ledger) -> None:
    stored = _fill(ledger)
    for k in range(5):
        p = ledger.patient_pseudonym(f"patient-{k}")
        want = [i for i, e in stored if getattr(e, "patient", None) == p]
        got = [i for i, _ in ledger.find(patient=p)]
        assert got == want
        assert {i // PATIENT_SEGMENT for i in want} == {
            0,
            1,
            2,
            3,
        }  # every segment, the partial too
    assert ledger.find(patient=ledger.patient_pseudonym("nobody")) == []


def test_patient_filters_combine(ledger: Ledger) -> None:
    stored = _fill(ledger)
    p = ledger.patient_pseudonym("patient-2")
    rows = ledger.find_with_hashes(kinds=["released"], patient=p)
    assert [i for i, _, _ in rows] == [
        i for i, e in stored if e.kind == "released" and getattr(e, "patient", None) == p
    ]
    assert all(len(h) == 64 for _, h, _ in rows)
    assert ledger.find(kinds=["decision-made"], patient=p) == []
    at = ledger.entry(rows[5][0]).at
    later = ledger.find(patient=p, since=at)
    assert later and all(e.at >= at for _, e in later)
    assert ledger.find(patient=p, until=at) == [
        (i, e) for i, e in ledger.find(patient=p) if e.at < at
    ]


def test_empty_ledger_has_no_patient_entries(ledger: Ledger) -> None:
    assert ledger.find(patient=ledger.patient_pseudonym("patient-0")) == []


def test_sqlite_probes_the_index_per_segment(sqlite_ledger: Ledger) -> None:
    """The query's expression must match the index's, or every accounting is a full scan."""
    with sqlite_ledger.engine.connect() as conn:
        plan = conn.execute(
            text("EXPLAIN QUERY PLAN " + PATIENT_QUERY), {"last_segment": 3, "patient": "ab"}
        ).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX hw_ledger_entries_patient_seg" in details
