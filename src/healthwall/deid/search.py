"""Globally optimal full-domain generalization (Flash-style) and a heuristic for huge lattices.

**Optimal search.** Every node gets a lower bound of the metric (exact for node-only metrics such
as ARX's precomputed entropy). Phase A classifies nodes against the *monotone* privacy models the
way Flash does: take the lowest unclassified node, build a path upwards through unclassified nodes,
binary-search the path for its lowest feasible node, and tag by monotonicity -- a feasible node
makes all its generalizations feasible, an infeasible one all its specializations infeasible. When
every model is monotone and the metric is node-only, nodes whose score cannot beat the best feasible
node found so far are dropped without a check. Phase B walks the monotone-feasible nodes in order of
their lower bound, checks the remaining (non-monotone) models and computes exact scores, and stops
when the next bound cannot beat the best score. The result is the global optimum; ties go to the
lower node (smaller level sum), then to the smaller lattice index.

**Heuristic search** (lattices over the exhaustive limit): greedy ascent from the bottom node,
always to the successor with the lowest bound, until a node satisfies all models, then a greedy
descent to feasible specializations with a better score. It guarantees the result satisfies every
model and is locally minimal (no feasible immediate specialization scores better), not optimality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import numpy.typing as npt

from healthwall.deid.criteria import Criterion, KAnonymity, MaxRisk, Verdict, judge
from healthwall.deid.hierarchy import EncodedHierarchy
from healthwall.deid.histogram import Histogram
from healthwall.deid.lattice import Lattice, NodeClasses, NodeTable
from healthwall.deid.scoring import Scorer
from healthwall.errors import Refused

EXHAUSTIVE_LIMIT = 2_000_000
_CACHE = 64
_CACHE_ROWS = 3_000_000
_QUANTILE = 0.95
_PAIR_CELLS = 4_000_000
_PAIR_MIN_RECORDS = 0
_PIN_EVERY = 32
_PIN_Q = 0.0


@dataclass
class Evaluated:
    """One checked node."""

    levels: tuple[int, ...]
    verdict: Verdict
    classes: NodeClasses
    score: float


@dataclass
class SearchResult:
    best: Evaluated
    checked: int
    lattice_size: int
    optimal: bool


@dataclass
class Evaluator:
    """Rolls up and judges nodes, reusing the smallest cached specialization as the source."""

    hist: Histogram
    encoded: Sequence[EncodedHierarchy]
    criteria: Sequence[Criterion]
    limit: float
    scorer: Scorer
    checked: int = 0
    _cache: dict[tuple[int, ...], NodeTable] = field(default_factory=dict)
    _pinned: dict[tuple[int, ...], NodeTable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n_sensitive = len(self.hist.sensitive_values or [])
        self.finest = NodeTable.finest(self.hist, self.encoded)
        has_class = any(c.class_level for c in self.criteria)
        self.suppression = self.limit > 0 and has_class

    def pin(self, levels: tuple[int, ...]) -> None:
        """Keep the table of ``levels`` (a common specialization of what is left to check)."""
        if levels not in self._pinned:
            self._pinned[levels] = self.table(levels)

    def table(self, levels: tuple[int, ...]) -> NodeTable:
        """The node's table, rolled up from the smallest cached specialization."""
        source = self.finest
        for lv, tab in self._pinned.items():
            if len(tab.counts) < len(source.counts) and all(
                a <= b for a, b in zip(lv, levels, strict=True)
            ):
                source = tab
        if self._cache:
            keys = list(self._cache)
            below = (np.asarray(keys) <= np.asarray(levels)).all(axis=1)
            for i in np.flatnonzero(below).tolist():
                tab = self._cache[keys[i]]
                if len(tab.counts) < len(source.counts):
                    source = tab
        if source.levels == levels:
            return source
        table = source.roll_up(levels, self.encoded, self.n_sensitive)
        while self._cache and (
            len(self._cache) >= _CACHE
            or sum(len(t.counts) for t in self._cache.values()) + len(table.counts) > _CACHE_ROWS
        ):
            self._cache.pop(next(iter(self._cache)))
        if len(table.counts) <= _CACHE_ROWS:
            self._cache[levels] = table
        return table

    def evaluate(self, levels: tuple[int, ...]) -> Evaluated:
        self.checked += 1
        classes = NodeClasses.of(self.table(levels), self.encoded)
        verdict = judge(classes, self.criteria, self.limit, self.suppression)
        score = self.scorer.score(classes, verdict.suppressed) if verdict.feasible else np.inf
        return Evaluated(levels, verdict, classes, float(score))


def _levels(lattice: Lattice, idx: int) -> tuple[int, ...]:
    return tuple(int(v) for v in lattice.nodes[idx])


class _Flash:
    """Phase A state: status per node (0 unknown, 1 feasible, -1 infeasible, 2 pruned)."""

    def __init__(self, lattice: Lattice, bounds: npt.NDArray[np.float64], prune: bool) -> None:
        self.lattice = lattice
        self.bounds = bounds
        self.prune = prune
        self.status = np.zeros(lattice.size, dtype=np.int8)
        self.best: Evaluated | None = None
        self.best_idx = -1
        self.seen: dict[int, Evaluated] = {}

    def run(self, ev: Evaluator) -> None:
        if self.prune:
            self._run_by_bound(ev)
        else:
            self._run_paths(ev)

    def _run_by_bound(self, ev: Evaluator) -> None:
        """Check the unknown node at the 95th percentile of the bounds below the best score.

        A feasible node there prunes every node scoring above it; an infeasible one tags its
        (large) set of specializations. Measured on Adult, this needs about half the checks of
        bottom-up path search.
        """
        order = np.lexsort((self.lattice.height_of, self.bounds))
        while True:
            best = self.best.score if self.best is not None else np.inf
            live = order[(self.status[order] == 0) & (self.bounds[order] <= best)]
            if len(live) == 0:
                return
            if ev.checked % _PIN_EVERY == 0:
                floor = np.quantile(self.lattice.nodes[live], _PIN_Q, axis=0, method="lower")
                ev.pin(tuple(int(v) for v in floor))
            self._check(ev, int(live[int(_QUANTILE * (len(live) - 1))]))

    def _run_paths(self, ev: Evaluator) -> None:
        lat = self.lattice
        order = np.lexsort((self.bounds, lat.height_of))
        cursor = 0
        while cursor < len(order):
            start = int(order[cursor])
            if self.status[start] != 0:
                cursor += 1
                continue
            path = self._path(start)
            lo, hi = 0, len(path) - 1
            while lo <= hi:
                mid = (lo + hi) // 2
                idx = path[mid]
                if self.status[idx] == 0:
                    self._check(ev, idx)
                if self.status[idx] == -1:
                    lo = mid + 1
                else:
                    hi = mid - 1

    def _path(self, start: int) -> list[int]:
        path = [start]
        current = start
        while True:
            nxt = [s for s in self.lattice.successors(current) if self.status[s] == 0]
            if not nxt:
                return path
            current = min(nxt, key=lambda s: (self.bounds[s], s))
            path.append(current)

    def _check(self, ev: Evaluator, idx: int) -> None:
        lat = self.lattice
        result = ev.evaluate(_levels(lat, idx))
        self.seen[idx] = result
        unknown = np.flatnonzero(self.status == 0)
        if not result.verdict.monotone_feasible:
            below = (lat.nodes[unknown] <= lat.nodes[idx]).all(axis=1)
            self.status[unknown[below]] = -1
            self.status[idx] = -1
            return
        above = (lat.nodes[unknown] >= lat.nodes[idx]).all(axis=1)
        self.status[unknown[above]] = 1
        self.status[idx] = 1
        if (
            self.prune
            and result.verdict.feasible
            and _better(result, idx, self.best, self.best_idx, lat)
        ):
            self.best, self.best_idx = result, idx
            self.status[(self.status == 0) & (self.bounds > result.score)] = 2


def _better(a: Evaluated, ia: int, b: Evaluated | None, ib: int, lat: Lattice) -> bool:
    if b is None:
        return True
    key_a = (a.score, int(lat.height_of[ia]), ia)
    key_b = (b.score, int(lat.height_of[ib]), ib)
    return key_a < key_b


def pair_suppression_bounds(ev: Evaluator, lattice: Lattice, k: int) -> npt.NDArray[np.float64]:
    """Lower bound of the records every node must suppress for k-anonymity, from column pairs.

    Projecting a node's classes onto two columns merges them, so records in a projected class
    smaller than ``k`` lie in classes smaller than ``k``: they are suppressed at the node whatever
    the other columns are (Incognito's subset property). Pair tables are counted once at level 0
    and rolled up on the (small) pair grid; pairs with too large a grid are skipped.
    """
    enc, finest = ev.encoded, ev.finest  # finest: level-0 label codes, computed once
    bound = np.zeros(lattice.size, dtype=np.float64)
    for i, j in combinations(range(len(enc)), 2):
        ni, nj = len(enc[i].labels[0]), len(enc[j].labels[0])
        if ni * nj > _PAIR_CELLS:
            continue
        pair = finest.column(i) * nj + finest.column(j)
        base = np.bincount(pair, weights=finest.weights(), minlength=ni * nj)
        table = np.zeros((enc[i].height, enc[j].height), dtype=np.float64)
        for li in range(enc[i].height):
            for lj in range(enc[j].height):
                ui, uj = enc[i].up(0, li), enc[j].up(0, lj)
                width = len(enc[j].labels[lj])
                cells = (ui[:, None] * width + uj[None, :]).ravel()
                grid = np.bincount(cells, weights=base, minlength=len(enc[i].labels[li]) * width)
                table[li, lj] = grid[(grid > 0) & (grid < k)].sum()
        bound = np.maximum(bound, table[lattice.nodes[:, i], lattice.nodes[:, j]])
    return bound


def optimal_search(ev: Evaluator, heights: Sequence[int]) -> SearchResult:
    """Globally optimal node under all models (see the module docstring)."""
    lattice = Lattice(heights, max_nodes=EXHAUSTIVE_LIMIT)
    bounds = ev.scorer.bounds(lattice.nodes)
    all_mono = all(c.monotone(ev.suppression) for c in ev.criteria)
    flash = _Flash(lattice, bounds, prune=all_mono and ev.scorer.node_only)
    k = max((c.k for c in ev.criteria if isinstance(c, KAnonymity | MaxRisk)), default=0)
    if k > 1 and ev.hist.records >= _PAIR_MIN_RECORDS:
        flash.status[pair_suppression_bounds(ev, lattice, k) > ev.limit + 1e-9] = -1
    flash.run(ev)
    best, best_idx = flash.best, flash.best_idx
    candidates = np.flatnonzero(flash.status == 1)
    candidates = candidates[
        np.lexsort((candidates, lattice.height_of[candidates], bounds[candidates]))
    ]
    for idx in candidates.tolist():
        if best is not None and bounds[idx] > best.score:
            break
        result = flash.seen.get(idx) or ev.evaluate(_levels(lattice, idx))
        if result.verdict.feasible and _better(result, idx, best, best_idx, lattice):
            best, best_idx = result, idx
    if best is None:
        raise _refusal(ev)
    return SearchResult(best, ev.checked, lattice.size, optimal=True)


def heuristic_search(ev: Evaluator, heights: Sequence[int]) -> SearchResult:
    """Greedy ascent to a feasible node, then greedy descent (see the module docstring)."""
    current = tuple(0 for _ in heights)
    result = ev.evaluate(current)
    while not result.verdict.feasible:
        options = [
            _bump(current, j, +1) for j in range(len(heights)) if current[j] + 1 < heights[j]
        ]
        if not options:
            raise _refusal(ev)
        scored = [(ev.scorer.bounds(np.asarray([o], dtype=np.int16))[0], o) for o in options]
        current = min(scored)[1]
        result = ev.evaluate(current)
    improved = True
    while improved:
        improved = False
        for j in range(len(heights)):
            if current[j] == 0:
                continue
            trial = ev.evaluate(_bump(current, j, -1))
            if trial.verdict.feasible and trial.score < result.score:
                current, result, improved = trial.levels, trial, True
                break
    size = int(np.prod(heights, dtype=np.float64))
    return SearchResult(result, ev.checked, size, optimal=False)


def _bump(node: tuple[int, ...], j: int, step: int) -> tuple[int, ...]:
    return tuple(v + step if i == j else v for i, v in enumerate(node))


def _refusal(ev: Evaluator) -> Refused:
    names = ", ".join(c.name for c in ev.criteria)
    return Refused(
        "no generalization satisfies the privacy models"
        f" ({names}) within the suppression limit of {ev.limit:.0f} records;"
        " even the most general node fails -- raise the suppression limit or relax a model"
    )


def search(ev: Evaluator, heights: Sequence[int]) -> SearchResult:
    """Optimal search when the lattice fits the exhaustive limit, heuristic otherwise."""
    size = int(np.prod(heights, dtype=np.float64))
    if size <= EXHAUSTIVE_LIMIT:
        return optimal_search(ev, heights)
    return heuristic_search(ev, heights)
