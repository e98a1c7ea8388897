"""Confidence intervals of released counts, from OpenDP's accuracy functions.

``half_width`` is the integer h such that the noise of one cell exceeds h in absolute value with
probability at most ``alpha``; the interval [count - h, count + h] (clipped at 0, since a true count
is never negative) then covers the true count with probability at least 1 - alpha per cell.
"""

from __future__ import annotations

import math

import opendp.prelude as dp

from healthwall.model.aggregate import Mechanism

dp.enable_features("contrib")


def half_width(mechanism: Mechanism, scale: float, alpha: float, *, lattice: bool) -> int:
    """Half-width of the (1 - alpha) interval for one cell.

    ``lattice`` is True when OpenDP sampled integer noise directly (discrete Laplace, discrete
    Gaussian on integers). OpenDP's accuracy ``a`` satisfies P(|noise| >= a) = alpha; the noise
    is an integer, so |noise| <= ceil(a) - 1 with probability 1 - alpha. False for the Gaussian
    on floats, rounded afterwards: the continuous accuracy is rounded up, which keeps coverage.
    """
    if mechanism is Mechanism.LAPLACE:
        return _below(float(dp.discrete_laplacian_scale_to_accuracy(scale, alpha)))
    if lattice:
        return _below(float(dp.discrete_gaussian_scale_to_accuracy(scale, alpha)))
    return math.ceil(float(dp.gaussian_scale_to_accuracy(scale, alpha)))


def _below(a: float) -> int:
    """The largest integer strictly below ``a`` (never negative)."""
    return max(0, math.ceil(a) - 1)
