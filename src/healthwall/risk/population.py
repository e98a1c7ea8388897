"""Population uniqueness estimators: Pitman, Zayatz, SNB, and Dankar et al.'s decision rule.

How many records that are unique in the data (sample uniques) are also unique in the population
the data was drawn from? Each estimator reads only the class-size histogram, the sample size
``n`` and the population size ``N`` (sampling fraction ``p = n / N``); all follow ARX
(``RiskModelPopulationUniqueness``, ``ModelPitman``, ``ModelZayatz``, ``ModelSNB``):

- **Pitman** (Hoshino 2001): fit the two-parameter Poisson-Dirichlet (Pitman) partition model,
  ``theta`` and ``alpha``, by maximum likelihood to the class sizes; population uniques are
  ``Gamma(theta+1) / Gamma(theta+alpha) * N^alpha``.
- **Zayatz** (1991): the probability that a sample unique comes from a population unique, from
  hypergeometric draws of the sample out of the population, times ``uniques / p``.
- **SNB**, slide negative binomial (Chen and Keller-McNulty 1998): population class sizes minus
  one follow a negative binomial ``NB(alpha, beta)``, sampling is Bernoulli with ``p``; fit
  ``alpha, beta`` so the expected numbers of sample classes of size 1 and 2 match the data, with
  the number of non-empty population classes ``K`` from Haas et al.'s Shlosser estimator;
  population uniques are ``K * beta^alpha``.
- **Dankar et al. (2012)**: for ``p <= 0.1`` use Pitman (Zayatz if Pitman fails); otherwise the
  smaller of Zayatz and SNB (Zayatz if SNB fails).

Two slips in ARX's SNB code are corrected here (see docs/risk.md): the expected number of
doubletons divides by ``(1-d)^(alpha+2)`` (ARX multiplies) and the Shlosser denominator subtracts
``(1-p)^i f_i`` per size (ARX subtracts 1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy  # submodules load lazily, on first use: other commands do not pay for them

from healthwall.errors import InvalidInput
from healthwall.model.risk import ClassHistogram, PopulationUniqueness, UniquenessModel

FloatArray = npt.NDArray[np.float64]
Vector = Callable[[FloatArray], FloatArray]

ACCURACY = 1e-6  # ARX's default solver accuracy
MAX_EVALUATIONS = 400  # per start point
DANKAR_FRACTION = 0.1  # Dankar et al.: Pitman for small sampling fractions


def _valid(value: float, population: float, bound: float | None = None) -> float | None:
    """ARX's check (finite, positive, at most the population), then at most ``bound``.

    ``bound`` is ``c1 / p``: a population unique that is sampled is a sample unique, so in
    expectation there are at most ``c1 / p`` population uniques; larger estimates are clipped.
    """
    if not math.isfinite(value) or value <= 0.0 or value > population:
        return None
    return min(value, bound) if bound is not None else value


def _uniques_bound(hist: ClassHistogram, population: float) -> float:
    return hist.count_of_size(1) * population / hist.records


def _solve(
    func: Vector, jac: Vector | None, starts: list[tuple[float, float]]
) -> FloatArray | None:
    """First root of a 2-D system reached from any start point, or ``None``."""
    for start in starts:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                x0 = np.array(start, dtype=np.float64)
                sol = scipy.optimize.root(
                    func, x0, jac=jac, method="hybr", options={"maxfev": MAX_EVALUATIONS}
                )
                x = np.asarray(sol.x, dtype=np.float64)
                residual = func(x)
        except (ArithmeticError, ValueError):
            continue
        if np.all(np.isfinite(x)) and np.all(np.abs(residual) <= ACCURACY):
            return x
    return None


# --------------------------------------------------------------------------- Pitman


def _pitman_system(hist: ClassHistogram) -> tuple[Vector, Vector]:
    """Score equations of the Pitman model's likelihood and their Jacobian (closed forms)."""
    u = float(hist.classes)
    n = float(hist.records)
    big = hist.sizes > 1
    ks = hist.sizes[big].astype(np.float64)
    cs = hist.counts[big].astype(np.float64)
    um1 = u - 1.0

    def parts(x: FloatArray) -> tuple[float, ...]:
        t, a = float(x[0]), float(x[1])
        if not (0.0 < a < 1.0 and t > -a and math.isfinite(t)):
            raise ValueError("outside the Pitman model's parameter space")
        v1 = scipy.special.digamma(um1 + t / a + 1.0)
        v2 = _trigamma(um1 + t / a + 1.0)
        v3 = _trigamma(t / a + 1.0)
        v4 = scipy.special.digamma(t / a + 1.0)
        o4 = float(np.dot(cs, scipy.special.digamma(ks - a) - scipy.special.digamma(1.0 - a)))
        d4 = float(np.dot(cs, _trigamma(1.0 - a) - _trigamma(ks - a)))
        return t, a, v1, v2, v3, v4, o4, d4

    def func(x: FloatArray) -> FloatArray:
        t, a, v1, _, _, v4, o4, _ = parts(x)
        o1 = (v1 - v4) / a  # sum_{i<u} 1/(t + i a)
        o2 = scipy.special.digamma(n + t) - scipy.special.digamma(t + 1.0)  # sum_{i<n} 1/(t + i)
        o3 = (-t * v1 + a * um1 + t * v4) / (a * a)  # sum_{i<u} i/(t + i a)
        return np.array([o1 - o2, o3 - o4], dtype=np.float64)

    def jac(x: FloatArray) -> FloatArray:
        t, a, v1, v2, v3, v4, _, d4 = parts(x)
        a2 = a * a
        d1 = (v3 - v2) / a2
        d5 = (a * v1 + t * v2 - a * v4 - t * v3) / (a2 * a)
        d3 = (a2 * um1 - t * t * v2 + t * t * v3 - 2 * a * t * v1 + 2 * a * t * v4) / (a2 * a2)
        d2 = _trigamma(t + 1.0) - _trigamma(n + t)
        return np.array([[d2 - d1, -d5], [-d5, -d3 - d4]], dtype=np.float64)

    return func, jac


def _trigamma(x: npt.ArrayLike) -> Any:
    """psi'(x) = zeta(2, x) for x > 0."""
    return scipy.special.zeta(2.0, x)


def _pitman_start(hist: ClassHistogram) -> tuple[float, float]:
    """ARX's moment-based initial guess for (theta, alpha)."""
    c1 = float(hist.count_of_size(1))
    c2 = float(hist.count_of_size(2)) or 1.0
    u, n = float(hist.classes), float(hist.records)
    c = c1 * (c1 - 1.0) / c2
    den = 2.0 * c1 * u + c1 * c - n * c
    t = (n * u * c - c1 * (n - 1.0) * (2.0 * u + c)) / den if den else 1.0
    a = (t * (c1 - n) + (n - 1.0) * c1) / (n * u)
    return t, a


def pitman_uniques(hist: ClassHistogram, population_size: float) -> float | None:
    """Population uniques under the Pitman model, ``None`` when the fit fails."""
    if hist.count_of_size(1) == 0:
        return 0.0
    func, jac = _pitman_system(hist)
    t0, a0 = _pitman_start(hist)
    starts = [(t0, a0)] if math.isfinite(t0) and math.isfinite(a0) else []
    starts += [(t, a) for t in (1.0, 10.0, 100.0, 1000.0) for a in (0.5, 0.1, 0.9)]
    root = _solve(func, jac, starts)
    if root is None:
        return None
    t, a = float(root[0]), float(root[1])
    if t < 0.0 or not (0.0 < a < 1.0):
        return None
    log_value = float(
        scipy.special.gammaln(t + 1.0)
        - scipy.special.gammaln(t + a)
        + a * math.log(population_size)
    )
    if not math.isfinite(log_value) or log_value > math.log(population_size):
        return None  # more uniques than people: ARX's check, without overflowing exp
    return _valid(math.exp(log_value), population_size, _uniques_bound(hist, population_size))


# --------------------------------------------------------------------------- Zayatz


def zayatz_uniques(hist: ClassHistogram, population_size: float) -> float | None:
    """Population uniques under Zayatz's hypergeometric model."""
    c1 = hist.count_of_size(1)
    if c1 == 0:
        return 0.0
    n = hist.records
    big_n = max(int(population_size), n)  # ARX: an integer population
    p_one = _hypergeom_one(big_n, hist.sizes.astype(np.float64), n)
    total = float(np.dot(hist.counts, p_one))
    if total <= 0.0:
        return None
    conditional = c1 * float(_hypergeom_one(big_n, np.ones(1), n)[0]) / total
    return _valid(c1 * conditional / (n / population_size), population_size)


def _hypergeom_one(population: int, successes: FloatArray, draws: int) -> FloatArray:
    """P(exactly one success) drawing ``draws`` of ``population`` holding ``successes``."""
    big_n, k, n = float(population), successes, float(draws)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(k) + _log_choose(big_n - k, n - 1.0) - _log_choose(big_n, n)
    out = np.where(big_n - k >= n - 1.0, np.exp(log_p), 0.0)
    return np.asarray(out, dtype=np.float64)


def _log_choose(n: FloatArray | float, k: float) -> FloatArray:
    return np.asarray(
        scipy.special.gammaln(np.add(n, 1.0))
        - scipy.special.gammaln(k + 1.0)
        - scipy.special.gammaln(np.subtract(n, k) + 1.0),
        dtype=np.float64,
    )


# --------------------------------------------------------------------------- SNB


def shlosser_classes(hist: ClassHistogram, fraction: float) -> float:
    """Haas et al.'s (1995) Shlosser-type estimate of the number of non-empty population classes."""
    i = hist.sizes.astype(np.float64)
    fi = hist.counts.astype(np.float64)
    q = fraction
    u = float(hist.classes)
    if q >= 1.0:
        return u
    num1 = float(np.sum(i * q * q * (1.0 - q * q) ** (i - 1.0) * fi))
    den1 = float(np.sum(((1.0 - q * q) ** i - (1.0 - q) ** i) * fi))
    num2 = float(np.sum((1.0 - q) ** i * fi))
    den2 = float(np.sum(i * q * (1.0 - q) ** (i - 1.0) * fi))
    if den1 <= 0.0 or den2 <= 0.0:
        return u
    return u + hist.count_of_size(1) * (num1 / den1) * (num2 / den2) ** 2


def _snb_system(k: float, p: float, c1: float, c2: float) -> Vector:
    """Expected sample classes of size 1 and 2 minus the observed, relative to the observed."""

    def func(x: FloatArray) -> FloatArray:
        a, b = float(x[0]), float(x[1])
        if a <= 0.0 or not (0.0 < b <= 1.0):
            return np.array([np.nan, np.nan], dtype=np.float64)
        d = (1.0 - p) * (1.0 - b)
        e1 = k * p * (b / (1.0 - d)) ** a * (a * d / (1.0 - d) + 1.0)
        e2 = (
            k
            * a
            * b**a
            * p
            * p
            * (1.0 - b)
            * (2.0 - (1.0 - a) * d)
            / (2.0 * (1.0 - d) ** (a + 2.0))
        )
        return np.array([e1 / c1 - 1.0, e2 / c2 - 1.0], dtype=np.float64)

    return func


def snb_uniques(hist: ClassHistogram, population_size: float) -> float | None:
    """Population uniques under the slide negative binomial model."""
    c1 = float(hist.count_of_size(1))
    if c1 == 0:
        return 0.0
    c2 = float(hist.count_of_size(2))
    p = hist.records / population_size
    k = shlosser_classes(hist, p)
    if p >= 1.0:
        return _valid(c1, population_size)
    if c2 == 0:
        return None
    grid = [0.1 * i for i in range(1, 10)]
    root = _solve(_snb_system(k, p, c1, c2), None, [(a, b) for a in grid for b in grid])
    if root is None:
        return None
    a, b = float(root[0]), float(root[1])
    if a <= 0.0 or not (0.0 < b <= 1.0):
        return None
    return _valid(k * b**a, population_size, _uniques_bound(hist, population_size))


# --------------------------------------------------------------------------- Dankar


def population_uniqueness(
    hist: ClassHistogram,
    *,
    population_size: float | None = None,
    sampling_fraction: float | None = None,
) -> PopulationUniqueness:
    """Every estimator and Dankar et al.'s choice; give the population size or the fraction."""
    big_n = _population_size(hist, population_size, sampling_fraction)
    p = hist.records / big_n if big_n else 1.0
    if hist.count_of_size(1) == 0:
        return PopulationUniqueness(big_n, p, 0.0, 0.0, 0.0, 0.0, UniquenessModel.NONE)
    pitman = pitman_uniques(hist, big_n)
    zayatz = zayatz_uniques(hist, big_n)
    snb = snb_uniques(hist, big_n)
    model, value = dankar_choice(p, pitman, zayatz, snb)
    return PopulationUniqueness(big_n, p, pitman, zayatz, snb, value or 0.0, model)


def dankar_choice(
    fraction: float, pitman: float | None, zayatz: float | None, snb: float | None
) -> tuple[UniquenessModel, float | None]:
    """Dankar et al.'s rule: Pitman for small fractions, else the smaller of Zayatz and SNB."""
    if fraction <= DANKAR_FRACTION:
        return (UniquenessModel.PITMAN, pitman) if pitman else (UniquenessModel.ZAYATZ, zayatz)
    if snb and (zayatz is None or snb <= zayatz):
        return UniquenessModel.SNB, snb
    return UniquenessModel.ZAYATZ, zayatz


def all_estimates(
    hist: ClassHistogram, population_size: float
) -> dict[UniquenessModel, float | None]:
    """Every estimator regardless of the sampling fraction (for comparison and reports)."""
    return {
        UniquenessModel.PITMAN: pitman_uniques(hist, population_size),
        UniquenessModel.ZAYATZ: zayatz_uniques(hist, population_size),
        UniquenessModel.SNB: snb_uniques(hist, population_size),
    }


def _population_size(
    hist: ClassHistogram, population_size: float | None, sampling_fraction: float | None
) -> float:
    if population_size is not None and sampling_fraction is not None:
        raise InvalidInput("give a population size or a sampling fraction, not both")
    n = float(hist.records)
    if population_size is not None:
        if not math.isfinite(population_size) or population_size < max(n, 1.0):
            raise InvalidInput(
                "population size must be at least the number of records", field="population_size"
            )
        return float(population_size)
    fraction = 1.0 if sampling_fraction is None else sampling_fraction
    if not (0.0 < fraction <= 1.0):
        raise InvalidInput("sampling fraction must be in (0, 1]", field="sampling_fraction")
    return n / fraction
