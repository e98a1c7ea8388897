"""Typed objects of a de-identification run: treatments, counts, verification and the report.

A profile (Safe Harbor, limited data set, ...) turns each declared column into a
:class:`ColumnTreatment`: what is done to it and which rule of 45 CFR 164.514 requires it. The
:class:`DeidReport` records every treatment, the counts of values changed, the digests of what
went in and out and the verifier's verdict on the output. Nothing here carries a data value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

SAFE_HARBOR_CITATION = "45 CFR 164.514(b)(2)(i)"
LIMITED_DATA_SET_CITATION = "45 CFR 164.514(e)(2)"
RE_ID_CODE_CITATION = "45 CFR 164.514(c)"


class Treatment(StrEnum):
    """What happens to one column."""

    KEEP = "keep"  # released unchanged
    DROP = "drop"  # removed from the output
    PSEUDONYMIZE = "pseudonymize"  # keyed HMAC-SHA256 token per recipient
    ZIP3 = "zip3"  # first three digits; restricted or unknown prefixes -> 000
    ZIP5 = "zip5"  # five-digit ZIP kept (limited data set), normalized
    YEAR = "year"  # date -> year
    BIRTH_YEAR = "birth-year"  # date -> year, NULL when the year reveals an age over 89
    AGE_90 = "age-90"  # ages over 89 -> "90+"
    DATE_SHIFT = "date-shift"  # per-patient keyed shift within +-N days (limited data set)
    GENERALIZE = "generalize"  # expert profile: generalized to the searched level (or kept)


class ColumnTreatment(BaseModel):
    """One column's treatment and the reason for it."""

    model_config = ConfigDict(frozen=True)

    column: str
    role: str
    kind: str | None
    treatment: Treatment
    rule: str  # e.g. "(B)" for Safe Harbor letter B, or "-" when no rule applies
    citation: str
    reason: str


class ColumnCounts(BaseModel):
    """How many values of one column the treatment changed, counted over the input it came
    from (claim columns per claim line, patient columns per patient record)."""

    model_config = ConfigDict(frozen=True)

    column: str
    counted_over: str  # the input (file or store table) whose rows were counted
    non_null_in: int
    transformed: int  # non-null values replaced by another value (year, token, ZIP3, 90+)
    nulled: int  # non-null values that became NULL (age-revealing birth years, unparseable)
    suppressed: int  # values replaced by a suppression code (ZIP3 000)
    dropped: int  # non-null values removed with their column


class Finding(BaseModel):
    """A surviving identifier found by the verifier: a column and a rule, never a value."""

    model_config = ConfigDict(frozen=True)

    column: str
    rule: str  # e.g. "ssn", "zip5", "full-date", "age-over-89"
    letter: str  # Safe Harbor letter the rule enforces
    count: int  # number of offending values


class VerificationResult(BaseModel):
    """The verifier's verdict on one file."""

    model_config = ConfigDict(frozen=True)

    ruleset: str  # "safe-harbor" or "limited-data-set"
    passed: bool
    rows: int
    columns_checked: int
    reference_date: str
    zip_table: str
    findings: list[Finding]


class DeidReport(BaseModel):
    """Everything a privacy officer needs to see what an extract run did, and to check it."""

    model_config = ConfigDict(frozen=True)

    healthwall_version: str
    generated_at: str
    profile: str
    citation: str
    input: str
    inputs: list[str]  # every input read: the main one, then the joined patients, if any
    input_rows: list[int]  # rows of each input, in the same order
    output: str
    output_format: str
    recipient: str | None
    pseudonym_scheme: str | None
    date_shift_days: int | None
    reference_date: str  # ages are computed at this date
    zip_table: str
    zip_table_sha256: str
    restricted_zip3: list[str]
    rows_in: int
    rows_out: int
    input_sha256: list[str]
    output_sha256: str
    spec_sha256: str
    columns: list[ColumnTreatment]
    counts: list[ColumnCounts]
    verification: VerificationResult
    # expert profile only: threshold, chosen levels, risk before/after, suppression, method
    expert: dict[str, Any] | None = None
