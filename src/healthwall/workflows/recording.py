"""Ledger entries of the gateway (RequestReceived, DecisionMade, Released), built in one place.

Entries hold codes, recipients (agencies are named: the accounting of disclosures needs them),
patients only as keyed pseudonyms, and the released content only as its SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from healthwall.ledger.log import Ledger, Writer
from healthwall.model.codes import Element, Purpose, ScopeKind
from healthwall.model.decision import Decision, LedgerRef, Reason
from healthwall.model.entries import (
    DecisionMade,
    LedgerEntry,
    LegalBasisRef,
    Party,
    ReasonRef,
    Recipient,
    Released,
    RequestReceived,
)
from healthwall.model.request import (
    Aggregate,
    Cohort,
    LegalBasis,
    Request,
    Requester,
    Scope,
)
from healthwall.workflows.release import content_digest, sorted_json
from healthwall.workflows.sweep import requests_table


def request_digest(req: Request, dumped: dict[str, Any] | None = None) -> str:
    """SHA-256 of the request as canonical JSON (recorded instead of the request).

    ``dumped`` is ``req.model_dump(mode="json")`` when the caller has it already.
    """
    body = sorted_json(req.model_dump(mode="json") if dumped is None else dumped)
    return hashlib.sha256(body).hexdigest()


class Recorder:
    """Appends the gateway's entries inside the caller's writer transaction."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def received(self, tx: Writer, req: Request, request_id: str, patient_id: str | None) -> None:
        tx.append(self.received_entry(req, request_id, patient_id))

    def decided(self, tx: Writer, decision: Decision, decided_by: str, note: str) -> Decision:
        """Append DecisionMade; the decision with its ledger reference."""
        receipt = tx.append(self.decided_entry(decision, decided_by, note))
        ref = LedgerRef(index=receipt.index, leaf_hash=receipt.leaf_hash)
        return decision.model_copy(update={"ledger": ref})

    def released(
        self,
        tx: Writer,
        request_id: str,
        patient_id: str,
        decision: Decision,
        content: dict[str, Any],
    ) -> None:
        """Append Released: recipient, purpose, basis, elements, content digest (never content)."""
        row = tx.conn.execute(
            select(requests_table).where(requests_table.c.request_id == request_id)
        ).one()
        recipient = json.loads(row.recipient)
        tx.append(
            self.released_entry(
                request_id,
                patient_id,
                Recipient(name=recipient["name"], address=recipient.get("address")),
                (row.purpose, row.instrument, bool(row.accountable)),
                decision,
                content,
            )
        )

    def received_entry(
        self, req: Request, request_id: str, patient_id: str | None, digest: str | None = None
    ) -> LedgerEntry:
        """The RequestReceived entry of a request (no identifiers: the patient's pseudonym);
        ``digest`` is its :func:`request_digest` when already known."""
        requester = req.requester
        return RequestReceived(
            request_id=request_id,
            requester=Party(
                id=requester.id,
                name=requester.name,
                kind=requester.kind.value,
                jurisdiction=requester.jurisdiction,
                address=requester.address,
            ),
            purpose=req.purpose.value,
            instrument=req.legal_basis.instrument.value,
            scope_kind=req.scope.kind.value,
            elements=[e.value for e in req.requested()],
            patient=self.ledger.patient_pseudonym(patient_id) if patient_id else None,
            request_digest=digest or request_digest(req),
        )

    @staticmethod
    def decided_entry(decision: Decision, decided_by: str, note: str) -> LedgerEntry:
        """The DecisionMade entry of a decision."""
        return DecisionMade(
            request_id=decision.request_id,
            decision=decision.decision.value,
            reasons=[_reason_ref(r) for r in decision.reasons],
            released=[e.value for e in decision.released],
            withheld=[e.value for e in decision.withheld],
            obligations=[o.value for o in decision.obligations],
            decided_by=decided_by,
            note=note,
        )

    def released_entry(
        self,
        request_id: str,
        patient_id: str,
        recipient: Recipient,
        basis: tuple[str, str, bool],
        decision: Decision,
        content: dict[str, Any],
        digest: str | None = None,
    ) -> LedgerEntry:
        """The Released entry; ``basis`` is (purpose, instrument, accountable under 164.528);
        ``digest`` is :func:`content_digest` of ``content`` when already known."""
        purpose, instrument, is_accountable = basis
        citation = next((r.citation for r in decision.reasons), "")
        labels = ", ".join(lbl.value for lbl in decision.withheld_labels)
        description = "elements: " + ", ".join(e.value for e in decision.released)
        if labels:
            description += f"; records labelled {labels} withheld"
        return Released(
            request_id=request_id,
            patient=self.ledger.patient_pseudonym(patient_id),
            recipient=recipient,
            elements=[e.value for e in decision.released],
            content_digest=digest or content_digest(content),
            purpose=purpose,
            legal_basis=LegalBasisRef(instrument=instrument, citation=citation),
            accountable=is_accountable,
            description=description,
        )


#: ReasonRef of each (frozen, hashable) Reason: decisions come from a cache, so they repeat.
_REASON_REFS: dict[Reason, ReasonRef] = {}


def _reason_ref(reason: Reason) -> ReasonRef:
    ref = _REASON_REFS.get(reason)
    if ref is None:
        if len(_REASON_REFS) > 10_000:
            _REASON_REFS.clear()
        ref = _REASON_REFS[reason] = ReasonRef(**reason.model_dump())
    return ref


def without_identifiers(
    req: Request, request_id: str, dumped: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The request as the gateway stores it: WITHOUT the patient's identifiers.

    ``dumped`` is ``req.model_dump(mode="json")`` when the caller has it already (not changed).
    """
    if dumped is None:
        raw = req.model_dump(mode="json", exclude={"scope": {"patient"}})
    else:
        raw = dict(dumped)
        raw["scope"] = {k: v for k, v in dumped["scope"].items() if k != "patient"}
    raw["request_id"] = request_id
    return raw


def request_from_record(raw: dict[str, Any]) -> Request:
    """Rebuild a recorded request; its scope lacks the (never stored) patient identifiers."""
    scope = raw["scope"]
    return Request.model_construct(
        request_id=raw.get("request_id"),
        requester=Requester.model_validate(raw["requester"]),
        purpose=Purpose(raw["purpose"]),
        legal_basis=LegalBasis.model_validate(raw["legal_basis"]),
        scope=Scope.model_construct(
            kind=ScopeKind(scope["kind"]),
            patient=None,
            cohort=Cohort.model_validate(scope["cohort"]) if scope.get("cohort") else None,
            aggregate=Aggregate.model_validate(scope["aggregate"])
            if scope.get("aggregate")
            else None,
        ),
        elements=[Element(e) for e in raw["elements"]],
        justification=raw.get("justification", ""),
    )
