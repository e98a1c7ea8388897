"""Property tests: the privacy invariants of every risk measure, on random class histograms."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from healthwall.model.risk import ClassHistogram, RiskSummary
from healthwall.risk.attributes import distinction, separation
from healthwall.risk.population import population_uniqueness, zayatz_uniques
from healthwall.risk.reidentification import (
    journalist_risk,
    marketer_risk,
    prosecutor_risk,
    sample_risks,
)

class_sizes = st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=80)
fractions = st.floats(min_value=0.001, max_value=1.0)
thresholds = st.floats(min_value=0.01, max_value=1.0)


def _in_unit(summary: RiskSummary) -> bool:
    values = (summary.average, summary.highest, summary.records_at_risk)
    return all(0.0 <= v <= 1.0 for v in values)


@settings(max_examples=150, deadline=None)
@given(class_sizes, fractions, thresholds)
def test_risks_are_probabilities_and_highest_bounds_average(
    sizes: list[int], p: float, t: float
) -> None:
    risks = sample_risks(ClassHistogram.of_class_sizes(sizes), t, sampling_fraction=p)
    for summary in (risks.prosecutor, risks.journalist):
        assert _in_unit(summary)
        assert summary.highest >= summary.average - 1e-12
    assert 0.0 <= risks.marketer <= risks.journalist.average + 1e-12
    assert 0.0 <= risks.sample_uniqueness <= 1.0


@settings(max_examples=150, deadline=None)
@given(class_sizes, fractions, thresholds)
def test_journalist_never_exceeds_prosecutor(sizes: list[int], p: float, t: float) -> None:
    hist = ClassHistogram.of_class_sizes(sizes)
    pros, jour = prosecutor_risk(hist, t), journalist_risk(hist, t, sampling_fraction=p)
    assert jour.highest <= pros.highest + 1e-12
    assert jour.records_at_risk <= pros.records_at_risk
    assert marketer_risk(hist, sampling_fraction=p) <= pros.average + 1e-12


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=20), class_sizes)
def test_k_anonymous_table_has_prosecutor_highest_at_most_one_over_k(
    k: int, sizes: list[int]
) -> None:
    hist = ClassHistogram.of_class_sizes([s + k - 1 for s in sizes])  # every class >= k
    risk = prosecutor_risk(hist, 1.0 / k)
    assert risk.highest <= 1.0 / k
    assert risk.records_at_risk == 0.0  # no record above 1/k


@settings(max_examples=60, deadline=None)
@given(class_sizes, st.floats(min_value=0.01, max_value=1.0))
def test_population_uniqueness_at_most_sample_uniqueness(sizes: list[int], p: float) -> None:
    hist = ClassHistogram.of_class_sizes(sizes)
    result = population_uniqueness(hist, sampling_fraction=p)
    sample_share = hist.count_of_size(1) / hist.records
    for value in (result.pitman, result.zayatz, result.snb, result.dankar):
        if value is not None:
            assert 0.0 <= value / result.population_size <= sample_share + 1e-9
    zayatz = zayatz_uniques(hist, result.population_size)
    assert zayatz is None or zayatz <= hist.count_of_size(1) / result.sampling_fraction + 1e-6


def _merge(sizes: list[int], i: int, j: int) -> list[int]:
    """The table after classes i and j become one class (e.g. by generalizing)."""
    merged = [s for idx, s in enumerate(sizes) if idx not in (i, j)]
    return [*merged, sizes[i] + sizes[j]]


@settings(max_examples=150, deadline=None)
@given(class_sizes, st.data(), fractions, thresholds)
def test_merging_classes_never_raises_risk(
    sizes: list[int], data: st.DataObject, p: float, t: float
) -> None:
    assume(len(sizes) >= 2)
    i = data.draw(st.integers(min_value=0, max_value=len(sizes) - 1))
    j = data.draw(st.integers(min_value=0, max_value=len(sizes) - 1))
    assume(i != j)
    before = ClassHistogram.of_class_sizes(sizes)
    after = ClassHistogram.of_class_sizes(_merge(sizes, i, j))
    rb, ra = (
        sample_risks(before, t, sampling_fraction=p),
        sample_risks(after, t, sampling_fraction=p),
    )
    for old, new in ((rb.prosecutor, ra.prosecutor), (rb.journalist, ra.journalist)):
        assert new.average <= old.average + 1e-12
        assert new.highest <= old.highest + 1e-12
        assert new.records_at_risk <= old.records_at_risk + 1e-12
    assert ra.marketer <= rb.marketer + 1e-12
    assert ra.sample_uniques <= rb.sample_uniques
    assert distinction(after) < distinction(before)
    assert separation(after) < separation(before)


@settings(max_examples=100, deadline=None)
@given(class_sizes)
def test_separation_matches_pairwise_count(sizes: list[int]) -> None:
    """The set-based formula equals counting separated pairs over records directly."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    assume(labels.size >= 2)
    same = labels[:, None] == labels[None, :]
    n = labels.size
    pairs_same = (same.sum() - n) / 2
    expected = 1.0 - pairs_same / (n * (n - 1) / 2)
    assert abs(separation(ClassHistogram.of_class_sizes(sizes)) - expected) < 1e-12
