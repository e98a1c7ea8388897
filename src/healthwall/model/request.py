"""A record request, typed: who asks, why, on what legal basis, about whom, for which elements.

The JSON shape is the gateway's contract::

    {"requester": {"id", "name", "kind", "jurisdiction"},
     "purpose": CODE,
     "legal_basis": {"instrument": CODE, "issued_by": "...", "reference": "...",
                     "elements": [CODE, ...], "conditions": [CODE, ...]},
     "scope": {"kind": "single-patient" | "cohort" | "aggregate",
               "patient": {"first_name", "last_name", "birth_date", "ssn", "mrn", "medicaid_id"},
               "cohort": {"description", "size"},
               "aggregate": {"template", "geography", "period", "by"}},
     "elements": [CODE, ...],
     "justification": "..."}

Extensions beyond the contract (all optional): ``request_id``; ``requester.agent`` (name, agency
and badge of an enforcement agent, verified under Illinois law); ``requester.address`` (for the
accounting of disclosures); ``legal_basis.elements`` (the elements the instrument itself names);
``legal_basis.conditions`` (conditions the requester attests to, see ``codes.Condition``).

Every object forbids unknown fields. :func:`parse_request` collects every problem at once and
raises :class:`UnknownCode` when a code is not in its list, :class:`InvalidInput` otherwise, naming
the field (never echoing the value, which may be patient data).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from healthwall.errors import InvalidInput, UnknownCode
from healthwall.model.codes import (
    Condition,
    Element,
    Geography,
    Instrument,
    Purpose,
    RequesterKind,
    ScopeKind,
)

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
_TEXT = Field(default="", max_length=2000)


class Agent(BaseModel):
    """The enforcement agent behind a request (Illinois 210 ILCS 85/6.14h: verify and document)."""

    model_config = _STRICT

    name: str = Field(default="", max_length=200)
    agency: str = Field(default="", max_length=200)
    badge: str = Field(default="", max_length=100)

    def verified(self) -> bool:
        """True when name, agency and badge are all given."""
        return bool(self.name and self.agency and self.badge)


class Requester(BaseModel):
    model_config = _STRICT

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    kind: RequesterKind
    jurisdiction: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=500)
    agent: Agent | None = None


class LegalBasis(BaseModel):
    model_config = _STRICT

    instrument: Instrument
    issued_by: str = Field(default="", max_length=500)
    reference: str = Field(default="", max_length=500)
    elements: list[Element] | None = Field(default=None, max_length=64)
    conditions: list[Condition] = Field(default_factory=list, max_length=32)


class PatientIdentifiers(BaseModel):
    """Identifiers of ONE patient; matched exactly, all of them, never fuzzily."""

    model_config = _STRICT

    first_name: str | None = Field(default=None, min_length=1, max_length=200)
    last_name: str | None = Field(default=None, min_length=1, max_length=200)
    birth_date: dt.date | None = None
    ssn: str | None = Field(default=None, min_length=1, max_length=20)
    mrn: str | None = Field(default=None, min_length=1, max_length=64)
    medicaid_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _enough(self) -> PatientIdentifiers:
        unique = self.ssn or self.mrn or self.medicaid_id
        named = self.first_name and self.last_name and self.birth_date
        if not (unique or named):
            raise ValueError(
                "give ssn, mrn or medicaid_id, or first_name, last_name and birth_date"
            )
        return self

    def given(self) -> dict[str, str]:
        """The identifiers given, as strings (dates ISO), by field name."""
        out: dict[str, str] = {}
        for key, value in self.model_dump(exclude_none=True).items():
            out[key] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return out


class Cohort(BaseModel):
    model_config = _STRICT

    description: str = _TEXT
    size: int | None = Field(default=None, ge=0)


class Aggregate(BaseModel):
    """An aggregate query for the DP layer: a fixed template, a geography, a period, breakdowns."""

    model_config = _STRICT

    template: str = Field(min_length=1, max_length=100)
    geography: Geography = Geography.STATE
    period: str | None = Field(default=None, max_length=50)
    by: list[str] = Field(default_factory=list, max_length=8)


class Scope(BaseModel):
    model_config = _STRICT

    kind: ScopeKind
    patient: PatientIdentifiers | None = None
    cohort: Cohort | None = None
    aggregate: Aggregate | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Scope:
        wanted = {
            ScopeKind.SINGLE_PATIENT: "patient",
            ScopeKind.COHORT: "cohort",
            ScopeKind.AGGREGATE: "aggregate",
        }[self.kind]
        for name in ("patient", "cohort", "aggregate"):
            present = getattr(self, name) is not None
            if name == wanted and not present and name != "cohort":
                raise ValueError(f"scope {self.kind.value} needs '{name}'")
            if name != wanted and present:
                raise ValueError(f"'{name}' does not belong to scope {self.kind.value}")
        return self

    def geography(self) -> Geography:
        return self.aggregate.geography if self.aggregate else Geography.NONE


class Request(BaseModel):
    model_config = _STRICT

    request_id: str | None = Field(default=None, min_length=1, max_length=100)
    requester: Requester
    purpose: Purpose
    legal_basis: LegalBasis
    scope: Scope
    elements: list[Element] = Field(default_factory=list, max_length=64)
    justification: str = _TEXT

    @model_validator(mode="after")
    def _elements(self) -> Request:
        is_aggregate = self.scope.kind is ScopeKind.AGGREGATE
        if not self.elements and not is_aggregate:
            raise ValueError("'elements' must name at least one element")
        has_counts = Element.COUNTS in self.elements
        if is_aggregate and any(e is not Element.COUNTS for e in self.elements):
            raise ValueError("an aggregate scope releases only 'counts'")
        if has_counts and not is_aggregate:
            raise ValueError("'counts' belongs to an aggregate scope only")
        return self

    def requested(self) -> tuple[Element, ...]:
        """The requested elements, deduplicated in order (aggregate: counts)."""
        if self.scope.kind is ScopeKind.AGGREGATE:
            return (Element.COUNTS,)
        return tuple(dict.fromkeys(self.elements))


_CODE_ERRORS = {"enum", "literal_error"}


def parse_request(raw: Any) -> Request:
    """Validate a decoded JSON object into a :class:`Request`, reporting every problem at once."""
    try:
        return Request.model_validate(raw)
    except ValidationError as exc:
        raise _as_healthwall_error(exc) from None


def load_request(text: str | bytes) -> Request:
    """Parse a request from JSON text."""
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("request is not valid JSON", field="request") from None
    return parse_request(raw)


def _as_healthwall_error(exc: ValidationError) -> InvalidInput:
    problems: list[str] = []
    fields: list[str] = []
    unknown = False
    for err in exc.errors(include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "request"
        fields.append(where)
        if err["type"] in _CODE_ERRORS:
            unknown = True
            problems.append(f"{where}: unknown code")
        elif err["type"] == "missing":
            problems.append(f"{where}: field required")
        elif err["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown field")
        else:
            problems.append(f"{where}: {_safe_msg(err['msg'])}")
    cls = UnknownCode if unknown else InvalidInput
    return cls("invalid request: " + "; ".join(problems), field=fields[0] if fields else None)


def _safe_msg(msg: str) -> str:
    """Pydantic messages name constraints, not values; drop anything after 'input' defensively."""
    return msg.split(", input")[0][:200]
