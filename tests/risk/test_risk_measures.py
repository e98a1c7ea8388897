"""Hand-computed cases for every sample-based measure and for distinction/separation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from healthwall.errors import InvalidInput
from healthwall.model.risk import ClassHistogram, PopulationBasis
from healthwall.risk.attributes import (
    attribute_risks,
    column_combinations,
    distinction,
    separation,
)
from healthwall.risk.reidentification import (
    expected_inverse_population_size,
    journalist_risk,
    journalist_risk_with_population,
    marketer_risk,
    marketer_risk_with_population,
    prosecutor_risk,
    sample_risks,
    sample_risks_with_population,
    sample_uniques,
)

# Five classes of sizes 1, 1, 2, 3, 3: n = 10 records, 5 classes.
HIST = ClassHistogram.of_class_sizes([1, 1, 2, 3, 3])


def test_histogram_from_sizes_and_pairs_agree() -> None:
    other = ClassHistogram.of_pairs([3, 1, 2, 1], [2, 1, 1, 1])
    assert HIST.sizes.tolist() == other.sizes.tolist() == [1, 2, 3]
    assert HIST.counts.tolist() == other.counts.tolist() == [2, 1, 2]
    assert (HIST.records, HIST.classes) == (10, 5)
    assert HIST.count_of_size(2) == 1 and HIST.count_of_size(4) == 0


def test_histogram_rejects_bad_input() -> None:
    with pytest.raises(InvalidInput):
        ClassHistogram(np.array([2, 1], dtype=np.int64), np.array([1, 1], dtype=np.int64))
    with pytest.raises(InvalidInput):
        ClassHistogram.of_class_sizes([-1, 2])
    with pytest.raises(InvalidInput):
        ClassHistogram.of_pairs([0], [1])


def test_prosecutor_by_hand() -> None:
    risk = prosecutor_risk(HIST, 0.4)
    assert risk.average == pytest.approx(0.5)  # 5 classes / 10 records
    assert risk.highest == 1.0  # a class of one
    assert risk.records_at_risk == pytest.approx(0.4)  # sizes 1 (2 records) and 2 (2 records)
    assert prosecutor_risk(HIST, 0.2).records_at_risk == pytest.approx(1.0)  # 1/3 > 0.2
    assert prosecutor_risk(HIST, 0.5).records_at_risk == pytest.approx(0.2)  # 1/2 is not > 1/2


def test_threshold_is_checked() -> None:
    with pytest.raises(InvalidInput, match="threshold"):
        prosecutor_risk(HIST, 0.0)
    with pytest.raises(InvalidInput, match="threshold"):
        prosecutor_risk(HIST, 1.5)


def test_sample_uniques_by_hand() -> None:
    assert sample_uniques(HIST) == 2
    risks = sample_risks(HIST, 0.4)
    assert risks.sample_uniqueness == pytest.approx(0.2)
    assert risks.population_basis is PopulationBasis.SAMPLE


def test_without_population_journalist_is_prosecutor_and_marketer_is_average() -> None:
    risks = sample_risks(HIST, 0.4)
    assert risks.journalist == risks.prosecutor
    assert risks.marketer == pytest.approx(0.5)


def test_journalist_and_marketer_with_population_classes_by_hand() -> None:
    f = [1, 1, 2, 3, 3]
    big_f = [2, 1, 4, 3, 6]  # 1/F = .5, 1, .25, .333, .1667; sum F = 16
    risk = journalist_risk_with_population(f, big_f, 0.3)
    assert risk.highest == 1.0
    # sum f/F = .5 + 1 + .5 + 1 + .5 = 3.5 over 10 records; classes / sum F = 5/16
    assert risk.average == pytest.approx(max(5 / 16, 0.35))
    assert risk.records_at_risk == pytest.approx(0.5)  # 1 + 1 + 3 records with 1/F > .3
    assert marketer_risk_with_population(f, big_f) == pytest.approx(0.35)


def test_population_classes_must_cover_the_sample() -> None:
    with pytest.raises(InvalidInput, match="population"):
        journalist_risk_with_population([2], [1])


def test_expected_inverse_population_size_by_hand() -> None:
    # f = 1: p ln(1/p) / (1-p); p = 1/2 gives ln 2.  f = 2, p = 1/2: 1 - ln 2.
    r = expected_inverse_population_size(np.array([1, 2], dtype=np.int64), 0.5)
    assert r[0] == pytest.approx(math.log(2))
    assert r[1] == pytest.approx(1 - math.log(2))
    full = expected_inverse_population_size(np.array([1, 4], dtype=np.int64), 1.0)
    assert full.tolist() == [1.0, 0.25]


@pytest.mark.parametrize("f", [1, 2, 5, 17, 29, 30, 100, 1000])
@pytest.mark.parametrize("p", [0.01, 0.1, 0.5, 0.9])
def test_expected_inverse_population_size_matches_the_series(f: int, p: float) -> None:
    # E[1/F | f] = sum_{F >= f} (1/F) C(F-1, f-1) p^f (1-p)^(F-f), summed directly in logs
    # far into the tail (mean f/p, standard deviation sqrt(f (1-p))/p).
    last = f + int(f / p + 60 * math.sqrt(f * (1 - p)) / p) + 2000
    big_f = np.arange(f, last, dtype=np.float64)
    log_pmf = (
        special.gammaln(big_f)
        - special.gammaln(f)
        - special.gammaln(big_f - f + 1)
        + f * math.log(p)
        + (big_f - f) * math.log1p(-p)
    )
    series = float(np.sum(np.exp(log_pmf) / big_f))
    closed = expected_inverse_population_size(np.array([f], dtype=np.int64), p)[0]
    assert closed == pytest.approx(series, rel=1e-9)


def test_journalist_with_sampling_fraction_by_hand() -> None:
    hist = ClassHistogram.of_class_sizes([1, 2, 2])  # n = 5
    risk = journalist_risk(hist, 0.5, sampling_fraction=0.5)
    ln2 = math.log(2)
    assert risk.highest == pytest.approx(ln2)
    assert risk.records_at_risk == pytest.approx(1 / 5)  # only the unique: ln 2 > .5 > 1 - ln 2
    success = (ln2 + 4 * (1 - ln2)) / 5
    assert risk.average == pytest.approx(max(3 / 10, success))  # 3 classes / (n / p)
    assert marketer_risk(hist, sampling_fraction=0.5) == pytest.approx(success)


def test_empty_histogram_has_no_risk() -> None:
    empty = ClassHistogram.of_class_sizes([])
    assert prosecutor_risk(empty).highest == 0.0
    assert marketer_risk(empty) == 0.0
    assert distinction(empty) == 0.0


def test_distinction_and_separation_by_hand() -> None:
    # sizes 1,1,2,3,3: same-class pairs 0+0+1+3+3 = 7 of 45
    assert distinction(HIST) == pytest.approx(0.5)
    assert separation(HIST) == pytest.approx(38 / 45)
    single = ClassHistogram.of_class_sizes([4])
    assert separation(single) == 0.0 and distinction(single) == 0.25


def test_arx_quasi_identifier_example() -> None:
    """ARX's TestRiskQuasiIdentifiers: five records of age, sex, state, values by hand."""
    rows = [
        ("20", "F", "CA"),
        ("30", "F", "CA"),
        ("40", "F", "TX"),
        ("20", "M", "NY"),
        ("40", "M", "CA"),
    ]
    columns = ("age", "sex", "state")
    hists = {}
    for combo in column_combinations(columns, 3):
        idx = [columns.index(c) for c in combo]
        keys: dict[tuple[str, ...], int] = {}
        for row in rows:
            key = tuple(row[i] for i in idx)
            keys[key] = keys.get(key, 0) + 1
        hists[combo] = ClassHistogram.of_class_sizes(list(keys.values()))
    got = [(r.columns, r.distinction, r.separation) for r in attribute_risks(hists)]
    assert got == [
        (("sex",), 0.4, 0.6),
        (("state",), 0.6, 0.7),
        (("age",), 0.6, 0.8),
        (("sex", "state"), 0.8, 0.9),
        (("age", "sex"), 1.0, 1.0),
        (("age", "state"), 1.0, 1.0),
        (("age", "sex", "state"), 1.0, 1.0),
    ]


def test_combinations_respect_order_and_size() -> None:
    combos = list(column_combinations(("a", "b", "c"), 2))
    assert combos == [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c")]
    with pytest.raises(InvalidInput):
        list(column_combinations(("a",), 0))


def test_population_pairs_with_counts_equal_one_row_per_class() -> None:
    per_class = sample_risks_with_population([1, 1, 2, 3, 3], [2, 1, 4, 3, 6], 0.3)
    grouped = sample_risks_with_population([1, 2, 3, 3, 1], [2, 4, 3, 6, 1], 0.3, counts=[1] * 5)
    assert per_class == grouped
    repeated = sample_risks_with_population([1, 1, 3], [2, 2, 6], 0.3)
    assert repeated == sample_risks_with_population([1, 3], [2, 6], 0.3, counts=[2, 1])
    assert per_class.population_basis is PopulationBasis.POPULATION_CLASSES
    assert per_class.journalist.average == pytest.approx(0.35)
    doubled = sample_risks_with_population([1, 3], [2, 6], 0.3, counts=[2, 2])
    assert doubled.records == 8 and doubled.classes == 4
    assert doubled.marketer == pytest.approx((2 * 1 / 2 + 2 * 3 / 6) / 8)  # sum f/F over n
