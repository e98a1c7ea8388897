"""The gateway over a real DuckDB custodian store and a real SQLite (and PostgreSQL) ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import build_store, ice, request
from sqlalchemy import func, select, text

from healthwall.engine.duckdb import DuckDBEngine
from healthwall.errors import InvalidInput, NotFound
from healthwall.ledger.log import Ledger
from healthwall.model.entries import DecisionMade, Released, RequestReceived
from healthwall.workflows.gateway import Gateway, GatewaySettings
from healthwall.workflows.release import content_digest
from healthwall.workflows.sweep import SweepLimits, alerts_table, requests_table

KEY = b"k" * 32


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[DuckDBEngine]:
    engine = build_store(tmp_path / "custodian.duckdb")
    yield engine
    engine.close()


@pytest.fixture()
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", pseudonym_key=KEY)
    yield led
    led.close()


def gateway(
    ledger: Ledger, store: DuckDBEngine, jurisdiction: str = "US-TX", **limits: Any
) -> Gateway:
    return Gateway(ledger, store, GatewaySettings(jurisdiction, sweep=SweepLimits(**limits)))


def _rows(ledger: Ledger, table: Any) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_exact_match_releases_only_released_elements(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store)
    out = gw.submit_release(request(elements=["name", "address", "dna"]))
    assert out.decision.decision.value == "permit"
    assert out.content is not None
    assert set(out.content) == {"name", "address"}
    assert out.content["name"] == {"first_name": "Ana", "last_name": "Lopez"}
    entries = [e for _, e in ledger.entries()]
    kinds = [type(e) for e in entries]
    assert kinds == [RequestReceived, DecisionMade, Released]
    released = entries[2]
    assert isinstance(released, Released)
    assert released.content_digest == content_digest(out.content)
    assert released.patient == ledger.patient_pseudonym("p1")
    assert released.recipient.name == "City Police"
    assert released.accountable is True
    assert out.decision.ledger is not None and out.decision.ledger.index == 1
    body = b"".join(ledger.entry_bytes(i) for i in range(ledger.size()))
    for phi in (b"Lopez", b"Main St", b"111-11-1111", b"M1"):
        assert phi not in body
    assert ledger.verify().ok


def test_labelled_claims_are_filtered_from_the_release(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store)
    req = request(
        legal_basis={"instrument": "judicial-subpoena"}, elements=["diagnoses", "injury-type"]
    )
    out = gw.submit_release(req)
    assert out.decision.decision.value == "permit"
    assert "SUD" in out.decision.withheld_labels
    assert out.content is not None
    codes = {row["dx1"] for row in out.content["diagnoses"]}
    assert codes == {"J20.9", "S52.501A"}  # the SUD and the HIV/MH claims are withheld
    assert [row["dx1"] for row in out.content["injury-type"]] == ["S52.501A"]


def _answer(gw: Gateway, patient: dict[str, str]) -> dict[str, Any]:
    body = gw.submit(request(scope={"kind": "single-patient", "patient": patient})).to_json()
    body.pop("request_id")
    body.pop("ledger")
    return body


def test_no_match_and_several_matches_look_the_same(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store)
    nobody = _answer(gw, {"mrn": "NOPE"})
    several = _answer(gw, {"first_name": "Li", "last_name": "Wang", "birth_date": "1990-01-01"})
    partial = _answer(gw, {"mrn": "M1", "last_name": "Lopes"})  # one identifier differs
    assert nobody == several == partial
    assert nobody["decision"] == "deny"
    assert [r["policy"] for r in nobody["reasons"]] == ["no-release"]
    found = _answer(gw, {"mrn": "M2", "ssn": "222-22-2222"})
    assert found["decision"] == "permit"
    assert _rows(ledger, requests_table) == 4
    kinds = [type(e).__name__ for _, e in ledger.entries()]
    assert kinds.count("Released") == 1


def test_sweep_request_limit_denies_and_alerts(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, max_requests=3)
    answers = [gw.submit(request()).decision.value for _ in range(4)]
    assert answers == ["permit", "permit", "permit", "deny"]
    last = gw.submit(request())
    assert [r.policy for r in last.reasons] == ["sweep-limit"]
    with ledger.engine.connect() as conn:
        rules = conn.execute(select(alerts_table.c.rule, alerts_table.c.detail)).all()
    assert [r.rule for r in rules] == ["requests", "requests"]
    assert all("M1" not in r.detail for r in rules)
    other = gw.submit(
        request(requester={"id": "pd-2", "name": "Other PD", "kind": "law-enforcement"})
    )
    assert other.decision.value == "permit"  # limits are per requester


def test_sweep_subject_limit_counts_identifiers_not_patients(
    ledger: Ledger, store: DuckDBEngine
) -> None:
    gw = gateway(ledger, store, max_subjects=2)
    ask = lambda mrn: gw.submit(  # noqa: E731
        request(scope={"kind": "single-patient", "patient": {"mrn": mrn}})
    )
    assert ask("M1").decision.value == "permit"
    assert ask("NOBODY").decision.value == "deny"  # no match, but a second subject
    assert ask("M1").decision.value == "permit"  # a subject already seen
    third = ask("M2")
    assert [r.policy for r in third.reasons] == ["sweep-limit"]


def test_cohort_size_limit(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, max_cohort_size=100)
    lds = request(
        requester={"id": "uni", "name": "University", "kind": "researcher"},
        purpose="HRESCH",
        legal_basis={"instrument": "data-use-agreement"},
        elements=["diagnoses"],
    )
    small = gw.submit(lds | {"scope": {"kind": "cohort", "cohort": {"size": 50}}})
    assert small.decision.value == "permit"
    big = gw.submit(lds | {"scope": {"kind": "cohort", "cohort": {"size": 5000}}})
    undeclared = gw.submit(lds | {"scope": {"kind": "cohort", "cohort": {}}})
    assert (
        [r.policy for r in big.reasons] == [r.policy for r in undeclared.reasons] == ["sweep-limit"]
    )


def test_a_failed_ledger_append_rolls_back_everything(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store)
    gw.submit(request())
    before = (ledger.size(), _rows(ledger, requests_table))
    with ledger.engine.begin() as conn:  # a real database failure on the third append
        conn.execute(
            text(
                "CREATE TRIGGER boom BEFORE INSERT ON hw_ledger_entries WHEN NEW.kind = 'released'"
                " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    with pytest.raises(Exception, match="disk full"):
        gw.submit(request())
    assert (ledger.size(), _rows(ledger, requests_table)) == before
    with ledger.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER boom"))
    assert gw.submit(request()).decision.value == "permit"
    assert ledger.verify().ok


def test_review_then_approval_releases(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, jurisdiction="US-CA")
    first = gw.submit_release(ice("judicial-warrant", ["name", "phone"], ["name", "phone"]))
    assert first.decision.decision.value == "review"
    assert first.content is None
    rid = first.decision.request_id
    assert [d.request_id for d in gw.pending_reviews()] == [rid]
    recorded = gw.request(rid)
    assert recorded is not None and recorded.scope.patient is None
    with pytest.raises(NotFound):
        gw.get(rid, "pd-1")  # another requester sees nothing
    assert gw.get(rid, "ice-1").decision.value == "review"
    approved = gw.review_release(rid, "officer-7", True, "judge's signature verified")
    assert approved.decision.decision.value == "permit"
    assert approved.content is None  # delivered only by the one-time pickup
    assert gw.pending_reviews() == []
    made = [e for _, e in ledger.entries() if isinstance(e, DecisionMade)]
    assert [m.decided_by for m in made] == ["policy", "officer-7"]
    with pytest.raises(NotFound):
        gw.pickup(rid, "pd-1")  # not the owner
    picked = gw.pickup(rid, "ice-1")
    assert picked.content is not None and set(picked.content) == {"name", "phone"}
    assert sum(isinstance(e, Released) for _, e in ledger.entries()) == 1
    with pytest.raises(NotFound):
        gw.pickup(rid, "ice-1")  # single use
    with pytest.raises(InvalidInput):
        gw.review(rid, "officer-7", True)


def test_review_rejected_or_unmatched_releases_nothing(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, jurisdiction="US-CA")
    rid = gw.submit(ice("court-order", ["name"], ["name"])).request_id
    rejected = gw.review_release(rid, "officer-7", False, "not a judge's order")
    assert rejected.decision.decision.value == "deny" and rejected.content is None
    nobody = ice("court-order", ["name"], ["name"]) | {
        "scope": {"kind": "single-patient", "patient": {"mrn": "NOPE"}}
    }
    pending = gw.submit(nobody)
    assert pending.decision.value == "review"  # the same answer whether or not the patient exists
    unmatched = gw.review_release(pending.request_id, "officer-7", True)
    assert unmatched.decision.decision.value == "deny"
    assert [r.policy for r in unmatched.decision.reasons] == ["no-release"]


def test_duplicate_request_id_is_refused(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store)
    gw.submit(request(request_id="r-1"))
    with pytest.raises(InvalidInput):
        gw.submit(request(request_id="r-1"))


@pytest.mark.postgres
def test_gateway_on_postgresql(pg_url: str, store: DuckDBEngine) -> None:
    led = Ledger.open(pg_url, pseudonym_key=KEY)
    try:
        gw = gateway(led, store)
        out = gw.submit_release(request())
        assert out.decision.decision.value == "permit"
        assert led.size() == 3
        assert gw.get(out.decision.request_id, "pd-1") == out.decision
        assert led.verify().ok
    finally:
        led.close()


def test_submit_many_is_one_transaction(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, max_requests=3)
    out = gw.submit_many([request() for _ in range(4)])
    assert [d.decision.decision.value for d in out] == ["permit", "permit", "permit", "deny"]
    assert ledger.size() == 3 * 3 + 2  # the sweep-denied one has no Released entry
    before = (ledger.size(), _rows(ledger, requests_table))
    with pytest.raises(InvalidInput):
        gw.submit_many([request(request_id="x"), request(request_id="x")])
    assert (ledger.size(), _rows(ledger, requests_table)) == before
