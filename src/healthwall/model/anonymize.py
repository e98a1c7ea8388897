"""Typed privacy models and the anonymization spec, checked before any data is touched.

An :class:`AnonymizeSpec` names the quasi-identifiers, the optional sensitive attribute, the
privacy models (k-anonymity, l-diversity, t-closeness, prosecutor-risk thresholds, k-map), the
record suppression limit and the utility metric. :meth:`AnonymizeSpec.build` validates every
parameter at once and reports *all* problems in one :class:`InvalidInput` (STYLE.md #4), after
opendp's ``Measurement.check`` and splink's ``ErrorLogger``.

The textual forms used by the CLI are parsed here too (``distinct:3``, ``entropy:2``,
``recursive:3,2``; ``0.2``, ``0.2:hierarchical``; ``zip3`` / ``zip3:zip``), so the service and the
CLI accept exactly the same grammar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from healthwall.errors import InvalidInput


class LVariant(StrEnum):
    DISTINCT = "distinct"
    ENTROPY = "entropy"
    RECURSIVE = "recursive"


class TMeasure(StrEnum):
    EQUAL = "equal"  # equal ground distance between categories
    HIERARCHICAL = "hierarchical"  # ground distance = height of the lowest common ancestor
    ORDERED = "ordered"  # numeric/ordered values: distance by rank


class UtilityMetric(StrEnum):
    ENTROPY = "entropy"  # ARX precomputed, monotonic non-uniform entropy
    LOSS = "loss"
    DISCERNIBILITY = "discernibility"
    AECS = "aecs"
    PRECISION = "precision"
    HEIGHT = "height"


@dataclass(frozen=True)
class LDiversity:
    """l-diversity of the sensitive attribute in every equivalence class."""

    variant: LVariant
    l: float  # noqa: E741 -- the literature's name
    c: float | None = None  # recursive-(c,l) only


@dataclass(frozen=True)
class TCloseness:
    """t-closeness: distance between each class's and the whole data's sensitive distribution."""

    t: float
    measure: TMeasure = TMeasure.EQUAL


@dataclass(frozen=True)
class KMap:
    """k-map: each class must match at least ``k`` people of the population (ZIP3 table)."""

    k: int
    population: str = "zip3"
    column: str = "zip"


@dataclass(frozen=True)
class AnonymizeSpec:
    """Everything the search needs to know; build it with :meth:`build` to get validation."""

    qi: tuple[str, ...]
    sensitive: str | None = None
    k: int | None = None
    l_diversity: LDiversity | None = None
    t_closeness: TCloseness | None = None
    max_risk: float | None = None
    avg_risk: float | None = None
    k_map: KMap | None = None
    suppression: float = 0.0
    metric: UtilityMetric = UtilityMetric.ENTROPY
    gs_factor: float = 0.5
    local_recoding: bool = False

    @property
    def has_privacy_model(self) -> bool:
        models = (self.k, self.l_diversity, self.t_closeness, self.max_risk, self.avg_risk)
        return any(m is not None for m in models) or self.k_map is not None

    @classmethod
    def build(
        cls,
        *,
        qi: list[str] | tuple[str, ...],
        sensitive: str | None = None,
        k: int | None = None,
        l_diversity: str | LDiversity | None = None,
        t_closeness: str | TCloseness | None = None,
        max_risk: float | None = None,
        avg_risk: float | None = None,
        k_map: int | None = None,
        population: str | None = None,
        suppression: float = 0.0,
        metric: str = "entropy",
        gs_factor: float = 0.5,
        local_recoding: bool = False,
    ) -> AnonymizeSpec:
        """Validate every parameter, collecting all problems into one error."""
        errors: list[str] = []
        qis = _check_qi(qi, sensitive, errors)
        ld = _parse_l(l_diversity, errors) if isinstance(l_diversity, str) else l_diversity
        tc = _parse_t(t_closeness, errors) if isinstance(t_closeness, str) else t_closeness
        _check_numbers(k, max_risk, avg_risk, suppression, gs_factor, errors)
        if (ld is not None or tc is not None) and not sensitive:
            errors.append("l-diversity and t-closeness need --sensitive")
        km = _parse_kmap(k_map, population, qis, errors)
        chosen = _parse_metric(metric, errors)
        if local_recoding and (km is not None or avg_risk is not None):
            errors.append(
                "local recoding: not available with k-map or avg-risk (models of the whole"
            )
            errors[-1] += " release that a per-pass check cannot guarantee)"
        spec_models = (k, ld, tc, max_risk, avg_risk, km)
        if all(m is None for m in spec_models):
            errors.append("give at least one privacy model (k, l-diversity, t-closeness, risk)")
        if errors:
            raise InvalidInput("anonymization spec is invalid: " + "; ".join(errors))
        return cls(
            qi=tuple(qis),
            sensitive=sensitive or None,
            k=k,
            l_diversity=ld,
            t_closeness=tc,
            max_risk=max_risk,
            avg_risk=avg_risk,
            k_map=km,
            suppression=suppression,
            metric=chosen or UtilityMetric.ENTROPY,
            gs_factor=gs_factor,
            local_recoding=local_recoding,
        )


def _check_qi(
    qi: list[str] | tuple[str, ...], sensitive: str | None, errors: list[str]
) -> list[str]:
    names = [q.strip() for q in qi if q.strip()]
    if not names:
        errors.append("qi: give at least one quasi-identifier")
    if len(set(names)) != len(names):
        errors.append("qi: a quasi-identifier is listed twice")
    if sensitive and sensitive in names:
        errors.append(f"sensitive: column {sensitive} is also a quasi-identifier")
    return names


def _check_numbers(
    k: int | None,
    max_risk: float | None,
    avg_risk: float | None,
    suppression: float,
    gs_factor: float,
    errors: list[str],
) -> None:
    if k is not None and k < 1:
        errors.append("k: must be at least 1")
    for name, value in (("max-risk", max_risk), ("avg-risk", avg_risk)):
        if value is not None and not (0.0 < value <= 1.0):
            errors.append(f"{name}: must be in (0, 1]")
    if not (0.0 <= suppression <= 1.0) or math.isnan(suppression):
        errors.append("suppression: must be in [0, 1]")
    if not (0.0 <= gs_factor <= 1.0):
        errors.append("gs-factor: must be in [0, 1]")


def _parse_l(text: str, errors: list[str]) -> LDiversity | None:
    variant, _, params = text.partition(":")
    try:
        kind = LVariant(variant.strip().lower())
    except ValueError:
        errors.append("l-diversity: variant must be distinct, entropy or recursive")
        return None
    parts = [p for p in params.split(",") if p.strip()]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        errors.append("l-diversity: parameters must be numbers")
        return None
    if kind is LVariant.RECURSIVE:
        if len(nums) != 2:
            errors.append("l-diversity: recursive needs c,l (e.g. recursive:3,2)")
            return None
        c, ell = nums
        if c <= 0 or ell < 2 or ell != int(ell):
            errors.append("l-diversity: recursive needs c > 0 and an integer l >= 2")
            return None
        return LDiversity(kind, ell, c)
    if len(nums) != 1 or nums[0] < 1 or (kind is LVariant.DISTINCT and nums[0] != int(nums[0])):
        errors.append(f"l-diversity: {kind.value} needs one l >= 1 (integer for distinct)")
        return None
    return LDiversity(kind, nums[0])


def _parse_t(text: str, errors: list[str]) -> TCloseness | None:
    value, _, measure = text.partition(":")
    try:
        t = float(value)
    except ValueError:
        errors.append("t-closeness: threshold must be a number")
        return None
    if not (0.0 <= t <= 1.0):
        errors.append("t-closeness: threshold must be in [0, 1]")
        return None
    try:
        kind = TMeasure(measure.strip().lower() or "equal")
    except ValueError:
        errors.append("t-closeness: measure must be equal, hierarchical or ordered")
        return None
    return TCloseness(t, kind)


def _parse_kmap(
    k_map: int | None, population: str | None, qis: list[str], errors: list[str]
) -> KMap | None:
    if k_map is None:
        if population:
            errors.append("population: only used with --k-map")
        return None
    if k_map < 1:
        errors.append("k-map: must be at least 1")
        return None
    table, _, column = (population or "zip3").partition(":")
    if table != "zip3":
        errors.append("population: the only population table is zip3")
        return None
    column = column or "zip"
    if column not in qis:
        errors.append(f"population: column {column} must be a quasi-identifier")
        return None
    return KMap(k_map, table, column)


def _parse_metric(metric: str, errors: list[str]) -> UtilityMetric | None:
    try:
        return UtilityMetric(metric.strip().lower())
    except ValueError:
        names = ", ".join(m.value for m in UtilityMetric)
        errors.append(f"metric: must be one of {names}")
        return None
