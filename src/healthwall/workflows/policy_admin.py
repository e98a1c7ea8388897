"""Use cases behind ``healthwall decide`` and ``healthwall policy {check,list}``.

``decide_request`` decides a request offline; with a ledger database it goes through the gateway
(and so is recorded in the ledger exactly as the service records it, and released from the
custodian store when one is given).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healthwall.model.decision import Decision
from healthwall.model.request import load_request
from healthwall.policy import decide, select_packs
from healthwall.policy.invariants import Report, check
from healthwall.policy.packs import bundle, config, jurisdictions
from healthwall.workflows.gateway import Gateway, GatewaySettings
from healthwall.workflows.ledger import LedgerSettings, open_ledger


def decide_request(
    text: str | bytes,
    *,
    jurisdiction: str | None = None,
    packs: str | None = None,
    db: str | None = None,
    pseudonym_key: str | None = None,
    signing_key: str | None = None,
    store: Path | None = None,
) -> Decision:
    """Decide one request (JSON text); with ``db`` record it (and release from ``store``)."""
    request = load_request(text)
    chosen = select_packs(jurisdiction, packs) if packs else None
    if db is None:
        return decide(request, jurisdiction=jurisdiction, packs=chosen)
    settings = LedgerSettings.from_env(db=db, pseudonym_key=pseudonym_key, signing_key=signing_key)
    ledger = open_ledger(settings)
    try:
        gateway = Gateway(ledger, store, GatewaySettings(jurisdiction=jurisdiction, packs=chosen))
        try:
            return gateway.submit(request)
        finally:
            gateway.close()
    finally:
        ledger.close()


def check_invariants(sample: int = 300, packs: str | None = None) -> Report:
    """Check the declared invariants over the whole request space."""
    return check(sample=sample, packs=select_packs(None, packs) if packs else None)


def pack_listing() -> dict[str, Any]:
    """Packs (with their rules and citations) and the jurisdiction -> packs table."""
    packs: dict[str, Any] = {}
    for name, meta in config()["packs"].items():
        rules = bundle((name,)).rules.values()
        packs[name] = {
            "title": meta.get("title", ""),
            "citation": meta.get("citation", ""),
            "rules": [
                {"id": r.id, "effect": r.effect, "citation": r.citation, "reason": r.reason}
                for r in rules
            ],
        }
    return {"packs": packs, "jurisdictions": jurisdictions()}
