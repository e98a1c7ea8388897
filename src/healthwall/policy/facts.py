"""The finite facts of a request that policies read, and the Cedar context built from them.

Policies never see names, identifiers or free text: only these enumerated attributes. That keeps
decisions free of patient data and makes the request space finite, so ``policy check`` can
enumerate it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from healthwall.model.codes import (
    SMALL_AREAS,
    Condition,
    Element,
    Geography,
    Instrument,
    Purpose,
    RequesterKind,
    ScopeKind,
)
from healthwall.model.request import Request


@dataclass(frozen=True)
class Facts:
    """What a policy may know about a request (besides the element and the record's label)."""

    kind: RequesterKind
    purpose: Purpose
    instrument: Instrument
    scope: ScopeKind
    geography: Geography = Geography.NONE
    conditions: frozenset[Condition] = frozenset()
    named: frozenset[Element] | None = None  # elements the instrument names; None: not given
    agent_verified: bool = False

    def context(self, element: Element) -> dict[str, Any]:
        """The Cedar context for one element of this request (see schema.cedarschema)."""
        return {
            "purpose": self.purpose.value,
            "instrument": self.instrument.value,
            "scope": self.scope.value,
            "geography": self.geography.value,
            "small_area": self.geography in SMALL_AREAS,
            "conditions": sorted(c.value for c in self.conditions),
            "named_given": self.named is not None,
            "element_named": self.named is not None and element in self.named,
            "agent_verified": self.agent_verified,
        }


def facts_of(request: Request) -> Facts:
    """The facts of a validated request."""
    basis = request.legal_basis
    agent = request.requester.agent
    return Facts(
        kind=request.requester.kind,
        purpose=request.purpose,
        instrument=basis.instrument,
        scope=request.scope.kind,
        geography=request.scope.geography(),
        conditions=frozenset(basis.conditions),
        named=frozenset(basis.elements) if basis.elements is not None else None,
        agent_verified=bool(agent and agent.verified()),
    )


def example_request(facts: Facts, element: Element) -> dict[str, Any]:
    """A request JSON with these facts asking for ``element`` (counterexamples, docs, tests)."""
    scope: dict[str, Any] = {"kind": facts.scope.value}
    if facts.scope is ScopeKind.SINGLE_PATIENT:
        scope["patient"] = {"mrn": "EXAMPLE-MRN"}
    elif facts.scope is ScopeKind.COHORT:
        scope["cohort"] = {"description": "example cohort"}
    else:
        scope["aggregate"] = {"template": "example", "geography": facts.geography.value}
    basis: dict[str, Any] = {
        "instrument": facts.instrument.value,
        "conditions": sorted(c.value for c in facts.conditions),
    }
    if facts.named is not None:
        basis["elements"] = sorted(e.value for e in facts.named)
    requester: dict[str, Any] = {"id": "example", "name": "Example", "kind": facts.kind.value}
    if facts.agent_verified:
        requester["agent"] = {"name": "A. Agent", "agency": "Agency", "badge": "0000"}
    request: dict[str, Any] = {
        "requester": requester,
        "purpose": facts.purpose.value,
        "legal_basis": basis,
        "scope": scope,
        "elements": [] if facts.scope is ScopeKind.AGGREGATE else [element.value],
    }
    return request
