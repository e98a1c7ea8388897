"""The gateway's answer to a request: permit, deny or review, with the reasons that decided.

JSON shape (the contract, plus ``withheld_labels``, ``packs``, ``jurisdiction``)::

    {"request_id": "...", "decision": "permit" | "deny" | "review",
     "reasons": [{"policy": "hipaa-f2-bare-request", "citation": "45 CFR 164.512(f)(2)",
                  "text": "..."}],
     "released": [ELEMENT, ...], "withheld": [ELEMENT, ...],
     "withheld_labels": [LABEL, ...], "obligations": [OBLIGATION, ...],
     "ledger": {"index": 12, "leaf_hash": "..."} | null,
     "packs": ["hipaa", ...], "jurisdiction": "US-CA" | null}

``released`` lists the elements that go out (now for permit, after approval for review);
``withheld`` the requested elements that do not. ``withheld_labels`` lists the sensitivity labels
whose records are removed from released clinical elements (e.g. ``SUD`` without a Part 2 order).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from healthwall.model.codes import Element, Label, Obligation, Outcome


class Reason(BaseModel):
    """One rule that decided: the policy id, its legal citation, a plain-language reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str
    citation: str
    text: str


class LedgerRef(BaseModel):
    """Where the decision sits in the ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    leaf_hash: str


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    decision: Outcome
    reasons: list[Reason] = Field(default_factory=list)
    released: list[Element] = Field(default_factory=list)
    withheld: list[Element] = Field(default_factory=list)
    withheld_labels: list[Label] = Field(default_factory=list)
    obligations: list[Obligation] = Field(default_factory=list)
    ledger: LedgerRef | None = None
    packs: list[str] = Field(default_factory=list)
    jurisdiction: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The decision as plain JSON types."""
        return self.model_dump(mode="json")

    @property
    def permitted(self) -> bool:
        return self.decision is Outcome.PERMIT
