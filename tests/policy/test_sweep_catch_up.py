"""Sweep windows catch up on what other writers recorded, instead of being seeded again.

Two gateways on one database stand for two worker processes. Each keeps its windows in memory;
when the other has recorded requests since its last commit, it adds exactly those (read through
the ledger's request-received entries) and the limits still hold exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import build_store, request

from healthwall.engine.duckdb import DuckDBEngine
from healthwall.ledger.log import Ledger
from healthwall.workflows import sweep
from healthwall.workflows.gateway import Gateway, GatewaySettings
from healthwall.workflows.sweep import SweepLimits

KEY = b"k" * 32


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBEngine]:
    engine = build_store(tmp_path_factory.mktemp("catchup") / "custodian.duckdb")
    yield engine
    engine.close()


@pytest.fixture()
def pair(tmp_path: Path, store: DuckDBEngine) -> Iterator[tuple[Gateway, Gateway]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    ledgers = [Ledger.open(url, pseudonym_key=KEY) for _ in range(2)]
    limits = SweepLimits(max_requests=6, max_subjects=3)
    gws = [Gateway(led, store, GatewaySettings("US-TX", sweep=limits)) for led in ledgers]
    yield gws[0], gws[1]
    for led in ledgers:
        led.close()


def _ask(gw: Gateway, mrn: str = "M1", requester: str = "pd-1") -> str:
    req = request(
        requester={"id": requester, "name": "City Police", "kind": "law-enforcement"},
        scope={"kind": "single-patient", "patient": {"mrn": mrn}},
    )
    return str(gw.submit(req).decision.value)


def _window(gw: Gateway, requester: str = "pd-1") -> Any:
    return gw._sweep._windows[requester]


def test_request_limit_counts_the_other_writers_requests(pair: tuple[Gateway, Gateway]) -> None:
    a, b = pair
    assert [_ask(a), _ask(a)] == ["permit", "permit"]
    held = _window(a)
    assert len(held.seen) == 2
    for _ in range(3):
        _ask(b)
    assert _ask(a) == "permit"  # the sixth request overall: within the limit, with b's three
    assert _window(a) is held and len(held.seen) == 6  # caught up, not seeded again
    assert _ask(a) == "deny" and _ask(b) == "deny"


def test_subject_limit_counts_the_other_writers_subjects(pair: tuple[Gateway, Gateway]) -> None:
    a, b = pair
    _ask(a, "M1")
    _ask(a, "M2")
    _ask(b, "M3")
    assert _ask(a, "M4") == "deny"  # a fourth subject, one of them asked through b
    assert len(_window(a).subjects) == 4  # a denied request still counts, as with the SQL count


def test_other_requesters_are_left_to_their_own_seed(pair: tuple[Gateway, Gateway]) -> None:
    a, b = pair
    _ask(a)
    _ask(b, requester="pd-2")
    _ask(a)
    assert "pd-2" not in a._sweep._windows  # not held: seeded when first needed
    for _ in range(5):
        _ask(b, requester="pd-2")
    assert _ask(a, requester="pd-2") == "deny"  # seeded from the database: six already


def test_a_long_gap_seeds_again(
    pair: tuple[Gateway, Gateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    monkeypatch.setattr(sweep, "CATCH_UP_LIMIT", 2)
    _ask(a)
    held = _window(a)
    for _ in range(4):
        _ask(b)  # 8+ ledger entries: beyond the limit
    assert _ask(a) == "permit"
    assert _window(a) is not held and len(_window(a).seen) == 6
    assert _ask(a) == "deny"


def test_window_keeps_time_order_when_rows_arrive_late() -> None:
    window = sweep._Window()
    for at, subject in ((1.0, "s1"), (3.0, "s2"), (2.0, "s3"), (0.5, None), (3.0, "s1")):
        window.add(at, subject)
    assert [t for t, _ in window.seen] == [0.5, 1.0, 2.0, 3.0, 3.0]
    window.expire(2.0)
    assert [t for t, _ in window.seen] == [2.0, 3.0, 3.0]
    assert dict(window.subjects) == {"s3": 1, "s2": 1, "s1": 1}
