"""Privacy accounting checked exactly, as OpenDP's own tests do: ``measurement.map(d_in)``.

For a contribution bound C: Laplace on a public key set has L1 sensitivity C and epsilon = C / b;
the Gaussian has L2 sensitivity sqrt(C) and rho = C / (2 sigma^2); threshold selection is charged
(epsilon or rho, delta) with delta within the requested bound.
"""

from __future__ import annotations

import math

import opendp.prelude as dp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.dp import mechanisms
from healthwall.errors import InvalidInput
from healthwall.model.aggregate import BudgetMeasure, Mechanism

contributions = st.integers(min_value=1, max_value=36)
losses = st.floats(min_value=0.01, max_value=5.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(c=contributions, eps=losses)
def test_laplace_public_epsilon_is_c_over_scale(c: int, eps: float) -> None:
    plan = mechanisms.plan(
        Mechanism.LAPLACE, loss=eps, contributions=c, public_keys=True, delta=1e-7, min_threshold=0
    )
    assert plan.d_in == c
    assert plan.map() == pytest.approx(c / plan.scale, rel=1e-12)
    assert plan.map() <= eps  # never more than asked
    assert plan.map() == pytest.approx(eps, rel=1e-9)  # and not wastefully less
    assert mechanisms.cost(plan, BudgetMeasure.EPSILON, delta=1e-7) == (plan.map(), 0.0)
    rho, delta = mechanisms.cost(plan, BudgetMeasure.RHO, delta=1e-7)
    assert rho == pytest.approx(plan.map() ** 2 / 2, rel=1e-9) and delta == 0.0


@settings(max_examples=40, deadline=None)
@given(c=contributions, rho=losses)
def test_gaussian_public_rho_is_c_over_two_sigma_squared(c: int, rho: float) -> None:
    plan = mechanisms.plan(
        Mechanism.GAUSSIAN, loss=rho, contributions=c, public_keys=True, delta=1e-7, min_threshold=0
    )
    assert isinstance(plan.d_in, float) and plan.d_in**2 >= c
    assert plan.d_in == pytest.approx(math.sqrt(c), rel=1e-15)
    assert plan.map() == pytest.approx(c / (2 * plan.scale**2), rel=1e-9)
    assert plan.map() <= rho
    assert plan.map() == pytest.approx(rho, rel=1e-9)


def test_gaussian_converted_to_epsilon_matches_opendp_profile() -> None:
    plan = mechanisms.plan(
        Mechanism.GAUSSIAN, loss=0.5, contributions=4, public_keys=True, delta=1e-7, min_threshold=0
    )
    eps, delta = mechanisms.cost(plan, BudgetMeasure.EPSILON, delta=1e-7)
    profile = dp.c.make_zCDP_to_approxDP(plan.measurement).map(2.0)
    assert delta == 1e-7
    assert eps == pytest.approx(profile.epsilon(1e-7), rel=1e-9)
    # the known bound for rho-zCDP: eps <= rho + 2 sqrt(rho ln(1/delta))
    assert eps <= 0.5 + 2 * math.sqrt(0.5 * math.log(1e7))


@pytest.mark.parametrize("mechanism", [Mechanism.LAPLACE, Mechanism.GAUSSIAN])
@pytest.mark.parametrize("c", [1, 3, 12])
def test_threshold_selection_loss_and_delta(mechanism: Mechanism, c: int) -> None:
    loss, target = 1.0, 1e-7
    plan = mechanisms.plan(
        mechanism, loss=loss, contributions=c, public_keys=False, delta=target, min_threshold=0
    )
    assert plan.d_in == (c, c, 1) and plan.threshold is not None
    value, delta = plan.map()
    expected = c / plan.scale if mechanism is Mechanism.LAPLACE else c / (2 * plan.scale**2)
    assert value == pytest.approx(expected, rel=1e-9) and value <= loss
    assert 0 < delta <= target
    # the threshold is the smallest meeting the delta target: one less misses it
    domain, metric = mechanisms._map_space(mechanism)
    make = (
        dp.m.make_laplace_threshold
        if mechanism is Mechanism.LAPLACE
        else dp.m.make_gaussian_threshold
    )
    lower = make(domain, metric, scale=plan.scale, threshold=plan.threshold - 1)
    assert lower.map(plan.d_in)[1] > target


def test_threshold_never_below_the_suppression_threshold() -> None:
    plan = mechanisms.plan(
        Mechanism.LAPLACE,
        loss=5.0,
        contributions=1,
        public_keys=False,
        delta=1e-3,
        min_threshold=500,
    )
    assert plan.threshold == 500


def test_laplace_selection_cannot_be_charged_to_rho_budget() -> None:
    plan = mechanisms.plan(
        Mechanism.LAPLACE, loss=1.0, contributions=2, public_keys=False, delta=1e-7, min_threshold=0
    )
    with pytest.raises(InvalidInput, match="rho budget"):
        mechanisms.cost(plan, BudgetMeasure.RHO, delta=1e-7)


def test_more_contributions_cost_more_noise() -> None:
    a = mechanisms.plan(
        Mechanism.LAPLACE, loss=1, contributions=1, public_keys=True, delta=1e-7, min_threshold=0
    )
    b = mechanisms.plan(
        Mechanism.LAPLACE, loss=1, contributions=8, public_keys=True, delta=1e-7, min_threshold=0
    )
    assert b.scale == pytest.approx(8 * a.scale)
