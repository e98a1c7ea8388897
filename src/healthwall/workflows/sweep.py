"""Sweep detection: many narrow requests add up to bulk.

The Home Office made thousands of single-address tracing requests a year; each looked narrow.
Per requester, over a rolling window, healthwall limits the number of requests and the number of
distinct *subjects* asked about (a keyed hash of the identifiers given, so the count does not
depend on whether a patient exists), and limits cohort sizes. Exceeding a limit denies the request
and raises an alert: a row in ``gateway_alerts`` and a log line naming the requester and the rule,
never a patient.

The gateway's own tables live here too (in the ledger's database, written in the ledger's
transaction).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine

from healthwall.ledger import store as ledger_store
from healthwall.model.codes import ScopeKind
from healthwall.model.request import Request

log = logging.getLogger("healthwall.gateway")

#: Beyond this many entries written by others since this process's last commit, the windows are
#: seeded again rather than caught up.
CATCH_UP_LIMIT = 20_000

metadata = MetaData()

requests_table = Table(
    "gateway_requests",
    metadata,
    Column("request_id", String(100), primary_key=True),
    Column("requester_id", String(200), nullable=False),
    Column("requester_kind", String(64), nullable=False),
    Column("received", Float, nullable=False),  # epoch seconds
    Column("subject", String(64), nullable=True),  # keyed hash of the identifiers given
    Column("status", String(16), nullable=False),  # permit | deny | review
    Column("decision", Text, nullable=False),  # the Decision JSON (no patient data)
    Column("recipient", Text, nullable=False),  # name/address JSON, for the accounting
    Column("request", Text, nullable=False),  # the request WITHOUT the patient identifiers
    Column("purpose", String(64), nullable=False),
    Column("instrument", String(64), nullable=False),
    Column("accountable", Boolean, nullable=False),
    # Internal patient id and match count, kept ONLY while a review is pending.
    Column("patient_ref", String(200), nullable=True),
    Column("match_count", Integer, nullable=True),
    Column("reviewed_by", String(200), nullable=True),
    Column("reviewed_at", Float, nullable=True),
    # One-time pickup of an approved review: until when, and when it was picked up.
    Column("pickup_expires", Float, nullable=True),
    Column("picked_up_at", Float, nullable=True),
    Index("ix_gateway_requests_requester", "requester_id", "received"),
    Index("ix_gateway_requests_status", "status"),
)

alerts_table = Table(
    "gateway_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("requester_id", String(200), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("request_id", String(100), nullable=False),
    Column("detail", Text, nullable=False),
)


@dataclass(frozen=True)
class SweepLimits:
    """Per-requester limits over a rolling window (defaults: one day, 500 requests, 100 subjects).

    ``max_cohort_size`` bounds the declared size of a cohort request; a cohort request that does
    not declare its size is treated as over the limit (fail closed).
    """

    window_seconds: float = 86_400.0
    max_requests: int = 500
    max_subjects: int = 100
    max_cohort_size: int = 10_000


def alert_row(request: Request, request_id: str, rule: str, now: float) -> dict[str, Any]:
    """The ``gateway_alerts`` row of an exceeded limit; logs it (requester and rule only)."""
    log.warning(
        "sweep alert: requester %s exceeded the '%s' limit (request %s)",
        request.requester.id,
        rule,
        request_id,
    )
    return {
        "at": now,
        "requester_id": request.requester.id,
        "rule": rule,
        "request_id": request_id,
        "detail": f"sweep limit '{rule}' exceeded",
    }


def ensure_schema(engine: Engine) -> None:
    """Create the gateway's tables, and add the pickup columns to a table made before them."""
    metadata.create_all(engine)
    have = {c["name"] for c in inspect(engine).get_columns(requests_table.name)}
    with engine.begin() as conn:
        for name in ("pickup_expires", "picked_up_at"):
            if name not in have:
                kind = "DOUBLE PRECISION" if engine.dialect.name == "postgresql" else "REAL"
                conn.execute(text(f"ALTER TABLE {requests_table.name} ADD COLUMN {name} {kind}"))


@dataclass
class _Window:
    """One requester's requests in the window: (time, subject) in arrival order, subject counts."""

    seen: deque[tuple[float, str | None]] = field(default_factory=deque)
    subjects: Counter[str] = field(default_factory=Counter)

    def add(self, at: float, subject: str | None) -> None:
        if self.seen and at < self.seen[-1][0]:  # another writer's, recorded a moment earlier
            pos = len(self.seen)
            while pos and self.seen[pos - 1][0] > at:
                pos -= 1
            self.seen.insert(pos, (at, subject))
        else:
            self.seen.append((at, subject))
        if subject is not None:
            self.subjects[subject] += 1

    def expire(self, since: float) -> None:
        while self.seen and self.seen[0][0] < since:
            _, subject = self.seen.popleft()
            if subject is not None:
                self.subjects[subject] -= 1
                if not self.subjects[subject]:
                    del self.subjects[subject]


class SweepState:
    """The rolling windows in memory, so a decision costs no counting query.

    Used ONLY inside the ledger's writer transaction (the single writer serializes every check
    and update). A requester's window is seeded from ``gateway_requests`` (index on requester and
    time) the first time it is needed. Whenever the ledger grew by entries this process did not
    write (another worker process, ``healthwall decide --db``, a review), the windows catch up:
    the request ids of the request-received entries appended since this process's last commit
    are read from the ledger, and their ``gateway_requests`` rows (written in the same
    transactions) are added to the windows held. So limits hold exactly across processes, at a
    cost in proportion to what the others recorded, not to the windows' size. After a gap
    larger than :data:`CATCH_UP_LIMIT` entries every window is dropped and seeded again instead.
    If a transaction fails, every window is dropped (:meth:`abort`): its additions never
    happened.
    """

    def __init__(self, limits: SweepLimits) -> None:
        self.limits = limits
        self._windows: dict[str, _Window] = {}
        self._synced: int | None = None  # ledger size after this process's last commit

    def begin(self, conn: Connection, requesters: Iterable[str], now: float) -> int:
        """Start a transaction's checks; returns the ledger size at its start."""
        size = int(
            conn.execute(
                select(func.coalesce(func.max(ledger_store.entries.c.seq) + 1, 0))
            ).scalar_one()
        )
        synced = self._synced
        if synced is None or not 0 <= size - synced <= CATCH_UP_LIMIT:
            self._windows.clear()
        elif size != synced and self._windows:
            self._catch_up(conn, synced, size)
        missing = sorted({r for r in requesters if r not in self._windows})
        if missing:
            self._seed(conn, missing, now)
        return size

    def _catch_up(self, conn: Connection, start: int, stop: int) -> None:
        """Add the requests other writers recorded in ledger entries ``start..stop-1``."""
        ids = ledger_store.request_ids(conn, start, stop)
        c = requests_table.c
        rows: list[Any] = []
        for i in range(0, len(ids), 500):  # bounded IN lists
            rows += conn.execute(
                select(c.requester_id, c.received, c.subject).where(
                    c.request_id.in_(ids[i : i + 500])
                )
            ).all()
        for requester, at, subject in sorted(rows, key=lambda r: float(r[1])):
            window = self._windows.get(requester)
            if window is not None:
                window.add(float(at), subject)

    def _seed(self, conn: Connection, requesters: list[str], now: float) -> None:
        c = requests_table.c
        rows = conn.execute(
            select(c.requester_id, c.received, c.subject)
            .where(c.requester_id.in_(requesters), c.received >= now - self.limits.window_seconds)
            .order_by(c.received)
        ).all()
        for requester in requesters:
            self._windows[requester] = _Window()
        for requester, at, subject in rows:
            self._windows[requester].add(float(at), subject)

    def check(self, request: Request, subject: str | None, now: float) -> str | None:
        """The limit this request exceeds (counting it and the earlier ones), then counts it."""
        rule = self._rule(request, subject, now)
        self._windows[request.requester.id].add(now, subject)
        return rule

    def _rule(self, request: Request, subject: str | None, now: float) -> str | None:
        limits = self.limits
        if request.scope.kind is ScopeKind.COHORT:
            size = request.scope.cohort.size if request.scope.cohort else None
            if size is None or size > limits.max_cohort_size:
                return "cohort-size"
        window = self._windows[request.requester.id]
        window.expire(now - limits.window_seconds)
        if len(window.seen) + 1 > limits.max_requests:
            return "requests"
        if (
            subject is not None
            and subject not in window.subjects
            and len(window.subjects) + 1 > limits.max_subjects
        ):
            return "subjects"
        return None

    def commit(self, size: int) -> None:
        """The transaction committed and left the ledger at ``size``."""
        self._synced = size

    def abort(self) -> None:
        """The transaction failed: forget everything (the next one seeds again)."""
        self._windows.clear()
        self._synced = None
