"""Released cells: non-negativity, suppression, and confidence intervals that cover.

Coverage is a statistical test: over N independent cells the fraction whose interval contains the
true count should be at least 1 - alpha. OpenDP's accuracy is conservative for discrete noise (the
floor of the accuracy keeps coverage), so the check is one-sided with a generous tolerance of 4
standard errors of a binomial proportion; it fails with probability well under 1e-4 when the
intervals are right, and it fails reliably if they are ~20% too narrow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.dp import accuracy, mechanisms, postprocess
from healthwall.model.aggregate import Mechanism

N = 20_000


def _coverage(mechanism: Mechanism, loss: float, c: int, alpha: float, public: bool) -> float:
    plan = mechanisms.plan(
        mechanism, loss=loss, contributions=c, public_keys=public, delta=1e-7, min_threshold=0
    )
    true = np.arange(N, dtype=np.int64) % 500 + 1000  # far above any threshold: all released
    if public:
        noisy = np.asarray(mechanisms.release_public(plan, true.tolist()), dtype=np.int64)
    else:
        out = mechanisms.release_selected(plan, {str(i): int(v) for i, v in enumerate(true)})
        assert len(out) == N
        noisy = np.asarray([out[str(i)] for i in range(N)], dtype=np.int64)
    h = accuracy.half_width(mechanism, plan.scale, alpha, lattice=not public)
    return float(np.mean(np.abs(noisy - true) <= h))


@pytest.mark.parametrize(
    ("mechanism", "loss", "c", "public"),
    [
        (Mechanism.LAPLACE, 0.5, 4, True),
        (Mechanism.GAUSSIAN, 0.1, 3, True),
        (Mechanism.LAPLACE, 1.0, 2, False),
        (Mechanism.GAUSSIAN, 0.5, 5, False),
    ],
)
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_intervals_cover_the_true_count(
    mechanism: Mechanism, loss: float, c: int, public: bool, alpha: float
) -> None:
    tolerance = 4 * math.sqrt(alpha * (1 - alpha) / N)
    covered = _coverage(mechanism, loss, c, alpha, public)
    assert covered >= 1 - alpha - tolerance
    assert covered <= 1 - alpha / 4  # and the interval is not uselessly wide


def test_half_width_matches_opendp_accuracy() -> None:
    import opendp.prelude as dp

    lap = dp.discrete_laplacian_scale_to_accuracy(8.0, 0.05)
    assert accuracy.half_width(Mechanism.LAPLACE, 8.0, 0.05, lattice=True) == math.ceil(lap) - 1
    gau = dp.discrete_gaussian_scale_to_accuracy(2.0, 0.2)
    assert gau == 4.0  # integer accuracy: P(|X| >= 4) = 0.2, so |X| <= 3 covers 80%
    assert accuracy.half_width(Mechanism.GAUSSIAN, 2.0, 0.2, lattice=True) == 3
    assert accuracy.half_width(Mechanism.GAUSSIAN, 3.0, 0.05, lattice=False) == math.ceil(
        dp.gaussian_scale_to_accuracy(3.0, 0.05)
    )


@settings(max_examples=50, deadline=None)
@given(
    noisy=st.lists(st.integers(-100, 100), min_size=1, max_size=40),
    threshold=st.integers(0, 30),
    h=st.integers(0, 20),
)
def test_postprocess_nonnegative_suppressed_and_clipped(
    noisy: list[int], threshold: int, h: int
) -> None:
    keys = [(str(i), "2025") for i in range(len(noisy))]
    cells = postprocess.cells(
        ["zip3", "year"],
        keys,
        np.asarray(noisy, dtype=np.int64),
        suppress_below=threshold,
        half_width=h,
    )
    for cell, value in zip(cells, noisy, strict=True):
        shown = max(value, 0)
        if shown < threshold:
            assert cell.suppressed and cell.count is None and cell.ci_low is None
        else:
            assert not cell.suppressed and cell.count == shown >= 0
            assert cell.ci_low == max(shown - h, 0) and cell.ci_high == shown + h


def test_empty_cells_are_noised_like_full_ones() -> None:
    """Zeros filled before noise: an all-zero public vector comes back noisy, not all zero."""
    plan = mechanisms.plan(
        Mechanism.LAPLACE, loss=0.5, contributions=1, public_keys=True, delta=1e-7, min_threshold=0
    )
    noisy = mechanisms.release_public(plan, [0] * 1000)
    assert len(noisy) == 1000 and sum(1 for v in noisy if v != 0) > 500
