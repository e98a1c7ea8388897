"""Privacy models and utility metrics against hand-computed values (ARX's definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from healthwall.deid import hierarchy_builders as hb
from healthwall.deid.criteria import (
    AverageRisk,
    DistinctL,
    EntropyL,
    KAnonymity,
    MaxRisk,
    RecursiveCL,
    SensitiveContext,
    TCloseness,
    hierarchical_emd,
    judge,
)
from healthwall.deid.hierarchy import encode
from healthwall.deid.lattice import NodeClasses, NodeTable
from healthwall.model.anonymize import TMeasure
from healthwall.risk import utility


def _classes(pairs: list[tuple[int, int, int]]) -> NodeClasses:
    """Classes from (class, sensitive code, count) triples."""
    cls = np.array([p[0] for p in pairs], dtype=np.int64)
    sens = np.array([p[1] for p in pairs], dtype=np.int64)
    cnt = np.array([p[2] for p in pairs], dtype=np.int64)
    sizes = np.bincount(cls, weights=cnt).astype(np.int64)
    codes = np.arange(len(sizes), dtype=np.int64)[:, None]
    table = NodeTable((0,), sizes, None, codes=codes)
    return NodeClasses((0,), table, sizes, None, cls, sens, cnt)


# class 0: s0 x3, s1 x1 ; class 1: s0 x2, s1 x2, s2 x2 ; class 2: s3 x1
NC = _classes([(0, 0, 3), (0, 1, 1), (1, 0, 2), (1, 1, 2), (1, 2, 2), (2, 3, 1)])


def test_k_anonymity_and_max_risk() -> None:
    assert KAnonymity(4).class_ok(NC).tolist() == [True, True, False]
    assert MaxRisk(0.2).k == 5
    assert MaxRisk(0.25).class_ok(NC).tolist() == [True, True, False]


def test_l_diversity_variants() -> None:
    assert DistinctL(2).class_ok(NC).tolist() == [True, True, False]
    assert DistinctL(3).class_ok(NC).tolist() == [False, True, False]
    h0 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert EntropyL(math.exp(h0) - 1e-6).class_ok(NC).tolist() == [True, True, False]
    assert EntropyL(math.exp(h0) + 1e-6).class_ok(NC).tolist() == [False, True, False]
    # recursive (c,2): r1 < c * (r2 + ... + rm): class 0: 3 < c*1; class 1: 2 < c*4
    assert RecursiveCL(3.0, 2).class_ok(NC).tolist() == [False, True, False]
    assert RecursiveCL(3.1, 2).class_ok(NC).tolist() == [True, True, False]


def test_t_closeness_three_ground_distances() -> None:
    q = np.full(4, 0.25)
    nc = _classes([(0, 0, 1), (0, 1, 1)])  # p = (0.5, 0.5, 0, 0)
    ctx = SensitiveContext(q=q, rank=np.arange(4))
    equal = TCloseness(0.5, TMeasure.EQUAL, ctx)
    assert equal._equal(nc)[0] == pytest.approx(0.5)
    ordered = TCloseness(0.34, TMeasure.ORDERED, ctx)
    assert ordered.class_ok(nc).tolist() == [True]  # (0.25 + 0.5 + 0.25) / 3
    assert TCloseness(0.33, TMeasure.ORDERED, ctx).class_ok(nc).tolist() == [False]
    tree = encode(
        hb.grouped("s", ["0", "1", "2", "3"], [{"0": "g0", "1": "g0", "2": "g1", "3": "g1"}]),
        ["0", "1", "2", "3"],
    )
    diff = np.array([[0.25, 0.25, -0.25, -0.25], [0.25, -0.25, 0.0, 0.0]])
    # all mass crosses the top (distance 1); then a swap inside one group (distance 1/2)
    assert hierarchical_emd(diff, tree).tolist() == pytest.approx([0.5, 0.125])


def test_suppression_and_dataset_models() -> None:
    verdict = judge(NC, [KAnonymity(4)], limit=1, suppression=True)
    assert verdict.feasible and verdict.suppressed_records == 1
    assert not judge(NC, [KAnonymity(5)], limit=1, suppression=True).feasible
    # average risk over kept classes: 2 classes / 10 records
    assert AverageRisk(0.2).holds(NC, np.array([True, True, False]))
    assert not AverageRisk(0.19).holds(NC, np.array([True, True, False]))


def test_utility_metrics() -> None:
    sizes = np.array([4, 6, 1])
    sup = np.array([False, False, True])
    assert utility.discernibility(sizes, sup) == 16 + 36 + 11
    assert utility.aecs(sizes, sup) == pytest.approx(11 / 3)
    assert utility.gs_factors(0.5) == (1.0, 1.0)
    assert utility.gs_factors(0.1) == (1.0, pytest.approx(0.2))
    assert utility.gs_factors(1.0) == (0.0, 1.0)
    cost = np.array([[0.5], [0.0], [1.0]])
    assert utility.cell_average(cost, sizes, sup, 1.0, 1.0) == pytest.approx((2 + 0 + 1) / 11)
    # entropy table: values a,a,b,c ; level 1 groups {a,b} and {c}
    table = utility.entropy_table(np.array([2, 1, 1]), [np.array([0, 1, 2]), np.array([0, 0, 1])])
    assert table.tolist() == pytest.approx([0.0, 2 * math.log2(3 / 2) + math.log2(3)])


def test_prosecutor_helper_agrees_with_risk_module() -> None:
    reid = pytest.importorskip("healthwall.risk.reidentification")
    from healthwall.model.risk import ClassHistogram

    sizes = np.array([1, 2, 2, 5, 10], dtype=np.int64)
    ours = utility.prosecutor_risk(sizes)
    theirs = reid.prosecutor_risk(ClassHistogram.of_class_sizes(sizes))
    assert ours == pytest.approx((theirs.average, theirs.highest))
