"""Population uniqueness: hand-computed Zayatz, Dankar's rule, ARX's own expectations on Adult,
and a simulation from the SNB model itself."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from healthwall.errors import InvalidInput
from healthwall.model.risk import ClassHistogram, UniquenessModel
from healthwall.risk.population import (
    _snb_system,
    _solve,
    dankar_choice,
    pitman_uniques,
    population_uniqueness,
    shlosser_classes,
    snb_uniques,
    zayatz_uniques,
)
from healthwall.risk.reidentification import prosecutor_risk, sample_risks

ADULT_QI = (
    'sex, age, race, "marital-status", education, "native-country", workclass, occupation, '
    '"salary-class"'
)


@pytest.fixture(scope="module")
def adult(shared_data: Path) -> ClassHistogram:
    """Class-size histogram of Adult with all nine columns as quasi-identifiers (as ARX's tests)."""
    path = shared_data / "adult" / "adult.csv"
    rows = duckdb.sql(
        f"SELECT s, count(*) FROM (SELECT count(*) AS s FROM read_csv('{path}', delim=';', "
        f"header=true, all_varchar=true) GROUP BY {ADULT_QI}) GROUP BY s"
    ).fetchall()
    return ClassHistogram.of_pairs([r[0] for r in rows], [r[1] for r in rows])


GRID = [(0.1 * i, 0.1 * j) for i in range(1, 10) for j in range(1, 10)]


def _four_digits(value: float) -> int:
    """ARX's comparison: four significant digits, truncated."""
    return int(value * 10000)


def test_zayatz_by_hand() -> None:
    # classes {1: 2, 2: 1}, n = 4, N = 8. P(one of a class of K in 4 draws of 8):
    # K=1: 35/70 = 1/2, K=2: 2*20/70 = 4/7. Conditional = (2/3 * 1/2) / (2/3 * 1/2 + 1/3 * 4/7)
    # = 7/11; uniques = 2 * 7/11 / (4/8) = 28/11.
    hist = ClassHistogram.of_pairs([1, 2], [2, 1])
    assert zayatz_uniques(hist, 8) == pytest.approx(28 / 11)


def test_full_population_gives_sample_uniques() -> None:
    hist = ClassHistogram.of_pairs([1, 2, 5], [7, 3, 2])
    result = population_uniqueness(hist, sampling_fraction=1.0)
    assert result.dankar == pytest.approx(7) and result.zayatz == pytest.approx(7)
    assert result.dankar_model is UniquenessModel.SNB


def test_no_sample_uniques_means_no_population_uniques() -> None:
    hist = ClassHistogram.of_pairs([2, 3], [4, 4])
    result = population_uniqueness(hist, sampling_fraction=0.05)
    assert result.dankar == 0.0 and result.dankar_model is UniquenessModel.NONE
    assert pitman_uniques(hist, 1000) == 0.0 and snb_uniques(hist, 1000) == 0.0


def test_dankar_rule() -> None:
    assert dankar_choice(0.1, 5.0, 9.0, 1.0) == (UniquenessModel.PITMAN, 5.0)
    assert dankar_choice(0.05, None, 9.0, 1.0) == (UniquenessModel.ZAYATZ, 9.0)
    assert dankar_choice(0.2, 5.0, 9.0, 8.0) == (UniquenessModel.SNB, 8.0)
    assert dankar_choice(0.2, 5.0, 7.0, 8.0) == (UniquenessModel.ZAYATZ, 7.0)
    assert dankar_choice(0.2, 5.0, 7.0, None) == (UniquenessModel.ZAYATZ, 7.0)


def test_population_parameters_are_checked() -> None:
    hist = ClassHistogram.of_pairs([1], [10])
    with pytest.raises(InvalidInput):
        population_uniqueness(hist, population_size=5)
    with pytest.raises(InvalidInput):
        population_uniqueness(hist, population_size=100, sampling_fraction=0.1)
    with pytest.raises(InvalidInput):
        population_uniqueness(hist, sampling_fraction=0.0)


def test_shlosser_without_sampling_counts_the_observed_classes() -> None:
    hist = ClassHistogram.of_pairs([1, 3], [4, 2])
    assert shlosser_classes(hist, 1.0) == 6
    assert shlosser_classes(hist, 0.1) > 6


def test_adult_sample_measures_match_arx(adult: ClassHistogram) -> None:
    """ARX TestRiskMetrics: average risk 0.6465751607983555, highest 1, uniqueness 0.5142895."""
    assert adult.records == 30162
    risk = prosecutor_risk(adult)
    assert risk.average == pytest.approx(0.6465751607983555, rel=1e-12)
    assert risk.highest == 1.0
    assert sample_risks(adult).sample_uniqueness == pytest.approx(0.5142895033485844, rel=1e-12)


@pytest.mark.parametrize(
    ("fraction", "model", "expected"),
    [
        (0.01, UniquenessModel.PITMAN, 0.1446083531167384),
        (0.1, UniquenessModel.PITMAN, 0.27684993883653597),
        (1.0, UniquenessModel.SNB, 0.5142895033485844),
    ],
)
def test_adult_dankar_matches_arx(
    adult: ClassHistogram, fraction: float, model: UniquenessModel, expected: float
) -> None:
    """ARX TestRiskMetrics.testDecisionRule2, compared as ARX does (four digits)."""
    result = population_uniqueness(adult, sampling_fraction=fraction)
    assert result.dankar_model is model
    assert _four_digits(result.dankar / result.population_size) == _four_digits(expected)


def test_adult_zayatz_matches_arx(adult: ClassHistogram) -> None:
    """ARX's expectations for Zayatz at p = 0.1 (its fallback) and p = 0.2 (its choice there)."""
    for fraction, expected in ((0.1, 0.3207402393466189), (0.2, 0.3577099234829125)):
        big_n = adult.records / fraction
        value = zayatz_uniques(adult, big_n)
        assert value is not None
        assert _four_digits(value / big_n) == _four_digits(expected)


def test_adult_population_uniqueness_below_sample_uniqueness(adult: ClassHistogram) -> None:
    for fraction in (0.01, 0.05, 0.1, 0.2, 0.5):
        result = population_uniqueness(adult, sampling_fraction=fraction)
        for value in (result.pitman, result.zayatz, result.snb, result.dankar):
            if value is not None:
                assert value / result.population_size <= 0.5142895033485844 + 1e-12


def test_snb_recovers_the_parameters_it_was_simulated_from() -> None:
    """Population class sizes 1 + NB(alpha, beta), Bernoulli sample: with the true number of
    classes the fitted SNB model gives back the true population uniques within a few percent."""
    rng = np.random.default_rng(7)
    k, alpha, beta, p = 200_000, 0.5, 0.3, 0.2
    population = 1 + rng.negative_binomial(alpha, beta, size=k)
    sample = rng.binomial(population, p)
    hist = ClassHistogram.of_class_sizes(sample)
    true_uniques = int((population == 1).sum())
    estimate = snb_uniques(hist, float(population.sum()))
    assert estimate is not None
    # The Shlosser estimate of K is the loose part of SNB; the estimate stays within 50 %.
    assert abs(estimate - true_uniques) / true_uniques < 0.5
    # With the true number of classes the fitted parameters come back close to the truth.
    fit = _solve(_snb_system(float(k), p, hist.count_of_size(1), hist.count_of_size(2)), None, GRID)
    assert fit is not None
    assert fit[0] == pytest.approx(alpha, rel=0.1) and fit[1] == pytest.approx(beta, rel=0.1)
    assert k * fit[1] ** fit[0] == pytest.approx(true_uniques, rel=0.05)
    zayatz = zayatz_uniques(hist, float(population.sum()))
    assert zayatz is not None
    chosen = population_uniqueness(hist, population_size=float(population.sum()))
    assert chosen.dankar == pytest.approx(min(estimate, zayatz))
