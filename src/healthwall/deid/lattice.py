"""The generalization lattice and the numpy roll-up of equivalence classes to a lattice node.

A node is a vector of levels, one per quasi-identifier. Node ``b`` is a generalization of ``a``
when ``b >= a`` componentwise; monotone privacy models hold for every generalization of a node
that satisfies them, which is what the search's predictive tagging relies on.

Rolling up never touches rows: a :class:`NodeTable` holds the distinct (label codes[, sensitive])
combinations of a node with their counts; generalizing it further maps each column's codes through
a level-to-level lookup array and re-groups (``np.unique`` on a combined integer key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from healthwall.deid.hierarchy import EncodedHierarchy
from healthwall.deid.histogram import Histogram
from healthwall.errors import TooLarge

IntArray = npt.NDArray[np.int64]
_KEY_LIMIT = 1 << 62
_DENSE_MIN = 1 << 12


class Lattice:
    """All full-domain generalizations of quasi-identifiers with the given heights."""

    def __init__(self, heights: Sequence[int], *, max_nodes: int = 2_000_000) -> None:
        self.heights = tuple(int(h) for h in heights)
        self.size = int(np.prod(self.heights, dtype=np.float64))
        if self.size > max_nodes:
            raise TooLarge(f"lattice has {self.size} nodes; more than {max_nodes}")
        grids = np.indices(self.heights, dtype=np.int16).reshape(len(self.heights), -1)
        self.nodes: npt.NDArray[np.int16] = np.ascontiguousarray(grids.T)
        self.height_of = self.nodes.sum(axis=1, dtype=np.int64)

    def generalizations(self, node: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
        """Mask of the nodes that generalize ``node`` (itself included)."""
        return np.asarray((self.nodes >= node).all(axis=1))

    def specializations(self, node: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
        """Mask of the nodes that ``node`` generalizes (itself included)."""
        return np.asarray((self.nodes <= node).all(axis=1))

    def index(self, node: Sequence[int]) -> int:
        return int(np.ravel_multi_index(tuple(int(v) for v in node), self.heights))

    def successors(self, idx: int) -> list[int]:
        """Indices of the nodes one level above ``idx`` in exactly one column."""
        node = self.nodes[idx]
        out = []
        for j, h in enumerate(self.heights):
            if node[j] + 1 < h:
                nxt = node.copy()
                nxt[j] += 1
                out.append(self.index(nxt.tolist()))
        return out


def group_keys(
    columns: Sequence[IntArray], radices: Sequence[int]
) -> tuple[IntArray, int, IntArray]:
    """Group rows by integer code columns: (inverse, number of groups, first row of each)."""
    n = len(columns[0]) if columns else 0
    if not columns:
        return np.zeros(n, dtype=np.int64), 1 if n else 0, np.zeros(min(n, 1), dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    span = 1
    for col, radix in zip(columns, radices, strict=True):
        if span * max(radix, 1) >= _KEY_LIMIT:
            _, key = np.unique(key, return_inverse=True)
            key = key.astype(np.int64)
            span = int(key.max()) + 1 if n else 1
        key = key * max(radix, 1) + col
        span *= max(radix, 1)
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), len(uniq), first.astype(np.int64)


@dataclass(frozen=True)
class NodeTable:
    """Distinct (label codes[, sensitive]) combinations of one node, with counts."""

    levels: tuple[int, ...]
    codes: IntArray  # (F, Q) label codes at ``levels``
    counts: IntArray
    sensitive: IntArray | None
    _memo: dict[tuple[int, int], IntArray] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def finest(cls, hist: Histogram, encoded: Sequence[EncodedHierarchy]) -> NodeTable:
        """The bottom node: data value codes mapped to level-0 label codes."""
        cols = [enc.level_maps[0][hist.codes[:, j]] for j, enc in enumerate(encoded)]
        codes = np.stack(cols, axis=1) if cols else hist.codes
        return cls((0,) * len(encoded), codes, hist.counts, hist.sensitive)

    def roll_up(
        self, target: Sequence[int], encoded: Sequence[EncodedHierarchy], n_sensitive: int
    ) -> NodeTable:
        """Generalize to ``target`` (>= ``self.levels``) and merge equal combinations."""
        cols = [self._mapped(j, enc, int(target[j])) for j, enc in enumerate(encoded)]
        radices = [len(enc.labels[int(target[j])]) for j, enc in enumerate(encoded)]
        if self.sensitive is not None:
            cols.append(self.sensitive)
            radices.append(n_sensitive)
        levels = tuple(int(t) for t in target)
        span = float(np.prod([max(r, 1) for r in radices], dtype=np.float64))
        if span <= max(_DENSE_MIN, 2 * len(self.counts)):
            return self._dense(levels, cols, radices, len(encoded))
        inverse, groups, first = group_keys(cols, radices)
        counts = np.bincount(inverse, weights=self.counts, minlength=groups).astype(np.int64)
        codes = np.stack([c[first] for c in cols[: len(encoded)]], axis=1)
        sens = self.sensitive[first] if self.sensitive is not None else None
        return NodeTable(levels, codes, counts, sens)

    def _mapped(self, j: int, enc: EncodedHierarchy, level: int) -> IntArray:
        """Column ``j``'s codes at ``level`` (memoized: cached tables are reused as sources)."""
        key = (j, level)
        memo = self._memo
        if key not in memo:
            if level == self.levels[j]:
                memo[key] = self.codes[:, j]
            else:
                memo[key] = enc.up(self.levels[j], level)[self.codes[:, j]]
        return memo[key]

    def _dense(
        self, levels: tuple[int, ...], cols: list[IntArray], radices: list[int], q: int
    ) -> NodeTable:
        """Group by counting into a dense array of all combinations (small key spaces)."""
        dims = tuple(max(r, 1) for r in radices)
        key = (
            np.ravel_multi_index(tuple(cols), dims)
            if cols
            else np.zeros(len(self.counts), np.int64)
        )
        total = np.bincount(key, weights=self.counts, minlength=int(np.prod(dims)))
        present = np.flatnonzero(total)
        parts = np.unravel_index(present, dims)
        codes = (
            np.stack([p.astype(np.int64) for p in parts[:q]], axis=1)
            if q
            else np.zeros((len(present), 0), dtype=np.int64)
        )
        sens = parts[q].astype(np.int64) if self.sensitive is not None else None
        return NodeTable(levels, codes, total[present].astype(np.int64), sens)


@dataclass(frozen=True)
class NodeClasses:
    """The equivalence classes of one node, and (if any) their sensitive value counts."""

    levels: tuple[int, ...]
    codes: IntArray  # (C, Q) label codes of each class
    sizes: IntArray  # (C,)
    pair_class: IntArray | None = None  # per (class, sensitive value) pair: class index
    pair_sensitive: IntArray | None = None
    pair_counts: IntArray | None = None

    @classmethod
    def of(cls, table: NodeTable, encoded: Sequence[EncodedHierarchy]) -> NodeClasses:
        if table.sensitive is None:
            return cls(table.levels, table.codes, table.counts)
        cols = [table.codes[:, j] for j in range(table.codes.shape[1])]
        radices = [len(enc.labels[table.levels[j]]) for j, enc in enumerate(encoded)]
        inverse, groups, first = group_keys(cols, radices)
        sizes = np.bincount(inverse, weights=table.counts, minlength=groups).astype(np.int64)
        return cls(
            table.levels,
            table.codes[first],
            sizes,
            pair_class=inverse,
            pair_sensitive=table.sensitive,
            pair_counts=table.counts,
        )
