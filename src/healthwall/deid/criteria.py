"""Privacy models evaluated on the equivalence classes of one lattice node, vectorized.

Definitions follow ARX (``org.deidentifier.arx.criteria``):

- k-anonymity: every class has at least ``k`` records.
- distinct l-diversity: at least ``l`` distinct sensitive values per class; entropy l-diversity:
  the entropy of the class's sensitive distribution is at least ``log l``; recursive (c,l):
  ``r_1 < c * (r_l + ... + r_m)`` for the class's sorted value counts ``r_1 >= r_2 >= ...``.
- t-closeness: Earth Mover's Distance between a class's and the whole input's sensitive
  distribution at most ``t``: equal ground distance (half the L1 distance), hierarchical (ground
  distance = level of the lowest common ancestor / top level; Li et al. 2007), ordered (rank
  distance / (m - 1) over the sorted values).
- highest prosecutor risk ``r``: every class has at least ``ceil(1/r)`` records; average prosecutor
  risk ``R``: kept classes / kept records at most ``R`` (a property of the whole release).
- k-map against the ZIP3 population: the population of the class's area times the class's share of
  the sample in that area is at least ``k`` (uniform-sampling estimate).

Records of classes that fail a class-level model are suppressed (ARX's record suppression); a node
is feasible when the suppressed records stay within the limit and dataset-level models hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from healthwall.deid.hierarchy import EncodedHierarchy
from healthwall.deid.lattice import NodeClasses
from healthwall.model.anonymize import AnonymizeSpec, LVariant, TMeasure

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_EPS = 1e-12
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class SensitiveContext:
    """The sensitive attribute: its input distribution, order and (optional) hierarchy."""

    q: FloatArray  # distribution over sensitive value codes in the whole input
    rank: IntArray  # ordered EMD: rank of each value code
    hierarchy: EncodedHierarchy | None = None


class Criterion:
    """A privacy model. ``class_ok`` for class-level models, ``holds`` for dataset-level ones."""

    name = "criterion"
    class_level = True
    monotone_with_suppression = False

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        raise NotImplementedError

    def holds(self, nc: NodeClasses, kept: BoolArray) -> bool:
        return True

    def monotone(self, suppression: bool) -> bool:
        """Does every generalization of a node satisfying this model satisfy it too?"""
        return self.monotone_with_suppression or not suppression


@dataclass
class KAnonymity(Criterion):
    k: int
    name = "k-anonymity"
    monotone_with_suppression = True

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        return np.asarray(nc.sizes >= self.k)


@dataclass
class MaxRisk(Criterion):
    """Highest prosecutor risk at most ``r``: the same as k-anonymity with k = ceil(1/r)."""

    r: float
    name = "max-risk"
    monotone_with_suppression = True

    @property
    def k(self) -> int:
        return max(1, math.ceil(1.0 / self.r - 1e-9))

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        return np.asarray(nc.sizes >= self.k)


@dataclass
class AverageRisk(Criterion):
    r: float
    name = "avg-risk"
    class_level = False

    def holds(self, nc: NodeClasses, kept: BoolArray) -> bool:
        records = float(nc.sizes[kept].sum())
        return records == 0 or int(kept.sum()) / records <= self.r + _EPS


def _pairs(nc: NodeClasses) -> tuple[IntArray, IntArray, IntArray]:
    assert nc.pair_class is not None and nc.pair_sensitive is not None
    assert nc.pair_counts is not None
    return nc.pair_class, nc.pair_sensitive, nc.pair_counts


@dataclass
class DistinctL(Criterion):
    l: int  # noqa: E741
    name = "distinct-l-diversity"
    monotone_with_suppression = True  # a merged class fails only if all its parts fail

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        cls, _, _ = _pairs(nc)
        return np.asarray(np.bincount(cls, minlength=len(nc.sizes)) >= self.l)


@dataclass
class EntropyL(Criterion):
    l: float  # noqa: E741
    name = "entropy-l-diversity"

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        cls, _, cnt = _pairs(nc)
        p = cnt / nc.sizes[cls]
        h = -np.bincount(cls, weights=p * np.log(p), minlength=len(nc.sizes))
        return np.asarray(h >= math.log(self.l) - _EPS)


@dataclass
class RecursiveCL(Criterion):
    c: float
    l: int  # noqa: E741
    name = "recursive-cl-diversity"

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        cls, _, cnt = _pairs(nc)
        order = np.lexsort((-cnt, cls))
        cls_s, cnt_s = cls[order], cnt[order]
        starts = np.searchsorted(cls_s, np.arange(len(nc.sizes)))
        rank = np.arange(len(cls_s)) - starts[cls_s]
        r1 = np.bincount(cls_s[rank == 0], weights=cnt_s[rank == 0], minlength=len(nc.sizes))
        tail_mask = rank >= self.l - 1
        tail = np.bincount(cls_s[tail_mask], weights=cnt_s[tail_mask], minlength=len(nc.sizes))
        distinct = np.bincount(cls_s, minlength=len(nc.sizes))
        return np.asarray((distinct >= self.l) & (r1 < self.c * tail))


@dataclass
class TCloseness(Criterion):
    t: float
    measure: TMeasure
    ctx: SensitiveContext
    name = "t-closeness"

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        if self.measure is TMeasure.EQUAL:
            return np.asarray(self._equal(nc) <= self.t + _EPS)
        out = np.zeros(len(nc.sizes), dtype=np.float64)
        cls, sens, cnt = _pairs(nc)
        order = np.argsort(cls, kind="stable")
        cls, sens, cnt = cls[order], sens[order], cnt[order]
        m = len(self.ctx.q)
        step = max(1, _CHUNK_CELLS // max(m, 1))
        for start in range(0, len(nc.sizes), step):
            stop = min(start + step, len(nc.sizes))
            lo, hi = np.searchsorted(cls, [start, stop])
            dense = np.zeros((stop - start, m), dtype=np.float64)
            np.add.at(dense, (cls[lo:hi] - start, sens[lo:hi]), cnt[lo:hi])
            diff = dense / nc.sizes[start:stop, None] - self.ctx.q[None, :]
            out[start:stop] = self._dense(diff)
        return np.asarray(out <= self.t + _EPS)

    def _equal(self, nc: NodeClasses) -> FloatArray:
        cls, sens, cnt = _pairs(nc)
        q = self.ctx.q[sens]
        p = cnt / nc.sizes[cls]
        partial = np.bincount(cls, weights=np.abs(p - q) - q, minlength=len(nc.sizes))
        return np.asarray(0.5 * (1.0 + partial))

    def _dense(self, diff: FloatArray) -> FloatArray:
        if self.measure is TMeasure.ORDERED:
            m = diff.shape[1]
            ordered = np.empty_like(diff)
            ordered[:, self.ctx.rank] = diff
            cum = np.cumsum(ordered, axis=1)
            return np.asarray(np.abs(cum).sum(axis=1) / max(m - 1, 1))
        return hierarchical_emd(diff, self.ctx.hierarchy)


def hierarchical_emd(diff: FloatArray, hierarchy: EncodedHierarchy | None) -> FloatArray:
    """Hierarchical EMD of rows of ``diff`` (class minus input distribution, per value code)."""
    if hierarchy is None:
        raise ValueError("hierarchical t-closeness needs the sensitive attribute's hierarchy")
    top = hierarchy.height - 1
    cost = np.zeros(diff.shape[0], dtype=np.float64)
    if top <= 0:
        return cost
    extra = diff  # level-0 extras: value codes are level-0 label order via level_maps[0]
    child_codes = hierarchy.level_maps[0]
    child_extra = np.zeros((diff.shape[0], len(hierarchy.labels[0])))
    np.add.at(child_extra.T, child_codes, extra.T)
    for level in range(1, top + 1):
        parent = hierarchy.up(level - 1, level)
        n_parent = len(hierarchy.labels[level])
        pos = np.zeros((diff.shape[0], n_parent))
        neg = np.zeros((diff.shape[0], n_parent))
        np.add.at(pos.T, parent, np.clip(child_extra, 0, None).T)
        np.add.at(neg.T, parent, np.clip(-child_extra, 0, None).T)
        cost += (level / top) * np.minimum(pos, neg).sum(axis=1)
        child_extra = pos - neg
    return cost


@dataclass
class KMapZip3(Criterion):
    """k-map against ZIP3 populations, estimated for each class from its area's population."""

    k: int
    column: int  # index of the ZIP quasi-identifier
    area_population: list[FloatArray]  # per level of the ZIP hierarchy: population per label
    name = "k-map"

    def class_ok(self, nc: NodeClasses) -> BoolArray:
        level = nc.levels[self.column]
        area = nc.column(self.column)
        sample = np.bincount(area, weights=nc.sizes)[area]
        estimate = self.area_population[level][area] * nc.sizes / sample
        return np.asarray(estimate >= self.k - _EPS)


def build_criteria(
    spec: AnonymizeSpec,
    ctx: SensitiveContext | None,
    kmap_population: list[FloatArray] | None,
) -> list[Criterion]:
    """The criteria objects of a validated spec."""
    out: list[Criterion] = []
    if spec.k is not None:
        out.append(KAnonymity(spec.k))
    if spec.max_risk is not None:
        out.append(MaxRisk(spec.max_risk))
    if spec.l_diversity is not None:
        ld = spec.l_diversity
        if ld.variant is LVariant.DISTINCT:
            out.append(DistinctL(int(ld.l)))
        elif ld.variant is LVariant.ENTROPY:
            out.append(EntropyL(ld.l))
        else:
            out.append(RecursiveCL(float(ld.c or 1.0), int(ld.l)))
    if spec.t_closeness is not None and ctx is not None:
        out.append(TCloseness(spec.t_closeness.t, spec.t_closeness.measure, ctx))
    if spec.k_map is not None and kmap_population is not None:
        out.append(KMapZip3(spec.k_map.k, spec.qi.index(spec.k_map.column), kmap_population))
    if spec.avg_risk is not None:
        out.append(AverageRisk(spec.avg_risk))
    return out


@dataclass(frozen=True)
class Verdict:
    """Outcome of the models on one node."""

    feasible: bool
    monotone_feasible: bool
    suppressed: BoolArray  # per class
    suppressed_records: int


def judge(
    nc: NodeClasses, criteria: Sequence[Criterion], limit: float, suppression: bool
) -> Verdict:
    """Suppress failing classes; feasible if within ``limit`` records and dataset models hold."""
    ok_all = np.ones(len(nc.sizes), dtype=bool)
    ok_mono = np.ones(len(nc.sizes), dtype=bool)
    for crit in criteria:
        if crit.class_level:
            ok = crit.class_ok(nc)
            ok_all &= ok
            if crit.monotone(suppression):
                ok_mono &= ok
    sup_all = int(nc.sizes[~ok_all].sum())
    sup_mono = int(nc.sizes[~ok_mono].sum())
    feasible = sup_all <= limit + _EPS and all(
        c.holds(nc, ok_all) for c in criteria if not c.class_level
    )
    mono = sup_mono <= limit + _EPS and all(
        c.holds(nc, ok_mono) for c in criteria if not c.class_level and c.monotone(suppression)
    )
    return Verdict(feasible, mono, ~ok_all, sup_all)
