"""Typed aggregate queries and their differentially private answers.

An :class:`AggregateQuery` names a fixed template (never free-form SQL), the dimensions to break the
count down by (one geography, one period, at most one extra breakdown), the date range and the
privacy parameters. It is checked before any data is touched: an unknown template, dimension or
parameter is an :class:`~healthwall.errors.InvalidInput` naming the field.

An :class:`AggregateResult` carries every released cell with its confidence interval and states the
mechanism, its scale, the privacy loss (epsilon or rho, and delta), the sensitivity, the
contribution bound and the thresholds, so a reader can check the claim.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from healthwall.errors import InvalidInput


class Template(StrEnum):
    """The fixed query templates (what is counted)."""

    PATIENTS = "patients"  # distinct patients with at least one claim line in the cell
    DIAGNOSED = "diagnosed"  # distinct patients with a claim coded in one ICD-10 chapter


class Geography(StrEnum):
    ZIP3 = "zip3"
    COUNTY = "county"
    STATE = "state"


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Breakdown(StrEnum):
    """Optional third dimension."""

    CHAPTER = "dx_chapter"  # ICD-10 chapter of the first diagnosis
    BLOCK = "dx_block"  # ICD-10-CM block of the first diagnosis (A00-A09, ...)
    AGE_BAND = "age_band"  # age at the date of service
    SEX = "sex"


class Mechanism(StrEnum):
    LAPLACE = "laplace"  # discrete Laplace, pure epsilon-DP
    GAUSSIAN = "gaussian"  # discrete Gaussian, rho-zCDP


class BudgetMeasure(StrEnum):
    EPSILON = "epsilon"  # (epsilon, delta)-DP, basic composition
    RHO = "rho"  # zero-concentrated DP (plus delta for threshold selection)


DIMENSION_NAMES: tuple[str, ...] = (
    *(g.value for g in Geography),
    *(p.value for p in Period),
    *(b.value for b in Breakdown),
)


class AggregateQuery(BaseModel):
    """One aggregate request, validated at construction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: Template
    by: tuple[str, ...] = Field(min_length=2, max_length=3)
    date_from: date
    date_to: date
    epsilon: float | None = Field(default=None, gt=0, le=10)
    rho: float | None = Field(default=None, gt=0, le=10)
    max_contributions: int = Field(default=4, ge=1, le=36)
    chapter: str | None = Field(default=None, pattern=r"^(0[1-9]|1[0-9]|2[0-2])$")
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    suppress_below: int = Field(default=11, ge=0, le=1000)
    delta: float = Field(default=1e-7, gt=0, lt=1e-3)

    @model_validator(mode="after")
    def _consistent(self) -> AggregateQuery:
        if (self.epsilon is None) == (self.rho is None):
            raise ValueError("give exactly one of epsilon (Laplace) or rho (Gaussian)")
        if self.date_to < self.date_from:
            raise ValueError("date_to is before date_from")
        if (self.date_to - self.date_from).days > 366 * 10:
            raise ValueError("the date range is longer than ten years")
        if self.template is Template.DIAGNOSED and self.chapter is None:
            raise ValueError("template 'diagnosed' needs chapter (01..22)")
        if self.template is not Template.DIAGNOSED and self.chapter is not None:
            raise ValueError("chapter applies only to template 'diagnosed'")
        return self

    @field_validator("by")
    @classmethod
    def _check_by(cls, by: tuple[str, ...]) -> tuple[str, ...]:
        _split(by)
        return by

    def _split_by(self) -> tuple[Geography, Period, Breakdown | None]:
        return _split(self.by)

    @property
    def geography(self) -> Geography:
        return self._split_by()[0]

    @property
    def period(self) -> Period:
        return self._split_by()[1]

    @property
    def breakdown(self) -> Breakdown | None:
        return self._split_by()[2]

    @property
    def mechanism(self) -> Mechanism:
        return Mechanism.LAPLACE if self.epsilon is not None else Mechanism.GAUSSIAN

    def dimensions(self) -> list[str]:
        """The key columns of the result, in order: geography, period, breakdown."""
        dims = [self.geography.value, self.period.value]
        if self.breakdown is not None:
            dims.append(self.breakdown.value)
        return dims

    @classmethod
    def parse(cls, raw: Any) -> AggregateQuery:
        """Validate ``raw``; every problem is reported at once, each naming its field."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors()
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or 'query'}: {e['msg']}" for e in errors
            ]
            field = ".".join(str(p) for p in errors[0]["loc"]) or None
            raise InvalidInput(
                "aggregate query is invalid: " + "; ".join(problems), field=field
            ) from None


def _split(by: tuple[str, ...]) -> tuple[Geography, Period, Breakdown | None]:
    """One geography, one period, at most one breakdown; unknown names are errors."""
    unknown = [d for d in by if d not in DIMENSION_NAMES]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; known: {list(DIMENSION_NAMES)}")
    if len(set(by)) != len(by):
        raise ValueError("a dimension is repeated")
    geos = [Geography(d) for d in by if d in Geography.__members__.values()]
    periods = [Period(d) for d in by if d in Period.__members__.values()]
    extras = [Breakdown(d) for d in by if d in Breakdown.__members__.values()]
    if len(geos) != 1 or len(periods) != 1 or len(extras) > 1:
        raise ValueError("by needs one geography, one period and at most one breakdown")
    return geos[0], periods[0], (extras[0] if extras else None)


class Cell(BaseModel):
    """One released cell: its keys, the noisy count (or suppressed) and its confidence interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: dict[str, str]
    count: int | None  # None when suppressed
    suppressed: bool
    ci_low: int | None
    ci_high: int | None


class MechanismInfo(BaseModel):
    """What was done, with the numbers needed to check the privacy claim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mechanism: Mechanism
    measure: BudgetMeasure  # the unit the cost was charged in
    scale: float  # noise scale (Laplace b, or Gaussian sigma)
    epsilon: float | None  # loss in epsilon (Laplace, or converted at delta)
    rho: float | None  # loss in rho (Gaussian)
    delta: float  # 0 for pure DP on a public key set
    sensitivity_l1: float
    sensitivity_l2: float
    contribution_bound: int  # at most this many cells per patient
    key_set: str  # "public" (all keys released) or "selected" (threshold partition selection)
    selection_threshold: int | None  # noisy-count threshold of partition selection
    suppression_threshold: int  # released counts below it are shown as suppressed
    alpha: float  # the confidence intervals cover the true count with probability 1 - alpha
    ci_half_width: int
    noise_source: str = "opendp"


class BudgetState(BaseModel):
    """A requester's budget for one period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requester_id: str
    period: str
    measure: BudgetMeasure
    total: float
    spent: float
    delta_total: float
    delta_spent: float

    @property
    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)


class AggregateResult(BaseModel):
    """The differentially private answer to one aggregate query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    query: AggregateQuery
    dimensions: list[str]
    mechanism: MechanismInfo
    cells: list[Cell]
    budget: BudgetState
    ledger_index: int | None = None
    decision_reasons: list[str] = Field(default_factory=list)
