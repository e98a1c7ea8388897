"""LedgerViews (healthwall.workflows.console_views) over a real SQLite ledger: listings show no
content, proofs check against signed checkpoints, verification tracks growth and catches
tampering; charts only for tables with a published count."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from healthwall.ledger import Ledger, generate_key
from healthwall.model.entries import DecisionMade, LegalBasisRef, Recipient, Released
from healthwall.reports.transparency import Table, suppress_table
from healthwall.workflows.console_views import LedgerViews, charted_tables

KEY = b"k" * 32


def _ledger(tmp_path: Path, *, sign: bool = True) -> Ledger:
    signer = generate_key("console-test").private_text().encode() if sign else None
    return Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", pseudonym_key=KEY, signing_key=signer)


def _fill(ledger: Ledger, n: int) -> None:
    patient = ledger.patient_pseudonym("patient-42")
    entries: list[DecisionMade | Released] = []
    for i in range(n):
        if i % 2:
            entries.append(
                Released(
                    request_id=f"r{i}",
                    patient=patient,
                    recipient=Recipient(name="County Police"),
                    elements=["name"],
                    content_digest=hashlib.sha256(b"content %d" % i).hexdigest(),
                    purpose="law-enforcement",
                    legal_basis=LegalBasisRef(instrument="judicial-warrant"),
                    accountable=True,
                )
            )
        else:
            entries.append(DecisionMade(request_id=f"r{i}", decision="deny"))
    with ledger.writer() as tx:
        tx.append_many(entries)


def test_page_lists_kinds_ids_and_pseudonyms_only(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        _fill(ledger, 7)
        views = LedgerViews(ledger)
        rows = views.page(2, 3)
        assert [r.index for r in rows] == [2, 3, 4]
        assert [r.kind for r in rows] == ["decision-made", "released", "decision-made"]
        assert rows[1].patient == ledger.patient_pseudonym("patient-42") and rows[0].patient == ""
        assert rows[1].ref == "r3"
        assert all("patient-42" not in repr(r) for r in rows)
        with pytest.raises(Exception, match="start"):
            views.page(-1, 3)


def test_entry_proof_checks_against_the_signed_checkpoint(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        _fill(ledger, 9)
        view = LedgerViews(ledger).entry(5)
        assert view.proof_checked, view.proof_problem
        assert view.proof is not None and view.proof["tree_size"] == 9
        assert view.checkpoint is not None and view.checkpoint.split("\n")[1] == "9"
        assert '"seq":5' in view.entry_text


def test_entry_without_signer_or_checkpoint_has_no_proof(tmp_path: Path) -> None:
    with _ledger(tmp_path, sign=False) as ledger:
        _fill(ledger, 3)
        view = LedgerViews(ledger).entry(1)
        assert view.proof is None and not view.proof_checked
        assert "no signed checkpoint" in view.proof_problem


def test_verification_follows_growth_and_catches_tampering(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        _fill(ledger, 6)
        views = LedgerViews(ledger, verify_interval=0.0)
        rarely = LedgerViews(ledger)  # the default: at most one run every 5 minutes
        assert rarely.verification()[0] is not None
        first, running = views.verification()
        assert first is not None and first.ok and first.size == 6 and not running
        assert views.verification()[0] is first  # cached for this size
        _fill(ledger, 2)
        grown, _ = views.verification()
        assert grown is not None and grown.ok and grown.size == 8
        stale, running = rarely.verification()
        assert stale is not None and stale.size == 6 and not running  # growth not yet covered
        with ledger.engine.begin() as conn:
            for (name,) in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='trigger'")
            ).all():
                conn.execute(text(f"DROP TRIGGER {name}"))
            body = conn.execute(text("SELECT body FROM hw_ledger_entries WHERE seq = 3")).scalar()
            forged = bytes(body).replace(b"County Police", b"County Polite")
            conn.execute(
                text("UPDATE hw_ledger_entries SET body = :b WHERE seq = 3"), {"b": forged}
            )
        fresh, _ = LedgerViews(ledger).verification()
        assert fresh is not None and not fresh.ok and fresh.first_bad_index == 3
        assert not LedgerViews(ledger).entry(3).proof_checked


def test_transparency_of_an_empty_period_has_no_charts(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        _fill(ledger, 4)
        report = LedgerViews(ledger).transparency(dt.date(2001, 1, 1), dt.date(2001, 12, 31))
        assert charted_tables(report) == set()


def test_transparency_report_is_reused_until_its_ttl(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    with _ledger(tmp_path) as ledger:
        _fill(ledger, 4)
        reusing, fresh = LedgerViews(ledger), LedgerViews(ledger, report_ttl=0.0)
        first = reusing.transparency(today, today)
        assert fresh.transparency(today, today).ledger_size == first.ledger_size == 4
        _fill(ledger, 2)
        assert reusing.transparency(today, today) is first  # within the TTL: reused
        assert fresh.transparency(today, today).ledger_size == 6  # TTL 0: rebuilt on growth
        rebuilt = fresh.transparency(today, today)
        assert fresh.transparency(today, today) is rebuilt  # same size: not rebuilt


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 40), max_size=8))
def test_a_chart_only_for_tables_with_a_published_count(counts: dict[str, int]) -> None:
    from collections import Counter

    rows, total = suppress_table(Counter(counts))
    table = Table("t", "T", rows, total)
    report = type("R", (), {"tables": [table]})()
    charted = "t" in charted_tables(report)  # type: ignore[arg-type]
    published = [c for _, c in rows if isinstance(c, int) and c > 0]
    assert charted == bool(published)
    assert all(c >= 11 for c in published)  # a chart never draws a count under 11
