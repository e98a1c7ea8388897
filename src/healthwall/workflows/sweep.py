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
from dataclasses import dataclass

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
    case,
    func,
    literal,
    select,
)

from healthwall.model.codes import ScopeKind
from healthwall.model.request import Request

log = logging.getLogger("healthwall.gateway")

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


def violated_limit(
    conn: Connection,
    request: Request,
    subject: str | None,
    now: float,
    limits: SweepLimits,
) -> str | None:
    """The limit this request would exceed (``requests``, ``subjects``, ``cohort-size``) or None.

    Counts include this request. Run inside the writer transaction so counts are serialized.
    """
    if request.scope.kind is ScopeKind.COHORT:
        size = request.scope.cohort.size if request.scope.cohort else None
        if size is None or size > limits.max_cohort_size:
            return "cohort-size"
    since = now - limits.window_seconds
    mine = (requests_table.c.requester_id == request.requester.id) & (
        requests_table.c.received >= since
    )
    same = case((requests_table.c.subject == subject, 1), else_=0) if subject else literal(0)
    count, seen, subjects = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(same), 0),
            func.count(requests_table.c.subject.distinct()),
        ).where(mine)
    ).one()
    if count + 1 > limits.max_requests:
        return "requests"
    if subject is not None and not seen and subjects + 1 > limits.max_subjects:
        return "subjects"
    return None


def raise_alert(conn: Connection, request: Request, request_id: str, rule: str, now: float) -> None:
    """Record an alert row and log it (requester and rule only, never patient data)."""
    conn.execute(
        alerts_table.insert().values(
            at=now,
            requester_id=request.requester.id,
            rule=rule,
            request_id=request_id,
            detail=f"sweep limit '{rule}' exceeded",
        )
    )
    log.warning(
        "sweep alert: requester %s exceeded the '%s' limit (request %s)",
        request.requester.id,
        rule,
        request_id,
    )
