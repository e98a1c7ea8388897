"""The disclosure gateway: validate, decide, detect sweeps, release, record.

``Gateway(ledger, store, settings)``, in two public steps so a service can batch them:

- ``prepare_many(requests)``: everything that needs no transaction, set-based over the batch --
  validate, decide by policy (cached verdicts), match EXACTLY in the custodian store (one join per
  identifier shape, one DuckDB cursor per thread), fetch the released elements, hash the subject.
- ``record_many(prepared)``: ONE transaction of the ledger's writer (one durable commit): request
  id check, sweep limits (rolling windows in memory, serialized by the writer), every ledger entry
  (RequestReceived, DecisionMade, Released with the content digest) in one append and every
  gateway row in one insert. It returns only after the commit, so every answer is durable.

``submit`` / ``submit_release`` / ``submit_many`` (all or none) / ``submit_each`` (errors in
place) combine the two. A request that matches no one or several patients releases nothing, with
the shape of any denial and one generic reason, so it does not reveal whether the patient exists.
A request for review is answered "review" whatever the match. Review, the one-time pickup of an
approved release, and reading are in :mod:`healthwall.workflows.gateway_review`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from healthwall.engine import open_store
from healthwall.engine.duckdb import DuckDBEngine
from healthwall.errors import HealthwallError, InvalidInput
from healthwall.ledger.log import Ledger, Writer
from healthwall.ledger.store import raw_cursor
from healthwall.model.codes import Outcome, ScopeKind
from healthwall.model.decision import Decision, LedgerRef
from healthwall.model.entries import LedgerEntry, Recipient
from healthwall.model.request import Request, parse_request
from healthwall.policy import decide
from healthwall.policy.facts import facts_of
from healthwall.policy.obligations import accountable
from healthwall.workflows import release
from healthwall.workflows.gateway_review import (
    Disclosure,
    ReviewMixin,
    no_release,
    sweep_applied,
)
from healthwall.workflows.recording import Recorder, request_digest, without_identifiers
from healthwall.workflows.sweep import (
    SweepLimits,
    SweepState,
    alert_row,
    alerts_table,
    ensure_schema,
    requests_table,
)

_PLACEHOLDER = InvalidInput("not recorded")  # replaced by each request's answer


@dataclass(frozen=True)
class GatewaySettings:
    """Which packs decide (by jurisdiction, or explicit), the sweep limits, and how long an
    approved review's release waits for its one-time pickup (default 7 days)."""

    jurisdiction: str | None = None
    packs: tuple[str, ...] | None = None
    sweep: SweepLimits = field(default_factory=SweepLimits)
    pickup_seconds: float = 7 * 86_400.0


@dataclass(frozen=True)
class _Match:
    """The store's answer: the one patient, and how many matched (None: no lookup was made)."""

    patient_id: str | None
    count: int | None
    row: dict[str, Any] | None = None  # the patient columns of the released elements


@dataclass(frozen=True)
class Prepared:
    """A request after everything that needs no transaction: validated, decided by policy,
    matched and fetched in the store, its subject hashed. :meth:`Gateway.record_many` records it.
    """

    request: Request
    request_id: str
    decision: Decision
    match: _Match
    content: dict[str, Any] | None
    subject: str | None
    #: Worked out here so the writer's transaction does not: the request digest, the stored
    #: request (JSON, without identifiers) and whether a release is accountable (164.528).
    digest: str
    stored: str
    accountable: bool
    content_digest: str | None  # SHA-256 of ``content`` (for the Released entry)


class Gateway(ReviewMixin):
    """Decide-and-release over one ledger and (optionally) one custodian store.

    Thread-safe: preparing runs on any thread (one DuckDB cursor per thread); recording runs in
    the ledger's single writer.
    """

    def __init__(
        self,
        ledger: Ledger,
        store: release.Store | str | Path | None,
        settings: GatewaySettings | None = None,
    ) -> None:
        self.ledger = ledger
        self._owns_store = isinstance(store, str | Path)
        self.store = open_store(store, read_only=True) if isinstance(store, str | Path) else store
        self.settings = settings or GatewaySettings()
        self._store_lock = threading.Lock()
        self._local = threading.local()
        self._columns: dict[str, frozenset[str]] | None = None
        self._record = Recorder(ledger)
        self._sweep = SweepState(self.settings.sweep)
        self._pickup_seconds = self.settings.pickup_seconds
        ensure_schema(ledger.engine)

    def close(self) -> None:
        """Close the custodian store if the gateway opened it (the ledger is the caller's)."""
        if self._owns_store and self.store is not None:
            self.store.close()
            self.store = None

    # -- submit ---------------------------------------------------------------------------------

    def submit(self, request: Request | dict[str, Any]) -> Decision:
        """Decide (and release, and record) a request; the requester's answer."""
        return self.submit_release(request).decision

    def submit_release(self, request: Request | dict[str, Any]) -> Disclosure:
        """As :meth:`submit`, with the released content when something was released."""
        return self.submit_many([request])[0]

    def submit_many(self, requests: Sequence[Request | dict[str, Any]]) -> list[Disclosure]:
        """Several requests recorded in ONE ledger transaction (group commit); all or none.

        Each is decided, matched and limited exactly as alone (sweep counts see the earlier ones
        of the batch); if any fails (e.g. a duplicate request_id), none is recorded.
        """
        results = self.submit_each(requests, all_or_none=True)
        return [r for r in results if isinstance(r, Disclosure)]

    def submit_each(
        self, requests: Sequence[Request | dict[str, Any]], *, all_or_none: bool = False
    ) -> list[Disclosure | HealthwallError]:
        """Several requests in one transaction; a request that fails gets its error in place
        and the others are still recorded (unless ``all_or_none``: then the error is raised)."""
        prepared = self.prepare_many(requests)
        if all_or_none:
            for p in prepared:
                if isinstance(p, HealthwallError):
                    raise p
        return self.record_many(prepared, all_or_none=all_or_none)

    def prepare_many(
        self, requests: Sequence[Request | dict[str, Any]]
    ) -> list[Prepared | HealthwallError]:
        """Everything outside the transaction, set-based over the batch: validate and decide each
        (cached Cedar verdicts), then ONE store join per identifier shape for the exact matches and
        ONE claims query per released clinical element for the content."""
        decided: list[tuple[Request, str, Decision] | HealthwallError] = []
        for raw in requests:
            try:
                decided.append(self._decide(raw))
            except HealthwallError as exc:
                decided.append(exc)
        ok = [(i, d) for i, d in enumerate(decided) if not isinstance(d, HealthwallError)]
        matches = self._match_many([(req, decision) for _, (req, _, decision) in ok])
        finals: list[Decision] = []
        for (_, (req, _, decision)), match in zip(ok, matches, strict=True):
            if (
                decision.decision is Outcome.PERMIT
                and self._needs_patient(req)
                and match.count != 1
            ):
                decision = no_release(decision)
            finals.append(decision)
        contents = self._fetch_many(finals, matches)
        out: list[Prepared | HealthwallError] = []
        n = 0
        for d in decided:
            if isinstance(d, HealthwallError):
                out.append(d)
                continue
            req, request_id, _ = d
            dumped, content = req.model_dump(mode="json"), contents[n]
            out.append(
                Prepared(
                    req,
                    request_id,
                    finals[n],
                    matches[n],
                    content,
                    self._subject(req),
                    request_digest(req, dumped),
                    _stored_request(req, request_id, dumped),
                    accountable(facts_of(req)),
                    None if content is None else release.content_digest(content),
                )
            )
            n += 1
        return out

    def _decide(self, raw: Request | dict[str, Any]) -> tuple[Request, str, Decision]:
        req = raw if isinstance(raw, Request) else parse_request(raw)
        request_id = req.request_id or uuid.uuid4().hex
        decision = decide(
            req,
            jurisdiction=self.settings.jurisdiction,
            packs=self.settings.packs,
            request_id=request_id,
        )
        return req, request_id, decision

    def _match_many(self, items: Sequence[tuple[Request, Decision]]) -> list[_Match]:
        """Exact matches of the batch (none for a denial; released columns only for a permit)."""
        out = [_Match(None, None) for _ in items]
        wanted: list[tuple[int, dict[str, str], list[str]]] = []
        for i, (req, decision) in enumerate(items):
            if decision.decision is Outcome.DENY or not self._needs_patient(req):
                continue
            if req.scope.patient is None:
                continue
            releasing = decision.released if decision.decision is Outcome.PERMIT else ()
            cols = release.patient_columns(releasing, self._store_columns()["patients"])
            wanted.append((i, req.scope.patient.given(), cols))
        if not wanted:
            return out
        rows = release.match_many(self._cursor(), [(ids, cols) for _, ids, cols in wanted])
        for (i, _, _), found in zip(wanted, rows, strict=True):
            if len(found) != 1:
                out[i] = _Match(None, len(found))
            else:
                row = dict(found[0])
                out[i] = _Match(str(row.pop("pid")), 1, row)
        return out

    def _fetch_many(
        self, decisions: Sequence[Decision], matches: Sequence[_Match]
    ) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = [None] * len(decisions)
        wanted = [
            i
            for i, (d, m) in enumerate(zip(decisions, matches, strict=True))
            if d.decision is Outcome.PERMIT and m.patient_id and self.store is not None
        ]
        if not wanted:
            return out
        items = [
            (
                str(matches[i].patient_id),
                decisions[i].released,
                decisions[i].withheld_labels,
                matches[i].row or {},
            )
            for i in wanted
        ]
        contents = release.fetch_many(self._cursor(), items, self._store_columns())
        for i, content in zip(wanted, contents, strict=True):
            out[i] = content
        return out

    def record_many(
        self, prepared: Sequence[Prepared | HealthwallError], *, all_or_none: bool = False
    ) -> list[Disclosure | HealthwallError]:
        """Record prepared requests in ONE writer transaction (one durable commit): the request
        id check, the sweep limits (in memory, serialized by the writer), every ledger entry in
        one append, every gateway row and alert in one insert each. Returns when committed."""
        out: list[Disclosure | HealthwallError] = [
            p if isinstance(p, HealthwallError) else _PLACEHOLDER for p in prepared
        ]
        todo = [(i, p) for i, p in enumerate(prepared) if isinstance(p, Prepared)]
        if not todo:
            return out
        try:
            with self.ledger.writer() as tx:
                size = self._record_in(tx, todo, out, all_or_none)
        except BaseException:
            self._sweep.abort()
            raise
        self._sweep.commit(size)
        return out

    def _record_in(
        self,
        tx: Writer,
        todo: list[tuple[int, Prepared]],
        out: list[Disclosure | HealthwallError],
        all_or_none: bool,
    ) -> int:
        """Inside the transaction; fills ``out`` and returns the ledger size it leaves."""
        todo = self._unique_ids(tx.conn, todo, out, all_or_none)
        now = time.time()
        start = self._sweep.begin(tx.conn, [p.request.requester.id for _, p in todo], now)
        if not todo:
            return start
        entries: list[LedgerEntry] = []
        staged: list[tuple[int, Prepared, Decision, dict[str, Any] | None, int]] = []
        alerts: list[dict[str, Any]] = []
        for i, p in todo:
            decision, content = p.decision, p.content
            rule = self._sweep.check(p.request, p.subject, now)
            if rule is not None:
                alerts.append(alert_row(p.request, p.request_id, rule, now))
                decision, content = sweep_applied(decision), None
            entries.append(
                self._record.received_entry(p.request, p.request_id, p.match.patient_id, p.digest)
            )
            entries.append(self._record.decided_entry(decision, "policy", ""))
            staged.append((i, p, decision, content, len(entries) - 1))
            if content is not None and p.match.patient_id is not None:
                entries.append(self._released_entry(p, decision, content))
        receipts = tx.append_many(entries)
        rows = []
        for i, p, decision, content, at in staged:
            ref = LedgerRef(index=receipts[at].index, leaf_hash=receipts[at].leaf_hash)
            decision = decision.model_copy(update={"ledger": ref})
            serialized = _DECISION_JSON(decision)
            rows.append(self._row_values(p, decision, now, serialized.decode()))
            out[i] = Disclosure(decision, content, serialized)
        _insert_requests(tx.conn, rows)
        if alerts:
            tx.conn.execute(alerts_table.insert(), alerts)
        return start + len(entries)

    @staticmethod
    def _unique_ids(
        conn: Any,
        todo: list[tuple[int, Prepared]],
        out: list[Disclosure | HealthwallError],
        all_or_none: bool,
    ) -> list[tuple[int, Prepared]]:
        """Drop (with an error in place) requests whose id is taken or repeated in the batch."""
        taken = _taken_ids(conn, [p.request_id for _, p in todo])
        kept: list[tuple[int, Prepared]] = []
        for i, p in todo:
            if p.request_id in taken:
                error = InvalidInput("request_id is already in use", field="request_id")
                if all_or_none:
                    raise error
                out[i] = error
                continue
            taken.add(p.request_id)
            kept.append((i, p))
        return kept

    def _released_entry(self, p: Prepared, decision: Decision, content: dict[str, Any]) -> Any:
        req = p.request
        recipient = Recipient(name=req.requester.name, address=req.requester.address)
        basis = (req.purpose.value, req.legal_basis.instrument.value, p.accountable)
        assert p.match.patient_id is not None
        return self._record.released_entry(
            p.request_id, p.match.patient_id, recipient, basis, decision, content, p.content_digest
        )

    @staticmethod
    def _row_values(
        p: Prepared, decision: Decision, now: float, serialized: str
    ) -> tuple[Any, ...]:
        """The gateway_requests row (in :data:`_REQUEST_COLUMNS` order): no identifiers; the
        patient id only while review pends."""
        req, pending = p.request, decision.decision is Outcome.REVIEW
        return (
            p.request_id,
            req.requester.id,
            req.requester.kind.value,
            now,
            p.subject,
            decision.decision.value,
            serialized,  # decision.model_dump_json()
            orjson.dumps(_recipient(req)).decode(),
            p.stored,
            req.purpose.value,
            req.legal_basis.instrument.value,
            p.accountable,
            p.match.patient_id if pending else None,
            p.match.count if pending else None,
        )

    def _needs_patient(self, req: Request) -> bool:
        return req.scope.kind is ScopeKind.SINGLE_PATIENT and self.store is not None

    def _cursor(self) -> release.Store:
        """This thread's DuckDB cursor on the store (cursors of one connection run in
        parallel); a store that is not DuckDB is used as is (single-threaded callers)."""
        assert self.store is not None
        if not isinstance(self.store, DuckDBEngine):
            return self.store
        cursor: DuckDBEngine | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = DuckDBEngine(self.store.con.cursor(), self.store.path)
            self._local.cursor = cursor
        return cursor

    def _store_columns(self) -> dict[str, frozenset[str]]:
        assert self.store is not None
        if self._columns is None:
            with self._store_lock:
                self._columns = release.store_columns(self._cursor())
        return self._columns

    def _fetch(self, patient_id: str, decision: Decision) -> dict[str, Any]:
        """The content of one release (approved review at pickup), read from the store now."""
        return release.fetch(
            self._cursor(),
            patient_id,
            decision.released,
            decision.withheld_labels,
            self._store_columns(),
        )

    def _subject(self, req: Request) -> str | None:
        """Keyed hash of the identifiers given: counts distinct subjects without knowing them."""
        if req.scope.patient is None:
            return None
        given = json.dumps(req.scope.patient.given(), sort_keys=True)
        return self.ledger.patient_pseudonym("subject:" + given)[:64]

    def _has_store(self) -> bool:
        return self.store is not None


def _recipient(req: Request) -> dict[str, str | None]:
    return {"name": req.requester.name, "address": req.requester.address}


def _stored_request(req: Request, request_id: str, dumped: dict[str, Any]) -> str:
    """The ``gateway_requests.request`` text: the request WITHOUT the patient's identifiers."""
    return orjson.dumps(without_identifiers(req, request_id, dumped)).decode()


#: The gateway_requests columns a new request sets (review and pickup columns start NULL).
_REQUEST_COLUMNS = (
    "request_id",
    "requester_id",
    "requester_kind",
    "received",
    "subject",
    "status",
    "decision",
    "recipient",
    "request",
    "purpose",
    "instrument",
    "accountable",
    "patient_ref",
    "match_count",
)


_DECISION_JSON = Decision.__pydantic_serializer__.to_json  # == model_dump_json(), as bytes


def _taken_ids(conn: Connection, ids: list[str]) -> set[str]:
    """The request ids among ``ids`` already in gateway_requests (one ``IN`` query through the
    DB-API cursor of the writer's connection, in its transaction)."""
    if not ids:
        return set()
    with raw_cursor(conn) as (cursor, mark):
        cursor.execute(
            f"SELECT request_id FROM {requests_table.name}"
            f" WHERE request_id IN ({', '.join([mark] * len(ids))})",
            ids,
        )
        return {str(row[0]) for row in cursor.fetchall()}


def _insert_requests(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert new gateway_requests rows through the DB-API cursor of the writer's connection
    (same transaction; one executemany, no per-row SQLAlchemy bind processing)."""
    with raw_cursor(conn) as (cursor, mark):
        cursor.executemany(
            f"INSERT INTO {requests_table.name} ({', '.join(_REQUEST_COLUMNS)})"
            f" VALUES ({', '.join([mark] * len(_REQUEST_COLUMNS))})",
            rows,
        )


__all__ = ["Disclosure", "Gateway", "GatewaySettings", "LedgerRef", "Prepared", "SweepLimits"]
