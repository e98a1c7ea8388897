"""Gateway batching (gateway-perf, issue 4): the set-based path must decide exactly like one at a
time; sweep limits hold exactly under concurrency and across gateways; sweep reasons never mask
policy reasons; the one-time pickup is single use and expires."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_fixtures import PATIENTS, build_store, ice, request
from sqlalchemy import select

from healthwall.engine.duckdb import DuckDBEngine
from healthwall.errors import NotFound
from healthwall.ledger.log import Ledger
from healthwall.model.codes import Element, Label
from healthwall.model.entries import Released
from healthwall.workflows import release
from healthwall.workflows.gateway import Gateway, GatewaySettings
from healthwall.workflows.sweep import SweepLimits, alerts_table, requests_table

KEY = b"k" * 32
#: patients columns of the fixture, in order (policy_fixtures.build_store)
_COLS = ("patient_id", "mrn", "ssn", "medicaid_id", "first_name", "last_name", "birth_date")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBEngine]:
    engine = build_store(tmp_path_factory.mktemp("gwperf") / "custodian.duckdb")
    yield engine
    engine.close()


@pytest.fixture()
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", pseudonym_key=KEY)
    yield led
    led.close()


def gateway(ledger: Ledger, store: DuckDBEngine, jurisdiction: str = "US-TX", **kw: Any) -> Gateway:
    pickup = kw.pop("pickup_seconds", 7 * 86_400.0)
    settings_ = GatewaySettings(jurisdiction, sweep=SweepLimits(**kw), pickup_seconds=pickup)
    return Gateway(ledger, store, settings_)


def _canonical(content: dict[str, Any]) -> str:
    """Content with list rows in a fixed order (rows of equal service date may come either way)."""
    norm = {
        k: sorted(json.dumps(r, sort_keys=True) for r in v) if isinstance(v, list) else v
        for k, v in content.items()
    }
    return json.dumps(norm, sort_keys=True)


_IDENTS = st.lists(
    st.tuples(
        st.sampled_from(range(len(PATIENTS))),
        st.sets(st.sampled_from(["mrn", "ssn", "medicaid_id", "name-dob"]), min_size=1),
        st.booleans(),  # perturb one identifier: matches no one
    ),
    min_size=1,
    max_size=6,
)
_ELEMENTS = st.lists(st.sampled_from(list(Element)), min_size=1, max_size=5, unique=True)
_LABELS = st.lists(st.sampled_from(list(Label)), max_size=3, unique=True)


def _identifiers(index: int, kinds: set[str], wrong: bool) -> dict[str, str]:
    row = dict(zip(_COLS, PATIENTS[index][: len(_COLS)], strict=True))
    out: dict[str, str] = {}
    for kind in sorted(kinds):
        fields = ("first_name", "last_name", "birth_date") if kind == "name-dob" else (kind,)
        out.update({f: str(row[f]) for f in fields})
    if wrong:
        first = sorted(out)[0]
        out[first] = out[first] + "x"
    return out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(asks=_IDENTS, elements=_ELEMENTS, labels=_LABELS)
def test_batch_match_and_fetch_equal_one_at_a_time(
    store: DuckDBEngine,
    asks: list[tuple[int, set[str], bool]],
    elements: list[Element],
    labels: list[Label],
) -> None:
    columns = release.store_columns(store)
    cols = release.patient_columns(elements, columns["patients"])
    wanted = [(_identifiers(*a), cols) for a in asks]
    batch = release.match_many(store, wanted)
    for (ids, _), rows in zip(wanted, batch, strict=True):
        alone = release.match_patients(store, ids, columns=cols)
        assert sorted(r["pid"] for r in rows) == sorted(r["pid"] for r in alone)
    unique = [(rows[0]["pid"], rows[0]) for rows in batch if len(rows) == 1]
    items = [
        (pid, elements, labels, {k: v for k, v in row.items() if k != "pid"}) for pid, row in unique
    ]
    for (pid, *_), content in zip(items, release.fetch_many(store, items, columns), strict=True):
        alone = release.fetch(store, pid, elements, labels, columns)
        assert _canonical(content) == _canonical(alone)


def test_policy_denial_keeps_its_reasons_over_a_sweep(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, max_requests=1)
    broker = request(
        requester={"id": "broker", "name": "Acme Data", "kind": "data-broker"},
        purpose="data-sale",
        legal_basis={"instrument": "none"},
        elements=["name", "claims"],
    )
    first, second = gw.submit(broker), gw.submit(broker)
    assert first.decision.value == second.decision.value == "deny"
    assert [r.policy for r in second.reasons] == [r.policy for r in first.reasons]
    assert "sweep-limit" not in [r.policy for r in second.reasons]
    with ledger.engine.connect() as conn:
        alerts = conn.execute(select(alerts_table.c.requester_id, alerts_table.c.rule)).all()
    assert [tuple(a) for a in alerts] == [("broker", "requests")]  # still raised


def test_sweep_denies_what_policy_sends_to_review(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, "US-CA", max_requests=1)
    body = ice("judicial-warrant", ["name"], ["name"])
    assert gw.submit(body).decision.value == "review"
    second = gw.submit(body)
    assert second.decision.value == "deny"
    assert [r.policy for r in second.reasons] == ["sweep-limit"]


def test_sweep_limits_hold_exactly_under_concurrency(tmp_path: Path, store: DuckDBEngine) -> None:
    """Two gateways (two ledgers on one database, as two processes would be) and four threads:
    exactly ``max_requests`` permits, the rest denied by the sweep limit."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    ledgers = [Ledger.open(url, pseudonym_key=KEY) for _ in range(2)]
    try:
        gws = [gateway(led, store, max_requests=25) for led in ledgers]
        results: list[str] = []
        lock = threading.Lock()

        def worker(gw: Gateway) -> None:
            for _ in range(5):
                out = gw.submit_each([request() for _ in range(4)])
                with lock:
                    results.extend(str(d.decision.decision.value) for d in out)  # type: ignore[union-attr]

        threads = [threading.Thread(target=worker, args=(gws[i % 2],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 80
        assert results.count("permit") == 25
        restarted = gateway(ledgers[0], store, max_requests=25)  # seeded from the database
        assert restarted.submit(request()).decision.value == "deny"
        with ledgers[0].engine.connect() as conn:
            assert len(conn.execute(select(requests_table.c.request_id)).all()) == 81
    finally:
        for led in ledgers:
            led.close()


def test_pickup_is_single_use_under_concurrency(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, "US-CA")
    rid = gw.submit(ice("judicial-warrant", ["name"], ["name"])).request_id
    gw.review(rid, "officer-1", True, "ok")
    outcomes: list[str] = []

    def pick() -> None:
        try:
            gw.pickup(rid, "ice-1")
            outcomes.append("content")
        except NotFound:
            outcomes.append("404")

    threads = [threading.Thread(target=pick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["404", "404", "404", "content"]
    assert sum(isinstance(e, Released) for _, e in ledger.entries()) == 1


def test_pickup_expires_and_forgets_the_patient(ledger: Ledger, store: DuckDBEngine) -> None:
    gw = gateway(ledger, store, "US-CA", pickup_seconds=0.05)
    rid = gw.submit(ice("judicial-warrant", ["name"], ["name"])).request_id
    gw.review(rid, "officer-1", True, "ok")
    time.sleep(0.1)
    with pytest.raises(NotFound):
        gw.pickup(rid, "ice-1")
    with ledger.engine.connect() as conn:
        ref = conn.execute(
            select(requests_table.c.patient_ref).where(requests_table.c.request_id == rid)
        ).scalar_one()
    assert ref is None
    assert not any(isinstance(e, Released) for _, e in ledger.entries())
