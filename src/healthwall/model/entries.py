"""Typed ledger entries: what the tamper-evident ledger records, one model per kind.

Every entry has a ``kind`` (the discriminator) and ``at`` (a UTC timestamp, ISO 8601 with a ``Z``).
``to_json()`` gives plain JSON types; the ledger serializes that with RFC 8785 (canonical JSON)
and hashes it as an RFC 9162 leaf.

What an entry may hold: codes, counts, digests, the names and addresses of *recipients*
(agencies, researchers, brokers: the accounting of disclosures must name them), and patients only
as keyed pseudonyms (``Ledger.patient_pseudonym``). Never a patient's name, SSN, address or the
released content itself: a release is recorded by the SHA-256 of its content. That is what lets
the ledger be handed to an outside auditor.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_DIGEST = Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex SHA-256")
_PSEUDONYM = Field(min_length=16, max_length=128, pattern=r"^[0-9a-f]+$")

#: Answer an accounting request within 60 days; one extension of at most 30 days (164.528(c)).
ACCOUNTING_DUE_DAYS = 60
ACCOUNTING_EXTENSION_DAYS = 30
#: An oral suspension request lasts at most 30 days unless followed in writing (164.528(a)(2)).
ORAL_SUSPENSION_DAYS = 30


def utc_now() -> str:
    """The current time as the ledger writes it: ISO 8601, UTC, microseconds, ``Z``.

    Same string as ``format_utc(now)``; runs once per ledger entry, so the ``YYYY-MM-DDTHH:MM:SS``
    part is formatted once per second and reused (strftime per call was a tenth of an append).
    """
    global _SECOND
    sec, micro = divmod(time.time_ns() // 1000, 1_000_000)
    cached = _SECOND
    if cached[0] != sec:
        stamp = dt.datetime.fromtimestamp(sec, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        cached = _SECOND = (sec, stamp)
    return f"{cached[1]}.{micro:06d}Z"


#: The exact form ``format_utc`` writes, for years 1000-9999 and days 01-28 (valid in every month):
#: such a string is a valid timestamp that normalizes to itself. Anything else takes the full
#: parse, so an impossible date is still refused.
_CANONICAL_AT = re.compile(
    r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z",
    re.ASCII,
)

#: (unix second, its formatted prefix) of the last ``utc_now`` call.
_SECOND: tuple[int, str] = (-1, "")


def format_utc(value: dt.datetime) -> str:
    """Normalize an aware datetime to the ledger's UTC string form."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone (UTC)")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(value: str) -> dt.datetime:
    """Parse a ledger timestamp back into an aware UTC datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


class _Entry(BaseModel):
    """Common base: frozen, no unknown fields, a normalized UTC ``at``."""

    model_config = _FROZEN

    at: str = Field(default_factory=utc_now)

    @field_validator("at", mode="before")
    @classmethod
    def _normalize_at(cls, value: Any) -> str:
        if isinstance(value, dt.datetime):
            return format_utc(value)
        if type(value) is str and _CANONICAL_AT.fullmatch(value):
            return value  # already the ledger's form (every entry read back): no re-formatting
        if isinstance(value, str):
            try:
                return format_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError as exc:
                raise ValueError("at: not an ISO 8601 UTC timestamp") from exc
        raise ValueError("at: not a timestamp")

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON types, ready for RFC 8785 canonicalization."""
        return self.model_dump(mode="json")

    @property
    def when(self) -> dt.datetime:
        """``at`` as an aware datetime."""
        return parse_utc(self.at)


class Party(BaseModel):
    """Who asked: a requester as recorded (an agency, a researcher; never a patient's identity)."""

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=64)
    jurisdiction: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=500)


class Recipient(BaseModel):
    """Who received a disclosure: name and, if known, address (164.528(b)(2)(ii))."""

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)


class ReasonRef(BaseModel):
    """One rule that decided: policy id, legal citation, plain-language reason."""

    model_config = _FROZEN

    policy: str
    citation: str
    text: str


class LegalBasisRef(BaseModel):
    """The legal basis a release was made on."""

    model_config = _FROZEN

    instrument: str
    citation: str = ""


class Budget(BaseModel):
    """A privacy budget amount: pure-DP epsilon and/or zCDP rho."""

    model_config = _FROZEN

    epsilon: float | None = Field(default=None, ge=0)
    rho: float | None = Field(default=None, ge=0)


class RequestReceived(_Entry):
    """A record request arrived (before any decision)."""

    kind: Literal["request-received"] = "request-received"
    request_id: str = Field(min_length=1, max_length=200)
    requester: Party
    purpose: str
    instrument: str
    scope_kind: str
    elements: list[str] = Field(default_factory=list)
    patient: str | None = Field(default=None, min_length=16, max_length=128, pattern=r"^[0-9a-f]+$")
    request_digest: str = _DIGEST


class DecisionMade(_Entry):
    """The gateway (or a privacy officer, for ``review``) decided a request."""

    kind: Literal["decision-made"] = "decision-made"
    request_id: str = Field(min_length=1, max_length=200)
    decision: Literal["permit", "deny", "review"]
    reasons: list[ReasonRef] = Field(default_factory=list)
    released: list[str] = Field(default_factory=list)
    withheld: list[str] = Field(default_factory=list)
    obligations: list[str] = Field(default_factory=list)
    decided_by: str = Field(default="policy", min_length=1, max_length=200)
    note: str = Field(default="", max_length=2000)


class Released(_Entry):
    """Elements of one patient's record left the custodian (recorded by digest, never content)."""

    kind: Literal["released"] = "released"
    request_id: str = Field(min_length=1, max_length=200)
    patient: str = _PSEUDONYM
    recipient: Recipient
    elements: list[str]
    content_digest: str = _DIGEST
    purpose: str
    legal_basis: LegalBasisRef
    accountable: bool
    description: str = Field(default="", max_length=2000)


class ExtractMade(_Entry):
    """A bulk extract was de-identified and released, or refused."""

    kind: Literal["extract-made"] = "extract-made"
    extract_id: str = Field(min_length=1, max_length=200)
    recipient: str = Field(min_length=1, max_length=200)
    profile: str
    spec_hash: str = _DIGEST
    input_digest: str = _DIGEST
    output_digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    rows_in: int = Field(ge=0)
    rows_out: int = Field(ge=0)
    risk_before: float = Field(ge=0, le=1)
    risk_after: float | None = Field(default=None, ge=0, le=1)
    threshold: float = Field(ge=0, le=1)
    outcome: Literal["released", "refused"]
    reason: str = Field(default="", max_length=2000)


class AggregateAnswered(_Entry):
    """A differentially private aggregate was answered from a template."""

    kind: Literal["aggregate-answered"] = "aggregate-answered"
    request_id: str = Field(min_length=1, max_length=200)
    requester: Party
    template: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    mechanism: str
    budget_spent: Budget
    budget_remaining: Budget
    output_digest: str = _DIGEST
    cells_released: int = Field(ge=0)
    cells_suppressed: int = Field(ge=0)


class AccountingSuspended(_Entry):
    """An agency asked to suspend a patient's accounting (164.528(a)(2)); dates inclusive."""

    kind: Literal["accounting-suspended"] = "accounting-suspended"
    patient: str = _PSEUDONYM
    agency: str = Field(min_length=1, max_length=200)
    form: Literal["written", "oral"]
    start: dt.date
    end: dt.date
    statement_ref: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _check_period(self) -> AccountingSuspended:
        if self.end < self.start:
            raise ValueError("end: before start")
        if self.form == "oral" and (self.end - self.start).days > ORAL_SUSPENSION_DAYS:
            raise ValueError(f"end: an oral suspension lasts at most {ORAL_SUSPENSION_DAYS} days")
        return self


class AccountingRequested(_Entry):
    """A patient asked for an accounting; it is due in 60 days (+30 once, with a reason)."""

    kind: Literal["accounting-requested"] = "accounting-requested"
    accounting_id: str = Field(min_length=1, max_length=200)
    patient: str = _PSEUDONYM
    requested_at: dt.date
    due: dt.date
    extended_due: dt.date | None = None
    extension_reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _check_deadlines(self) -> AccountingRequested:
        if (
            self.due - self.requested_at
        ).days > ACCOUNTING_DUE_DAYS or self.due < self.requested_at:
            raise ValueError(f"due: must be within {ACCOUNTING_DUE_DAYS} days of the request")
        if self.extended_due is not None:
            if not self.extension_reason:
                raise ValueError("extension_reason: an extension needs a written reason")
            days = (self.extended_due - self.due).days
            if not 0 < days <= ACCOUNTING_EXTENSION_DAYS:
                raise ValueError(
                    f"extended_due: at most {ACCOUNTING_EXTENSION_DAYS} days after due"
                )
        return self


class AccountingProvided(_Entry):
    """An accounting request was answered (closes an ``AccountingRequested``)."""

    kind: Literal["accounting-provided"] = "accounting-provided"
    accounting_id: str = Field(min_length=1, max_length=200)
    patient: str = _PSEUDONYM
    content_digest: str = _DIGEST


class KeyRotated(_Entry):
    """A signing or pseudonym key was rotated; recorded by fingerprint, never the key."""

    kind: Literal["key-rotated"] = "key-rotated"
    key_kind: Literal["signing", "pseudonym"]
    key_id: str = Field(min_length=1, max_length=200)


LedgerEntry = Annotated[
    RequestReceived
    | DecisionMade
    | Released
    | ExtractMade
    | AggregateAnswered
    | AccountingSuspended
    | AccountingRequested
    | AccountingProvided
    | KeyRotated,
    Field(discriminator="kind"),
]

ENTRY_ADAPTER: TypeAdapter[LedgerEntry] = TypeAdapter(LedgerEntry)

#: Fields of an entry that hold a patient pseudonym (indexed by the store for the accounting).
PATIENT_FIELD = "patient"


def parse_entry(data: dict[str, Any]) -> LedgerEntry:
    """Validate a JSON dict (as read back from the ledger) into its typed entry."""
    return ENTRY_ADAPTER.validate_python(data)
