"""Entry builders shared by the ledger tests (no patient data: pseudonyms and codes only)."""

from __future__ import annotations

from healthwall.model.entries import (
    DecisionMade,
    KeyRotated,
    LegalBasisRef,
    ReasonRef,
    Recipient,
    Released,
)

PSEUDONYM_KEY = b"test-pseudonym-key-0123456789abcdef"


def key_entry(i: int) -> KeyRotated:
    return KeyRotated(key_kind="signing", key_id=f"key-{i}")


def release(pseudonym: str, i: int, **over: object) -> Released:
    fields: dict[str, object] = {
        "request_id": f"req-{i}",
        "patient": pseudonym,
        "recipient": Recipient(name="County Sheriff", address="1 Court St, Springfield"),
        "elements": ["name", "address"],
        "content_digest": f"{i:064x}",
        "purpose": "law-enforcement",
        "legal_basis": LegalBasisRef(instrument="court-order", citation="45 CFR 164.512(f)"),
        "accountable": True,
        "description": "name and address",
    }
    fields.update(over)
    return Released.model_validate(fields)


def decision(i: int, outcome: str = "permit") -> DecisionMade:
    return DecisionMade(
        request_id=f"req-{i}",
        decision=outcome,  # type: ignore[arg-type]
        reasons=[ReasonRef(policy="p", citation="45 CFR 164.512(f)", text="t")],
        released=["name"],
    )
