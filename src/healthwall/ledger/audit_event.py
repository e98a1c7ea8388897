"""FHIR R4 AuditEvent export of the ledger, following IHE BALP.

* each ``Released`` entry becomes a **Privacy Disclosure** event (BALP
  ``IHE.BasicAudit.PrivacyDisclosure.Source``): type DCM 110106 *Export*, subtype ISO 21089
  ``disclose``, agents *source* (the custodian, DCM 110153) and *recipient* (DCM 110152), entity
  *patient* (by pseudonym only) and the disclosed data (by content digest only);
* each ``DecisionMade`` entry becomes an **authorization decision** event (BALP
  ``IHE.BasicAudit.AuthZconsent`` pattern): type DCM 110113 *Security Alert*, subtype
  ``AuthZ-Role``; outcome 0 for permit, 4 for deny, and review recorded as 0 with the text.

Every event carries the ledger index and leaf hash as an identifier-bearing ``entity``, so an
auditor can prove each exported event against a signed checkpoint. The 164.528 accounting can be
derived from the disclosure events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from healthwall.model.entries import DecisionMade, LedgerEntry, Released

DCM = "http://dicom.nema.org/resources/ontology/DCM"
BALP = "https://profiles.ihe.net/ITI/BALP"
ISO21089 = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PSEUDONYM_SYSTEM = "urn:healthwall:patient-pseudonym"
LEDGER_SYSTEM = "urn:healthwall:ledger"

#: Local purpose codes and the nearest HL7 PurposeOfUse code for interchange (see model.codes).
_HL7_PURPOSE = {
    "law-enforcement": "HLEGAL",
    "immigration-enforcement": "GOV",
    "data-sale": "HMARKT",
}


def audit_events(
    entries: Iterable[tuple[int, LedgerEntry]], *, origin: str, leaf_hashes: dict[int, str]
) -> Iterator[dict[str, Any]]:
    """AuditEvent resources (plain JSON) for the releases and decisions among ``entries``."""
    for seq, entry in entries:
        if isinstance(entry, Released):
            yield disclosure_event(seq, entry, origin=origin, leaf_hash=leaf_hashes.get(seq, ""))
        elif isinstance(entry, DecisionMade):
            yield decision_event(seq, entry, origin=origin, leaf_hash=leaf_hashes.get(seq, ""))


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _details(values: dict[str, str]) -> list[dict[str, str]]:
    """``entity.detail`` items; FHIR strings may not be empty, so empty values are left out."""
    return [{"type": k, "valueString": v} for k, v in values.items() if v.strip()]


def _ledger_entity(seq: int, leaf_hash: str) -> dict[str, Any]:
    return {
        "what": {"identifier": {"system": LEDGER_SYSTEM, "value": str(seq)}},
        "type": _coding(ENTITY_TYPE, "2", "System Object"),
        "description": "ledger entry (index; leaf hash in detail)",
        "detail": _details({"leaf-hash": leaf_hash}),
    }


def _source(origin: str) -> dict[str, Any]:
    return {"observer": {"display": origin}, "type": [_coding(DCM, "110150", "Application")]}


def _purpose(code: str) -> list[dict[str, Any]]:
    hl7 = _HL7_PURPOSE.get(code, code)
    return [{"coding": [_coding(PURPOSE, hl7)], "text": code}]


def disclosure_event(seq: int, entry: Released, *, origin: str, leaf_hash: str) -> dict[str, Any]:
    """A BALP Privacy Disclosure (source side) for one release."""
    return {
        "resourceType": "AuditEvent",
        "id": f"ledger-{seq}",
        "meta": {
            "profile": [f"{BALP}/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source"]
        },
        "type": _coding(DCM, "110106", "Export"),
        "subtype": [_coding(ISO21089, "disclose", "Disclose Record Lifecycle Event")],
        "action": "R",
        "recorded": entry.at,
        "outcome": "0",
        "purposeOfEvent": _purpose(entry.purpose),
        "agent": [
            {
                "type": {"coding": [_coding(DCM, "110153", "Source Role ID")]},
                "who": {"display": origin},
                "requestor": False,
            },
            {
                "type": {"coding": [_coding(DCM, "110152", "Destination Role ID")]},
                "who": {"display": entry.recipient.name},
                "requestor": True,
            },
        ],
        "source": _source(origin),
        "entity": [
            {
                "what": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": entry.patient}},
                "type": _coding(ENTITY_TYPE, "1", "Person"),
                "role": _coding(OBJECT_ROLE, "1", "Patient"),
            },
            {
                "what": {
                    "identifier": {"system": "urn:healthwall:request", "value": entry.request_id}
                },
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "description": entry.description or ", ".join(entry.elements),
                "detail": _details(
                    {
                        "content-sha256": entry.content_digest,
                        "elements": ",".join(entry.elements),
                        "instrument": entry.legal_basis.instrument,
                        "citation": entry.legal_basis.citation,
                        "accountable": str(entry.accountable).lower(),
                        "recipient-address": entry.recipient.address or "",
                    }
                ),
            },
            _ledger_entity(seq, leaf_hash),
        ],
    }


_OUTCOME = {"permit": "0", "review": "0", "deny": "4"}


def decision_event(seq: int, entry: DecisionMade, *, origin: str, leaf_hash: str) -> dict[str, Any]:
    """A BALP authorization-decision event for one decision."""
    reasons = "; ".join(f"{r.policy} ({r.citation})" for r in entry.reasons)
    return {
        "resourceType": "AuditEvent",
        "id": f"ledger-{seq}",
        "meta": {"profile": [f"{BALP}/StructureDefinition/IHE.BasicAudit.AuthZconsent"]},
        "type": _coding(DCM, "110113", "Security Alert"),
        "subtype": [
            _coding(f"{BALP}/CodeSystem/AuthZsubType", "AuthZ-Role", "Authorization Decision")
        ],
        "action": "E",
        "recorded": entry.at,
        "outcome": _OUTCOME[entry.decision],
        "outcomeDesc": f"{entry.decision}: {reasons}"[:2000],
        "agent": [
            {
                "type": {"coding": [_coding(DCM, "110153", "Source Role ID")]},
                "who": {"display": f"{origin} ({entry.decided_by})"},
                "requestor": False,
            }
        ],
        "source": _source(origin),
        "entity": [
            {
                "what": {
                    "identifier": {"system": "urn:healthwall:request", "value": entry.request_id}
                },
                "type": _coding(ENTITY_TYPE, "2", "System Object"),
                "detail": _details(
                    {
                        "decision": entry.decision,
                        "released": ",".join(entry.released),
                        "withheld": ",".join(entry.withheld),
                        "obligations": ",".join(entry.obligations),
                    }
                ),
            },
            _ledger_entity(seq, leaf_hash),
        ],
    }
