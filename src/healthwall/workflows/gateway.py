"""The disclosure gateway: validate, decide, detect sweeps, release, record -- in one transaction.

``Gateway(ledger, store, settings)``:

- ``submit(request) -> Decision`` (``submit_release`` also returns the released content): the
  request is validated and decided by policy; a single-patient request that may go out is matched
  EXACTLY against the custodian store; sweep limits are checked; then the gateway's row and the
  ledger entries (RequestReceived, DecisionMade, and Released with the content digest) are written
  in ONE transaction of the ledger's writer: either all are recorded or none.
- A request that matches no one or several patients releases nothing, and its answer is the same
  as any other denial's shape with one generic reason, so it does not reveal whether the patient
  exists. A request for review is answered "review" whatever the match; the officer's approval
  releases only on a unique match.
- ``review(request_id, officer_id, approve, note)``: an officer decides a pending review.
- ``get(request_id, requester_id)``: a requester sees only its own requests (others: NotFound).
- ``pending_reviews()``: what waits for an officer (no patient data).
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

from sqlalchemy import select, update

from healthwall.engine import open_store
from healthwall.errors import InvalidInput, NotFound
from healthwall.ledger.log import Ledger, Writer
from healthwall.model.codes import Element, Outcome, ScopeKind
from healthwall.model.decision import Decision, LedgerRef, Reason
from healthwall.model.request import (
    Request,
    parse_request,
)
from healthwall.policy import decide
from healthwall.policy.facts import facts_of
from healthwall.policy.obligations import accountable
from healthwall.workflows import release
from healthwall.workflows.recording import Recorder, request_from_record, without_identifiers
from healthwall.workflows.sweep import (
    SweepLimits,
    metadata,
    raise_alert,
    requests_table,
    violated_limit,
)

NO_RELEASE = Reason(
    policy="no-release",
    citation="healthwall firewall baseline",
    text="Nothing is released for this request.",
)
SWEEP = Reason(
    policy="sweep-limit",
    citation="healthwall firewall baseline",
    text="Request volume is over a rolling-window limit; nothing is released; an alert was raised.",
)
APPROVED = Reason(
    policy="officer-approved",
    citation="healthwall review procedure",
    text="A privacy officer reviewed the request and approved the release.",
)
REJECTED = Reason(
    policy="officer-rejected",
    citation="healthwall review procedure",
    text="A privacy officer reviewed the request and declined it.",
)


@dataclass(frozen=True)
class GatewaySettings:
    """Which packs decide (by jurisdiction, or explicit), and the sweep limits."""

    jurisdiction: str | None = None
    packs: tuple[str, ...] | None = None
    sweep: SweepLimits = field(default_factory=SweepLimits)


@dataclass(frozen=True)
class Disclosure:
    """A decision and, when something was released, the released content (patient data)."""

    decision: Decision
    content: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Match:
    """The store's answer: the one patient, and how many matched (None: no lookup was made)."""

    patient_id: str | None
    count: int | None
    row: dict[str, Any] | None = None  # the patient columns of the released elements


@dataclass(frozen=True)
class _Prepared:
    request: Request
    request_id: str
    decision: Decision
    match: _Match
    content: dict[str, Any] | None


class Gateway:
    """Decide-and-release over one ledger and (optionally) one custodian store."""

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
        self._columns: dict[str, frozenset[str]] | None = None
        self._record = Recorder(ledger)
        metadata.create_all(ledger.engine)

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
        """Several requests recorded in ONE ledger transaction (group commit for the service).

        Each is decided, matched and limited exactly as alone (sweep counts see the earlier ones
        of the batch); if any fails (e.g. a duplicate request_id), none is recorded.
        """
        prepared = [self._prepare(r) for r in requests]
        with self.ledger.writer() as tx:
            return [self._record_one(tx, p) for p in prepared]

    def _prepare(self, request: Request | dict[str, Any]) -> _Prepared:
        """Everything outside the transaction: validate, decide, match, fetch."""
        req = request if isinstance(request, Request) else parse_request(request)
        request_id = req.request_id or uuid.uuid4().hex
        decision = decide(
            req, jurisdiction=self.settings.jurisdiction, packs=self.settings.packs
        ).model_copy(update={"request_id": request_id})
        if decision.decision is Outcome.DENY:
            match = _Match(None, None)
        else:  # prefetch released columns only for a release now, never for a pending review
            releasing = decision.released if decision.decision is Outcome.PERMIT else ()
            match = self._match(req, releasing)
        if decision.decision is Outcome.PERMIT and self._needs_patient(req) and match.count != 1:
            decision = _no_release(decision)
        content = None
        if decision.decision is Outcome.PERMIT and match.patient_id and self.store is not None:
            content = self._fetch(match, decision)
        return _Prepared(req, request_id, decision, match, content)

    def _record_one(self, tx: Writer, p: _Prepared) -> Disclosure:
        """Inside the transaction: sweep limits, the gateway's row, the ledger entries."""
        req, request_id, decision, match, content = (
            p.request,
            p.request_id,
            p.decision,
            p.match,
            p.content,
        )
        now = time.time()
        taken = select(requests_table.c.request_id).where(requests_table.c.request_id == request_id)
        if tx.conn.execute(taken).first():
            raise InvalidInput("request_id is already in use", field="request_id")
        subject = self._subject(req)
        rule = violated_limit(tx.conn, req, subject, now, self.settings.sweep)
        if rule is not None:
            raise_alert(tx.conn, req, request_id, rule, now)
            decision, content = _sweep_denied(decision), None
        pending = decision.decision is Outcome.REVIEW
        tx.conn.execute(
            requests_table.insert().values(
                request_id=request_id,
                requester_id=req.requester.id,
                requester_kind=req.requester.kind.value,
                received=now,
                subject=subject,
                status=decision.decision.value,
                decision="{}",
                recipient=json.dumps(_recipient(req)),
                request=json.dumps(without_identifiers(req, request_id)),
                purpose=req.purpose.value,
                instrument=req.legal_basis.instrument.value,
                accountable=accountable(facts_of(req)),
                patient_ref=match.patient_id if pending else None,
                match_count=match.count if pending else None,
            )
        )
        self._record.received(tx, req, request_id, match.patient_id)
        decision = self._record.decided(tx, decision, "policy", "")
        if content is not None and match.patient_id is not None:
            self._record.released(tx, request_id, match.patient_id, decision, content)
        self._store_decision(tx.conn, decision)
        return Disclosure(decision, content)

    def _needs_patient(self, req: Request) -> bool:
        return req.scope.kind is ScopeKind.SINGLE_PATIENT and self.store is not None

    def _match(self, req: Request, released: Sequence[Element] = ()) -> _Match:
        """Exact match; with ``released`` the row carries those elements' patient columns."""
        if not self._needs_patient(req) or req.scope.patient is None or self.store is None:
            return _Match(None, None)
        with self._store_lock:
            have = self._store_columns()["patients"]
            cols = release.patient_columns(released, have)
            rows = release.match_patients(self.store, req.scope.patient.given(), columns=cols)
        if len(rows) != 1:
            return _Match(None, len(rows))
        return _Match(str(rows[0].pop("pid")), 1, rows[0] if released else None)

    def _store_columns(self) -> dict[str, frozenset[str]]:
        assert self.store is not None
        if self._columns is None:
            self._columns = release.store_columns(self.store)
        return self._columns

    def _fetch(self, match: _Match, decision: Decision) -> dict[str, Any]:
        assert self.store is not None and match.patient_id is not None
        with self._store_lock:
            return release.fetch(
                self.store,
                match.patient_id,
                decision.released,
                decision.withheld_labels,
                self._store_columns(),
                match.row,
            )

    def _subject(self, req: Request) -> str | None:
        """Keyed hash of the identifiers given: counts distinct subjects without knowing them."""
        if req.scope.patient is None:
            return None
        given = json.dumps(req.scope.patient.given(), sort_keys=True)
        return self.ledger.patient_pseudonym("subject:" + given)[:64]

    @staticmethod
    def _store_decision(conn: Any, decision: Decision) -> None:
        conn.execute(
            update(requests_table)
            .where(requests_table.c.request_id == decision.request_id)
            .values(status=decision.decision.value, decision=decision.model_dump_json())
        )

    # -- review ---------------------------------------------------------------------------------

    def review(self, request_id: str, officer_id: str, approve: bool, note: str = "") -> Decision:
        """An officer approves or declines a pending review; approval releases on a unique match."""
        return self.review_release(request_id, officer_id, approve, note).decision

    def review_release(
        self, request_id: str, officer_id: str, approve: bool, note: str = ""
    ) -> Disclosure:
        if not officer_id:
            raise InvalidInput("officer_id is required", field="officer_id")
        row = self._row(request_id)
        if row.status != Outcome.REVIEW.value:
            raise InvalidInput("request is not pending review", field="request_id")
        pending = Decision.model_validate_json(row.decision)
        content = None
        if not approve:
            decision = _denied(pending, [REJECTED])
        elif row.match_count is not None and row.match_count != 1:
            decision = _no_release(pending)
        else:
            reasons = [*pending.reasons, APPROVED]
            decision = pending.model_copy(update={"decision": Outcome.PERMIT, "reasons": reasons})
            if row.patient_ref and self.store is not None:
                content = self._fetch(_Match(row.patient_ref, 1), decision)
        with self.ledger.writer() as tx:
            decision = self._record.decided(tx, decision, officer_id, note[:2000])
            if content is not None and row.patient_ref:
                self._record.released(tx, request_id, row.patient_ref, decision, content)
            tx.conn.execute(
                update(requests_table)
                .where(requests_table.c.request_id == request_id)
                .values(
                    status=decision.decision.value,
                    decision=decision.model_dump_json(),
                    patient_ref=None,
                    match_count=None,
                    reviewed_by=officer_id,
                    reviewed_at=time.time(),
                )
            )
        return Disclosure(decision, content)

    # -- reading --------------------------------------------------------------------------------

    def _row(self, request_id: str) -> Any:
        with self.ledger.engine.connect() as conn:
            row = conn.execute(
                select(requests_table).where(requests_table.c.request_id == request_id)
            ).first()
        if row is None:
            raise NotFound("no such request", field="request_id")
        return row

    def get(self, request_id: str, requester_id: str | None = None) -> Decision:
        """The decision of a request; a requester sees only its own (others look absent)."""
        row = self._row(request_id)
        if requester_id is not None and row.requester_id != requester_id:
            raise NotFound("no such request", field="request_id")
        return Decision.model_validate_json(row.decision)

    def pending_reviews(self) -> list[Decision]:
        """Decisions waiting for an officer, oldest first (no patient data)."""
        with self.ledger.engine.connect() as conn:
            rows = conn.execute(
                select(requests_table.c.decision)
                .where(requests_table.c.status == Outcome.REVIEW.value)
                .order_by(requests_table.c.received)
            ).all()
        return [Decision.model_validate_json(r.decision) for r in rows]

    def request(self, request_id: str) -> Request | None:
        """The request as recorded, WITHOUT the patient's identifiers (``scope.patient`` None)."""
        try:
            row = self._row(request_id)
        except NotFound:
            return None
        return request_from_record(json.loads(row.request))


def _recipient(req: Request) -> dict[str, str | None]:
    return {"name": req.requester.name, "address": req.requester.address}


def _denied(decision: Decision, reasons: list[Reason]) -> Decision:
    return decision.model_copy(
        update={
            "decision": Outcome.DENY,
            "reasons": reasons,
            "released": [],
            "withheld": [*decision.released, *decision.withheld],
            "withheld_labels": [],
            "obligations": [],
        }
    )


def _no_release(decision: Decision) -> Decision:
    """The generic answer for no match / several matches: the same as any denial's shape."""
    return _denied(decision, [NO_RELEASE])


def _sweep_denied(decision: Decision) -> Decision:
    return _denied(decision, [SWEEP])


__all__ = ["Disclosure", "Gateway", "GatewaySettings", "LedgerRef", "SweepLimits"]
