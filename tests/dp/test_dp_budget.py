"""Budgets hold under concurrency: threads and processes, on SQLite and on PostgreSQL.

Each worker spends a fixed cost in its own transaction with the conditional UPDATE of
``dp.budget.spend``; whatever the interleaving, exactly floor(total / cost) spends succeed and the
stored ``spent`` never exceeds the total.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from healthwall.dp import budget
from healthwall.errors import InvalidInput, Refused
from healthwall.model.aggregate import BudgetMeasure

POLICY = budget.BudgetPolicy(measure=BudgetMeasure.EPSILON, total=1.0, delta_total=1e-6)
COST = 0.125  # exactly representable: 8 spends fit in 1.0


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(eng, "connect")
        def _no_pysqlite_begin(dbapi_con: object, _record: object) -> None:
            dbapi_con.isolation_level = None  # type: ignore[attr-defined]

        @event.listens_for(eng, "begin")
        def _begin_immediate(conn: object) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # type: ignore[attr-defined]

        return eng
    return create_engine(url, pool_size=20, max_overflow=20)


def _spend_once(url: str, results: list[bool] | None = None) -> bool:
    eng = _engine(url)
    try:
        with eng.begin() as conn:
            budget.spend(conn, "ph-1", "2026-11", COST, 0.0)
        ok = True
    except Refused:
        ok = False
    finally:
        eng.dispose()
    if results is not None:
        results.append(ok)
    return ok


def _setup(url: str) -> Engine:
    eng = _engine(url)
    budget.create_tables(eng)
    budget.ensure(eng, "ph-1", "2026-11", POLICY)
    return eng


def _check(eng: Engine, successes: int) -> None:
    state = budget.state(eng, "ph-1", "2026-11")
    assert state is not None
    assert successes == 8
    assert state.spent == pytest.approx(8 * COST)
    assert state.spent <= state.total


def _threads(url: str, n: int = 24) -> int:
    results: list[bool] = []
    workers = [threading.Thread(target=_spend_once, args=(url, results)) for _ in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == n
    return sum(results)


def _processes(url: str, n: int = 16) -> int:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(8) as pool:
        return sum(pool.map(_spend_once, [url] * n))


def test_sqlite_threads_never_overspend(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    eng = _setup(url)
    _check(eng, _threads(url))


def test_sqlite_processes_never_overspend(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    eng = _setup(url)
    _check(eng, _processes(url))


@pytest.mark.postgres
def test_postgres_threads_and_processes_never_overspend(pg_url: str) -> None:
    eng = _setup(pg_url)
    first = _threads(pg_url, n=12)
    second = _processes(pg_url, n=12)
    _check(eng, first + second)
    eng.dispose()


def test_exhausted_budget_is_refused_with_reason_and_spends_nothing(tmp_path: Path) -> None:
    eng = _setup(f"sqlite:///{tmp_path / 'ledger.db'}")
    with eng.begin() as conn:
        budget.spend(conn, "ph-1", "2026-11", 0.75, 0.0)
    with pytest.raises(Refused) as err, eng.begin() as conn:
        budget.spend(conn, "ph-1", "2026-11", 0.5, 0.0)
    assert "exhausted" in err.value.message and "0.25" in err.value.message
    state = budget.state(eng, "ph-1", "2026-11")
    assert state is not None and state.spent == pytest.approx(0.75)


def test_delta_allowance_is_enforced(tmp_path: Path) -> None:
    eng = _setup(f"sqlite:///{tmp_path / 'ledger.db'}")
    with pytest.raises(Refused, match="delta"), eng.begin() as conn:
        budget.spend(conn, "ph-1", "2026-11", 0.1, 1e-5)


def test_spend_rolls_back_with_its_transaction(tmp_path: Path) -> None:
    """What the ledger writer relies on: a failure after the spend undoes the spend."""
    eng = _setup(f"sqlite:///{tmp_path / 'ledger.db'}")
    with pytest.raises(RuntimeError), eng.begin() as conn:
        budget.spend(conn, "ph-1", "2026-11", 0.5, 0.0)
        raise RuntimeError("ledger append failed")
    state = budget.state(eng, "ph-1", "2026-11")
    assert state is not None and state.spent == 0.0


def test_unknown_requester_has_no_budget(tmp_path: Path) -> None:
    eng = _setup(f"sqlite:///{tmp_path / 'ledger.db'}")
    with pytest.raises(Refused, match="no privacy budget"), eng.begin() as conn:
        budget.spend(conn, "nobody", "2026-11", 0.1, 0.0)


def test_grant_sets_totals_and_lists(tmp_path: Path) -> None:
    eng = _setup(f"sqlite:///{tmp_path / 'ledger.db'}")
    state = budget.grant(
        eng, "ph-2", "2026-11", measure=BudgetMeasure.RHO, total=0.5, delta_total=0
    )
    assert (state.measure, state.total, state.spent) == (BudgetMeasure.RHO, 0.5, 0.0)
    assert [s.requester_id for s in budget.list_states(eng)] == ["ph-1", "ph-2"]
    assert [s.requester_id for s in budget.list_states(eng, "ph-2")] == ["ph-2"]
    with pytest.raises(InvalidInput, match="negative"):
        budget.grant(eng, "ph-2", "2026-11", measure=BudgetMeasure.RHO, total=-1, delta_total=0)
