"""Prosecutor, journalist and marketer re-identification risk from equivalence-class sizes.

Pure functions over a :class:`~healthwall.model.risk.ClassHistogram` (sizes and frequencies of
sizes), after ARX's ``RiskModelSampleSummary`` and El Emam's *Guide to the De-Identification of
Personal Health Information*. With ``f`` a class's size in the data (the sample), ``F`` its size in
the population, ``n`` the number of records and ``t`` the threshold:

- **prosecutor** (the attacker knows the person is in the data): a record's risk is ``1/f``.
  average = classes / n; highest = 1 / min f; records at risk = share of records with 1/f > t.
- **journalist** (the attacker knows only that the person is in the population): a record's
  risk is ``1/F``. average = max(classes / sum F, sum(f/F) / n); highest = 1 / min F; records at
  risk = share of records with 1/F > t.
- **marketer** (re-identify as many records as possible): sum(f/F) / n.

Where ``F`` comes from is the :class:`~healthwall.model.risk.PopulationBasis`: the data itself
(``F = f``, journalist = prosecutor, ARX's default), each class's size in a population table, or a
sampling fraction ``p``: then ``1/F`` is replaced by its expectation given ``f`` under the
negative binomial superpopulation model (Benedetti and Franconi 1998; sdcMicro's and mu-Argus's
"individual risk"): ``E[1/F | f] = (p/f) * 2F1(1, 1; f+1; 1-p)``, and ``sum F`` by ``n / p``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from healthwall.errors import InvalidInput
from healthwall.model.risk import (
    ClassHistogram,
    PopulationBasis,
    RiskSummary,
    SampleRisks,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_THRESHOLD = 0.2


def check_threshold(threshold: float) -> float:
    """The threshold, if it is a probability in (0, 1]."""
    if not (0.0 < threshold <= 1.0):
        raise InvalidInput("threshold must be in (0, 1]", field="threshold")
    return float(threshold)


def check_fraction(fraction: float) -> float:
    """The sampling fraction, if it is in (0, 1]."""
    if not (0.0 < fraction <= 1.0):
        raise InvalidInput("sampling fraction must be in (0, 1]", field="sampling_fraction")
    return float(fraction)


def _summary(
    f: IntArray, mult: IntArray, inv_f_pop: FloatArray, pop_records: float, threshold: float
) -> RiskSummary:
    """Risk summary of classes of sizes ``f`` (``mult`` of each) with ``1/F`` = ``inv_f_pop``."""
    if f.size == 0:
        return RiskSummary(threshold, 0.0, 0.0, 0.0)
    records = float(np.dot(f, mult))
    weights = f.astype(np.float64) * mult
    at_risk = float(weights[inv_f_pop > threshold].sum()) / records
    success = float(np.dot(weights, inv_f_pop)) / records
    classes_share = float(mult.sum()) / pop_records if pop_records > 0 else 0.0
    average = min(1.0, max(classes_share, success))
    return RiskSummary(threshold, average, float(inv_f_pop.max()), at_risk)


def prosecutor_risk(hist: ClassHistogram, threshold: float = DEFAULT_THRESHOLD) -> RiskSummary:
    """Prosecutor risk: each record's risk is one over its class size in the data."""
    threshold = check_threshold(threshold)
    inv = 1.0 / hist.sizes.astype(np.float64)
    return _summary(hist.sizes, hist.counts, inv, float(hist.records), threshold)


def expected_inverse_population_size(sizes: IntArray, sampling_fraction: float) -> FloatArray:
    """``E[1/F | f]`` for each sample class size ``f`` when the sampling fraction is ``p``.

    Under the negative binomial model ``F - f ~ NB(f, p)`` the expectation is
    ``(p/f) 2F1(1, 1; f+1; 1-p) = p I_f`` with ``I_f = int_0^1 s^(f-1) / (p + (1-p) s) ds``
    (``1/f`` when ``p = 1``; ``p ln(1/p) / (1-p)`` for ``f = 1``). SciPy's ``hyp2f1`` fails for
    large ``f`` near ``z = 1``, so ``I_f`` is computed directly: by its power series for
    ``f >= 30`` (fast for any ``p``), and below that by the stable direction of the recurrence
    ``(1-p) I_(f+1) + p I_f = 1/f``. Never exceeds ``1/f``.
    """
    p = check_fraction(sampling_fraction)
    f = sizes.astype(np.float64)
    if p >= 1.0 or f.size == 0:
        return 1.0 / f
    out = np.empty_like(f)
    large = f >= _SERIES_FROM
    out[large] = p * _integral_series(f[large], p)
    if np.any(~large):
        table = _integral_recurrence(p)  # I_1 .. I_(_SERIES_FROM - 1)
        out[~large] = p * table[f[~large].astype(np.int64) - 1]
    return np.asarray(np.minimum(out, 1.0 / f), dtype=np.float64)


_SERIES_FROM = 30
_SERIES_TERMS = 400


def _integral_series(f: FloatArray, p: float) -> FloatArray:
    """``I_f = (1/f) sum_m m! f! / (f+m)! (1-p)^m``, summed to negligible terms (f >= 30)."""
    if f.size == 0:
        return f
    q = 1.0 - p
    m = np.arange(_SERIES_TERMS, dtype=np.float64)
    ratios = (m[None, :] + 1.0) * q / (f[:, None] + 1.0 + m[None, :])
    terms = np.cumprod(ratios, axis=1)
    return np.asarray((1.0 + terms.sum(axis=1)) / f, dtype=np.float64)


def _integral_recurrence(p: float) -> FloatArray:
    """``I_1 .. I_29`` by the recurrence, forward when ``p <= 1/2``, else backward."""
    q = 1.0 - p
    top = _SERIES_FROM - 1
    out = np.empty(top, dtype=np.float64)
    if p <= 0.5:
        out[0] = -np.log(p) / q
        for i in range(1, top):
            out[i] = (1.0 / i - p * out[i - 1]) / q
        return out
    nxt = float(_integral_series(np.array([float(_SERIES_FROM)]), p)[0])
    for i in range(top, 0, -1):
        nxt = (1.0 / i - q * nxt) / p
        out[i - 1] = nxt
    return out


def journalist_risk(
    hist: ClassHistogram,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    sampling_fraction: float = 1.0,
) -> RiskSummary:
    """Journalist risk with population class sizes estimated from the sampling fraction.

    With ``sampling_fraction == 1`` the data is its own population and this equals
    :func:`prosecutor_risk` (ARX without a population table).
    """
    threshold = check_threshold(threshold)
    p = check_fraction(sampling_fraction)
    inv = expected_inverse_population_size(hist.sizes, p)
    return _summary(hist.sizes, hist.counts, inv, hist.records / p, threshold)


def marketer_risk(hist: ClassHistogram, *, sampling_fraction: float = 1.0) -> float:
    """Marketer risk: expected share of records re-identified, ``sum f E[1/F|f] / n``."""
    p = check_fraction(sampling_fraction)
    if hist.empty:
        return 0.0
    inv = expected_inverse_population_size(hist.sizes, p)
    weights = hist.sizes.astype(np.float64) * hist.counts
    return float(np.dot(weights, inv)) / float(hist.records)


def _paired(
    sample_sizes: npt.ArrayLike, population_sizes: npt.ArrayLike, counts: npt.ArrayLike | None
) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct (f, F) pairs with multiplicities; F must be at least f."""
    f = np.asarray(sample_sizes, dtype=np.int64).ravel()
    big_f = np.asarray(population_sizes, dtype=np.int64).ravel()
    mult = np.ones_like(f) if counts is None else np.asarray(counts, dtype=np.int64).ravel()
    if f.shape != big_f.shape or f.shape != mult.shape:
        raise InvalidInput("sample and population class sizes differ in length")
    if np.any(f < 1) or np.any(big_f < f) or np.any(mult < 1):
        raise InvalidInput(
            "every class must be present in the population at least as often as in the sample",
            field="population",
        )
    pairs, inverse = np.unique(np.stack([f, big_f], axis=1), axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=mult, minlength=len(pairs)).astype(np.int64)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64), merged


def journalist_risk_with_population(
    sample_sizes: npt.ArrayLike,
    population_sizes: npt.ArrayLike,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    counts: npt.ArrayLike | None = None,
) -> RiskSummary:
    """Journalist risk when each sample class's size in a population table is known (ARX).

    ``counts[i]`` (default 1) is how many classes have sample size ``sample_sizes[i]`` and
    population size ``population_sizes[i]``.
    """
    threshold = check_threshold(threshold)
    f, big_f, mult = _paired(sample_sizes, population_sizes, counts)
    inv = 1.0 / big_f.astype(np.float64)
    return _summary(f, mult, inv, float(np.dot(big_f, mult)), threshold)


def marketer_risk_with_population(
    sample_sizes: npt.ArrayLike,
    population_sizes: npt.ArrayLike,
    *,
    counts: npt.ArrayLike | None = None,
) -> float:
    """Marketer risk when each sample class's population size is known: ``sum(f/F) / n``."""
    f, big_f, mult = _paired(sample_sizes, population_sizes, counts)
    if f.size == 0:
        return 0.0
    share = f.astype(np.float64) / big_f * mult
    return float(share.sum()) / float(np.dot(f, mult))


def sample_risks_with_population(
    sample_sizes: npt.ArrayLike,
    population_sizes: npt.ArrayLike,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    counts: npt.ArrayLike | None = None,
) -> SampleRisks:
    """All sample-based measures when each class's size in a population table is known."""
    f, big_f, mult = _paired(sample_sizes, population_sizes, counts)
    hist = ClassHistogram.of_pairs(f, mult)
    uniques = sample_uniques(hist)
    return SampleRisks(
        records=hist.records,
        classes=hist.classes,
        prosecutor=prosecutor_risk(hist, threshold),
        journalist=journalist_risk_with_population(f, big_f, threshold, counts=mult),
        marketer=marketer_risk_with_population(f, big_f, counts=mult),
        sample_uniques=uniques,
        sample_uniqueness=uniques / hist.records if hist.records else 0.0,
        population_basis=PopulationBasis.POPULATION_CLASSES,
    )


def sample_uniques(hist: ClassHistogram) -> int:
    """Number of records alone in their equivalence class."""
    return hist.count_of_size(1)


def sample_risks(
    hist: ClassHistogram,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    sampling_fraction: float | None = None,
) -> SampleRisks:
    """All sample-based measures at once; without a sampling fraction the data is the population."""
    p = 1.0 if sampling_fraction is None else check_fraction(sampling_fraction)
    basis = (
        PopulationBasis.SAMPLE if sampling_fraction is None else PopulationBasis.SAMPLING_FRACTION
    )
    uniques = sample_uniques(hist)
    return SampleRisks(
        records=hist.records,
        classes=hist.classes,
        prosecutor=prosecutor_risk(hist, threshold),
        journalist=journalist_risk(hist, threshold, sampling_fraction=p),
        marketer=marketer_risk(hist, sampling_fraction=p),
        sample_uniques=uniques,
        sample_uniqueness=uniques / hist.records if hist.records else 0.0,
        population_basis=basis,
    )
