"""Per-requester privacy budgets, stored in the ledger's database and spent atomically.

One row per (requester, period): the unit (epsilon or rho), the total and what has been spent,
plus a delta allowance for partition selection and zCDP conversion. The spend is one conditional
``UPDATE ... WHERE spent + cost <= total``: run inside the ledger writer's transaction with the
ledger entry, it commits with the entry or not at all, and two concurrent requests can never both
pass the check (the row is locked by the first UPDATE until its transaction ends, on SQLite and on
PostgreSQL alike). No tolerance is added: a request that would exceed the total by any amount is
refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

from healthwall.errors import InvalidInput, Refused
from healthwall.model.aggregate import BudgetMeasure, BudgetState

metadata = MetaData()

budgets = Table(
    "dp_budget",
    metadata,
    Column("requester_id", String(200), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("measure", String(8), nullable=False),
    Column("total", Float(precision=53), nullable=False),
    Column("spent", Float(precision=53), nullable=False),
    Column("delta_total", Float(precision=53), nullable=False),
    Column("delta_spent", Float(precision=53), nullable=False),
)


@dataclass(frozen=True)
class BudgetPolicy:
    """What a requester gets when they first ask in a period."""

    measure: BudgetMeasure = BudgetMeasure.EPSILON
    total: float = 2.0
    delta_total: float = 1e-5
    period: str = "month"  # "month" (YYYY-MM) or "year" (YYYY), UTC


def period_label(policy: BudgetPolicy, now: datetime | None = None) -> str:
    """The budget period that ``now`` (UTC) falls in."""
    moment = now or datetime.now(UTC)
    return f"{moment:%Y}" if policy.period == "year" else f"{moment:%Y-%m}"


def create_tables(engine: Engine, *, attempts: int = 20) -> None:
    """Create the budget table in the ledger database if it is missing (idempotent).

    On a fresh SQLite file, concurrent creators can collide ("database is locked" on the lock
    upgrade of a deferred transaction); creation is idempotent, so it is simply retried.
    """
    for attempt in range(attempts):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def ensure(engine: Engine, requester_id: str, period: str, policy: BudgetPolicy) -> None:
    """Open the requester's budget for ``period`` with the policy's totals, if not already open.

    Runs in its own short transaction, before the spending transaction, so the spend itself is a
    single conditional UPDATE. A concurrent creator losing the race is harmless.
    """
    if state(engine, requester_id, period) is not None:
        return
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(budgets).values(
                    requester_id=requester_id,
                    period=period,
                    measure=policy.measure.value,
                    total=policy.total,
                    spent=0.0,
                    delta_total=policy.delta_total,
                    delta_spent=0.0,
                )
            )
    except SAIntegrityError:
        return


def grant(
    engine: Engine,
    requester_id: str,
    period: str,
    *,
    measure: BudgetMeasure,
    total: float,
    delta_total: float,
) -> BudgetState:
    """Set a requester's totals for a period (the privacy officer's act); spent is kept."""
    if total < 0 or delta_total < 0:
        raise InvalidInput("budget totals must not be negative", field="total")
    ensure(engine, requester_id, period, BudgetPolicy(measure, total, delta_total))
    with engine.begin() as conn:
        current = _row(conn, requester_id, period)
        if current is not None and current.measure is not measure and current.spent > 0:
            raise InvalidInput(
                "cannot change the unit of a budget already spent from", field="measure"
            )
        conn.execute(
            update(budgets)
            .where(_key(requester_id, period))
            .values(measure=measure.value, total=total, delta_total=delta_total)
        )
        state = _row(conn, requester_id, period)
    assert state is not None
    return state


def spend(
    conn: Connection, requester_id: str, period: str, cost: float, delta: float
) -> BudgetState:
    """Spend (cost, delta) inside the caller's transaction, or raise :class:`Refused`.

    The caller's transaction must also append the ledger entry, so both commit or neither does.
    """
    result = conn.execute(
        update(budgets)
        .where(
            and_(
                _key(requester_id, period),
                budgets.c.spent + cost <= budgets.c.total,
                budgets.c.delta_spent + delta <= budgets.c.delta_total,
            )
        )
        .values(spent=budgets.c.spent + cost, delta_spent=budgets.c.delta_spent + delta)
    )
    state = _row(conn, requester_id, period)
    if result.rowcount != 1 or state is None:
        raise Refused(_refusal(state, cost, delta), field="budget")
    return state


def precheck(current: BudgetState, cost: float, delta: float) -> None:
    """Refuse early (before any count) when ``current`` already cannot pay; not binding."""
    if current.spent + cost > current.total or current.delta_spent + delta > current.delta_total:
        raise Refused(_refusal(current, cost, delta), field="budget")


def _refusal(state: BudgetState | None, cost: float, delta: float) -> str:
    if state is None:
        return "no privacy budget is open for this requester and period"
    if state.delta_spent + delta > state.delta_total:
        return (
            f"privacy budget exhausted: delta {delta:.3g} requested, "
            f"{max(0.0, state.delta_total - state.delta_spent):.3g} left for period {state.period}"
        )
    return (
        f"privacy budget exhausted: {state.measure.value} {cost:.6g} requested, "
        f"{state.remaining:.6g} of {state.total:.6g} left for period {state.period}"
    )


def state(engine: Engine, requester_id: str, period: str) -> BudgetState | None:
    with engine.connect() as conn:
        return _row(conn, requester_id, period)


def list_states(engine: Engine, requester_id: str | None = None) -> list[BudgetState]:
    """Every budget row (of one requester, when given), by requester then period."""
    query = select(budgets).order_by(budgets.c.requester_id, budgets.c.period)
    if requester_id is not None:
        query = query.where(budgets.c.requester_id == requester_id)
    with engine.connect() as conn:
        return [_state(row) for row in conn.execute(query).mappings()]


def _key(requester_id: str, period: str) -> ColumnElement[bool]:
    return and_(budgets.c.requester_id == requester_id, budgets.c.period == period)


def _row(conn: Connection, requester_id: str, period: str) -> BudgetState | None:
    row = conn.execute(select(budgets).where(_key(requester_id, period))).mappings().first()
    return _state(row) if row is not None else None


def _state(row: object) -> BudgetState:
    return BudgetState.model_validate(dict(row))  # type: ignore[call-overload]
