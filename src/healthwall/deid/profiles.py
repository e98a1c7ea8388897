"""The profile registry: a profile turns declared columns into treatments.

Adding a profile is one entry in :data:`PROFILES` (a planner function and its citation); the
compiler (:mod:`healthwall.deid.sql`), the verifier ruleset and the report need nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from healthwall.errors import ConfigError
from healthwall.model.dataset import ColumnSpec, DatasetSpec
from healthwall.model.deid import ColumnTreatment, Treatment


@dataclass(frozen=True)
class PlanOptions:
    """What a planner may rely on besides the spec."""

    keyed: bool  # a pseudonym key (and recipient) was given
    date_shift_days: int | None = None  # limited data set only


Planner = Callable[[str, ColumnSpec, PlanOptions], ColumnTreatment]


@dataclass(frozen=True)
class Profile:
    """A named de-identification profile."""

    name: str
    citation: str
    planner: Planner
    ruleset: str  # the verifier's ruleset for its output
    allows_date_shift: bool = False


def column_treatment(
    name: str, col: ColumnSpec, treatment: Treatment, rule: str, why: str, *, base_citation: str
) -> ColumnTreatment:
    """A planner's answer for one column; ``rule`` "-" means no sub-paragraph is cited."""
    citation = base_citation + (f"({rule.strip('()')})" if rule != "-" else "")
    return ColumnTreatment(
        column=name,
        role=col.role.value,
        kind=col.kind.value if col.kind else None,
        treatment=treatment,
        rule=rule,
        citation=citation,
        reason=why,
    )


def plan(
    profile: Profile, columns: list[str], spec: DatasetSpec, options: PlanOptions
) -> list[ColumnTreatment]:
    """Every input column's treatment under ``profile`` (columns must all be declared)."""
    if options.date_shift_days is not None and not profile.allows_date_shift:
        raise ConfigError(f"profile {profile.name} does not shift dates", field="date_shift_days")
    return [profile.planner(name, spec.columns[name], options) for name in columns]


def _registry() -> dict[str, Profile]:
    from healthwall.deid import limited_data_set, safe_harbor

    return {
        "safe-harbor": safe_harbor.PROFILE,
        "limited-data-set": limited_data_set.PROFILE,
    }


def get_profile(name: str) -> Profile:
    """The profile called ``name``; unknown names are a configuration error."""
    profiles = _registry()
    if name not in profiles:
        known = ", ".join(sorted(profiles))
        raise ConfigError(f"profile {name!r} is unknown (known: {known})", field="profile")
    return profiles[name]


def profile_names() -> list[str]:
    return sorted(_registry())
