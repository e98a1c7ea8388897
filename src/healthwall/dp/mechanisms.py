"""OpenDP measurements for bounded distinct-patient counts; OpenDP is the only source of noise.

Four measurements, chosen by the mechanism (Laplace for pure epsilon-DP, discrete Gaussian for
rho-zCDP) and by whether the key set is public:

* public keys, Laplace: ``make_laplace`` on a vector of integers, ``l1_distance``, d_in = C.
* public keys, Gaussian: ``make_gaussian`` on a vector of floats holding integer counts,
  ``l2_distance``, d_in = sqrt(C) (OpenDP's integer L2 metric cannot state sqrt(C) exactly; the
  float mechanism samples on OpenDP's finest lattice and is rounded afterwards, a post-processing).
* private keys: ``make_laplace_threshold`` / ``make_gaussian_threshold`` on a map of counts,
  ``l01inf``/``l02inf`` distance, d_in = (L0 = C, L1 = C, Linf = 1): threshold partition selection.

The privacy loss is never computed by hand: it is ``measurement.map(d_in)``, and the noise scale is
nudged up until the map is within the requested epsilon/rho.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp

from healthwall.errors import InvalidInput
from healthwall.model.aggregate import BudgetMeasure, Mechanism

dp.enable_features("contrib")

DInput = int | float | tuple[int, int, int]


@dataclass(frozen=True)
class Plan:
    """A measurement with the input distance it is accounted at."""

    measurement: Any  # opendp.mod.Measurement (untyped library)
    d_in: DInput
    mechanism: Mechanism
    scale: float
    threshold: int | None  # partition-selection threshold, None for public key sets

    def map(self) -> Any:
        """OpenDP's own privacy map at ``d_in``: epsilon, rho, or (epsilon|rho, delta)."""
        return self.measurement.map(self.d_in)


def l2_bound(contributions: int) -> float:
    """sqrt(C), rounded up to the next float whose square is at least C (never understated)."""
    bound = math.sqrt(contributions)
    while bound * bound < contributions:
        bound = math.nextafter(bound, math.inf)
    return bound


def _vector_laplace(scale: float) -> Any:
    space = dp.vector_domain(dp.atom_domain(T=dp.i64)), dp.l1_distance(T=dp.i64)
    return dp.m.make_laplace(*space, scale=scale)


def _vector_gaussian(scale: float) -> Any:
    space = dp.vector_domain(dp.atom_domain(T=dp.f64, nan=False)), dp.l2_distance(T=dp.f64)
    return dp.m.make_gaussian(*space, scale=scale)


def _map_space(mechanism: Mechanism) -> tuple[Any, Any]:
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=dp.i64))
    inner = dp.absolute_distance(T=dp.i64)
    metric = (
        dp.l01inf_distance(inner) if mechanism is Mechanism.LAPLACE else dp.l02inf_distance(inner)
    )
    return domain, metric


def _threshold(mechanism: Mechanism, scale: float, threshold: int) -> Any:
    make = (
        dp.m.make_laplace_threshold
        if mechanism is Mechanism.LAPLACE
        else dp.m.make_gaussian_threshold
    )
    return make(*_map_space(mechanism), scale=scale, threshold=threshold)


def _loss_of(value: Any) -> float:
    return float(value[0] if isinstance(value, tuple) else value)


def _fit_scale(build: Any, d_in: DInput, target: float, first: float) -> float:
    """Smallest scale >= ``first`` (by float steps) whose OpenDP loss is within ``target``."""
    scale = first
    for _ in range(64):
        if _loss_of(build(scale).map(d_in)) <= target:
            return scale
        scale = math.nextafter(scale, math.inf) * (1 + 1e-15)
    raise InvalidInput("cannot fit a noise scale to the requested privacy loss", field="epsilon")


def plan(
    mechanism: Mechanism,
    *,
    loss: float,
    contributions: int,
    public_keys: bool,
    delta: float,
    min_threshold: int,
) -> Plan:
    """Build the measurement whose loss is at most ``loss`` (epsilon or rho) at bound C."""
    if mechanism is Mechanism.LAPLACE:
        first = contributions / loss
    else:
        first = l2_bound(contributions) / math.sqrt(2 * loss)
    if public_keys:
        if mechanism is Mechanism.LAPLACE:
            d_in: DInput = contributions
            scale = _fit_scale(_vector_laplace, d_in, loss, first)
            return Plan(_vector_laplace(scale), d_in, mechanism, scale, None)
        d_in = l2_bound(contributions)
        scale = _fit_scale(_vector_gaussian, d_in, loss, first)
        return Plan(_vector_gaussian(scale), d_in, mechanism, scale, None)
    d_in = (contributions, contributions, 1)
    scale = _fit_scale(lambda s: _threshold(mechanism, s, 1_000_000_000), d_in, loss, first)
    threshold = _selection_threshold(mechanism, scale, d_in, delta)
    threshold = max(threshold, min_threshold)
    return Plan(_threshold(mechanism, scale, threshold), d_in, mechanism, scale, threshold)


def _selection_threshold(mechanism: Mechanism, scale: float, d_in: DInput, delta: float) -> int:
    """The smallest threshold whose selection delta (by OpenDP's map) is at most ``delta``."""

    def ok(threshold: float) -> bool:
        return float(_threshold(mechanism, scale, int(threshold)).map(d_in)[1]) <= delta

    return int(dp.binary_search(ok, bounds=(1, 2**30), T=int))


def cost(plan_: Plan, measure: BudgetMeasure, *, delta: float) -> tuple[float, float]:
    """The plan's privacy loss in the budget's unit, as (epsilon or rho, delta), by OpenDP's maps.

    An epsilon budget takes a Gaussian plan converted to (epsilon, delta) at ``delta`` with
    ``make_zCDP_to_approxDP`` + ``make_fix_delta``; a rho budget takes a Laplace plan converted
    with ``make_pureDP_to_zCDP`` (rho = epsilon^2 / 2). Laplace threshold selection has no
    conversion to zCDP in OpenDP, so it is not accepted against a rho budget.
    """
    m = plan_.measurement
    if measure is BudgetMeasure.EPSILON:
        if plan_.mechanism is Mechanism.GAUSSIAN:
            fixed = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(m), delta)
            eps, dlt = fixed.map(plan_.d_in)  # type: ignore[no-untyped-call]
            return float(eps), float(dlt)
        return _pair(m.map(plan_.d_in))
    if plan_.mechanism is Mechanism.LAPLACE:
        if plan_.threshold is not None:
            raise InvalidInput(
                "a Laplace request on a private key set cannot be charged to a rho budget;"
                " give rho instead",
                field="epsilon",
            )
        zcdp = dp.c.make_pureDP_to_zCDP(m)
        return float(zcdp.map(plan_.d_in)), 0.0  # type: ignore[no-untyped-call]
    return _pair(m.map(plan_.d_in))


def _pair(value: Any) -> tuple[float, float]:
    if isinstance(value, tuple):
        return float(value[0]), float(value[1])
    return float(value), 0.0


def release_public(plan_: Plan, exact: list[int]) -> list[int]:
    """Noisy counts for a dense vector over the public key set (zeros already filled in)."""
    if plan_.mechanism is Mechanism.LAPLACE:
        return [int(v) for v in plan_.measurement(exact)]
    noisy = plan_.measurement([float(v) for v in exact])
    return [round(v) for v in noisy]


def release_selected(plan_: Plan, exact: dict[str, int]) -> dict[str, int]:
    """Noisy counts of the keys that pass threshold selection (others are not released)."""
    return {str(k): int(v) for k, v in plan_.measurement(exact).items()}
