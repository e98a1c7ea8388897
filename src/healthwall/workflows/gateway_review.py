"""The gateway's answers shared by its parts, officer review, the one-time pickup, and reading.

An officer's approval does NOT release at once: it records the decision (DecisionMade by the
officer) and opens a one-time pickup for the requester that owns the request, expiring after
``GatewaySettings.pickup_seconds`` (default 7 days). Only the internal patient id is kept until
then (as while the review was pending) -- never the content: at pickup the released elements are
read from the custodian store again and a ``Released`` entry is appended in the same transaction
that closes the pickup, so the accounting of disclosures sees exactly one release, at the time it
actually happened. The pickup is single use (a conditional update inside the writer).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from healthwall.errors import InvalidInput, NotFound
from healthwall.model.codes import Outcome
from healthwall.model.decision import Decision, Reason
from healthwall.model.request import Request
from healthwall.workflows.recording import Recorder, request_from_record
from healthwall.workflows.sweep import requests_table

if TYPE_CHECKING:
    from healthwall.ledger.log import Ledger

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
class Disclosure:
    """A decision and, when something was released, the released content (patient data)."""

    decision: Decision
    content: dict[str, Any] | None = None
    #: The decision's JSON when it was already serialized (as recorded): answers reuse it.
    decision_json: bytes | None = None


def denied(decision: Decision, reasons: list[Reason]) -> Decision:
    """The decision turned into a denial with ``reasons``: nothing released."""
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


def no_release(decision: Decision) -> Decision:
    """The generic answer for no match / several matches: the same as any denial's shape."""
    return denied(decision, [NO_RELEASE])


def sweep_applied(decision: Decision) -> Decision:
    """A sweep limit was exceeded: it denies only what policy would permit or send to review.

    A policy denial keeps the policy's own reasons (the alert is still recorded); a gateway
    "no-release" (policy permitted, the store found no unique patient) becomes the sweep denial.
    """
    policy_denied = decision.decision is Outcome.DENY and decision.reasons != [NO_RELEASE]
    return decision if policy_denied else denied(decision, [SWEEP])


class ReviewMixin:
    """Officer review, one-time pickup, and reading, over the gateway's table and ledger."""

    ledger: Ledger
    _record: Recorder
    _pickup_seconds: float

    def _fetch(self, patient_id: str, decision: Decision) -> dict[str, Any]:
        raise NotImplementedError

    def _has_store(self) -> bool:
        raise NotImplementedError

    def review(self, request_id: str, officer_id: str, approve: bool, note: str = "") -> Decision:
        """An officer approves or declines a pending review (approval opens a pickup)."""
        return self.review_release(request_id, officer_id, approve, note).decision

    def review_release(
        self, request_id: str, officer_id: str, approve: bool, note: str = ""
    ) -> Disclosure:
        """As :meth:`review`; the content is never returned here (see :meth:`pickup`)."""
        if not officer_id:
            raise InvalidInput("officer_id is required", field="officer_id")
        row = self._row(request_id)
        if row.status != Outcome.REVIEW.value:
            raise InvalidInput("request is not pending review", field="request_id")
        pending = Decision.model_validate_json(row.decision)
        now = time.time()
        ready = False
        if not approve:
            decision = denied(pending, [REJECTED])
        elif row.match_count is not None and row.match_count != 1:
            decision = no_release(pending)
        else:
            reasons = [*pending.reasons, APPROVED]
            decision = pending.model_copy(update={"decision": Outcome.PERMIT, "reasons": reasons})
            ready = bool(row.patient_ref) and self._has_store() and bool(decision.released)
        c = requests_table.c
        with self.ledger.writer() as tx:
            decision = self._record.decided(tx, decision, officer_id, note[:2000])
            tx.conn.execute(
                update(requests_table)
                .where(c.request_id == request_id)
                .values(
                    status=decision.decision.value,
                    decision=decision.model_dump_json(),
                    patient_ref=row.patient_ref if ready else None,
                    match_count=None,
                    reviewed_by=officer_id,
                    reviewed_at=now,
                    pickup_expires=now + self._pickup_seconds if ready else None,
                )
            )
            _forget_expired(tx.conn, now)
        return Disclosure(decision, None)

    def pickup(self, request_id: str, requester_id: str) -> Disclosure:
        """The one-time pickup of an approved review's release by the requester that owns it.

        NotFound (revealing nothing) unless the request is the requester's, approved, with a
        unique patient, not yet picked up and not expired. The content is read from the store
        now; the Released entry and the closing of the pickup are one transaction, committed
        before the content is returned.
        """
        row = self._row(request_id)
        now = time.time()
        if (
            row.requester_id != requester_id
            or row.status != Outcome.PERMIT.value
            or not row.patient_ref
            or row.picked_up_at is not None
            or row.pickup_expires is None
        ):
            raise NotFound("no release to pick up", field="request_id")
        c = requests_table.c
        if now > float(row.pickup_expires):
            with self.ledger.writer() as tx:
                _forget_expired(tx.conn, now)
            raise NotFound("no release to pick up", field="request_id")
        decision = Decision.model_validate_json(row.decision)
        content = self._fetch(str(row.patient_ref), decision)
        with self.ledger.writer() as tx:
            closed = tx.conn.execute(
                update(requests_table)
                .where(
                    c.request_id == request_id,
                    c.picked_up_at.is_(None),
                    c.patient_ref.is_not(None),
                )
                .values(picked_up_at=now, patient_ref=None)
            )
            if closed.rowcount != 1:  # picked up meanwhile by a concurrent call
                raise NotFound("no release to pick up", field="request_id")
            self._record.released(tx, request_id, str(row.patient_ref), decision, content)
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


def _forget_expired(conn: Any, now: float) -> None:
    """Drop the patient id of pickups that expired unclaimed (nothing to release any more)."""
    c = requests_table.c
    conn.execute(
        update(requests_table)
        .where(c.pickup_expires < now, c.picked_up_at.is_(None), c.patient_ref.is_not(None))
        .values(patient_ref=None)
    )
