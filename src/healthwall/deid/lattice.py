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
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from healthwall.deid.hierarchy import EncodedHierarchy
from healthwall.deid.histogram import Histogram
from healthwall.errors import TooLarge

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
_KEY_LIMIT = 1 << 62
_DENSE_MIN = 1 << 12
_DENSE_MAX = 1 << 22
_DENSE_FACTOR = 8  # dense counting while the key space is at most this many times the rows
_HASH_MIN = 200_000
_SCRATCH: list[duckdb.DuckDBPyConnection] = []


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


def _scratch() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB connection for large roll-ups (hash aggregation)."""
    if not _SCRATCH:
        con = duckdb.connect(":memory:")
        con.execute("SET enable_progress_bar = false")
        _SCRATCH.append(con)
    return _SCRATCH[0]


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


class NodeTable:
    """Distinct (label codes[, sensitive]) combinations of one node, with counts.

    Codes are kept either as a (F, Q) matrix or as one mixed-radix key per row (``dims``), decoded
    per column only when needed: most checked nodes only need their class sizes.
    """

    def __init__(
        self,
        levels: tuple[int, ...],
        counts: IntArray,
        sensitive: IntArray | None,
        *,
        codes: IntArray | None = None,
        key: IntArray | None = None,
        dims: tuple[int, ...] = (),
    ) -> None:
        self.levels = levels
        self.counts = counts
        self.sensitive = sensitive
        self._codes = codes
        self._key = key
        self._dims = dims
        self._memo: dict[tuple[int, int], IntArray] = {}
        self._memo32: dict[tuple[int, int], Int32Array] = {}
        self._weights: npt.NDArray[np.float64] | None = None
        self._unit: bool | None = None

    def weights(self) -> npt.NDArray[np.float64] | None:
        """Counts as ``bincount`` weights, or None when every row is one record.

        Unweighted ``bincount`` is several times faster, and the finest histogram of data whose
        records are (nearly) all unique is all ones; the float conversion is done once per table.
        """
        if self._unit is None:
            self._unit = bool(len(self.counts) == 0 or int(self.counts.max()) <= 1)
            if not self._unit:
                self._weights = self.counts.astype(np.float64)
        return self._weights

    @property
    def codes(self) -> IntArray:
        """(F, Q) label codes at ``levels``."""
        if self._codes is None:
            q = len(self.levels)
            cols = [self.column(j) for j in range(q)]
            self._codes = (
                np.stack(cols, axis=1) if cols else np.zeros((len(self.counts), 0), np.int64)
            )
        return self._codes

    def column(self, j: int) -> IntArray:
        """Label codes of column ``j``."""
        if self._codes is not None:
            return self._codes[:, j]
        assert self._key is not None
        stride = int(np.prod(self._dims[j + 1 :], dtype=np.int64))
        return np.asarray((self._key // stride) % self._dims[j], dtype=np.int64)

    @classmethod
    def finest(cls, hist: Histogram, encoded: Sequence[EncodedHierarchy]) -> NodeTable:
        """The bottom node: data value codes mapped to level-0 label codes."""
        cols = [enc.level_maps[0][hist.codes[:, j]] for j, enc in enumerate(encoded)]
        codes = np.stack(cols, axis=1) if cols else hist.codes
        return cls((0,) * len(encoded), hist.counts, hist.sensitive, codes=codes)

    def roll_up(
        self, target: Sequence[int], encoded: Sequence[EncodedHierarchy], n_sensitive: int
    ) -> NodeTable:
        """Generalize to ``target`` (>= ``self.levels``) and merge equal combinations."""
        radices = [len(enc.labels[int(target[j])]) for j, enc in enumerate(encoded)]
        if self.sensitive is not None:
            radices.append(n_sensitive)
        levels = tuple(int(t) for t in target)
        span = float(np.prod([max(r, 1) for r in radices], dtype=np.float64))
        rows = len(self.counts)
        if span <= max(_DENSE_MIN, min(_DENSE_FACTOR * rows, _DENSE_MAX)):
            small = [self._mapped32(j, enc, levels[j]) for j, enc in enumerate(encoded)]
            if self.sensitive is not None:
                small.append(self._sensitive32())
            return self._dense(levels, small, radices, len(encoded))
        cols = [self._mapped(j, enc, levels[j]) for j, enc in enumerate(encoded)]
        if self.sensitive is not None:
            cols.append(self.sensitive)
        if rows >= _HASH_MIN and span < _KEY_LIMIT:
            return self._hashed(levels, cols, radices, len(encoded))
        if rows * max(radices, default=1) <= _DENSE_MAX:
            return self._compacted(levels, cols, radices, len(encoded))
        if span < _KEY_LIMIT:
            return self._sorted(levels, cols, radices, len(encoded))
        inverse, groups, first = group_keys(cols, radices)
        counts = np.bincount(inverse, weights=self.counts, minlength=groups).astype(np.int64)
        codes = np.stack([c[first] for c in cols[: len(encoded)]], axis=1)
        sens = self.sensitive[first] if self.sensitive is not None else None
        return NodeTable(levels, counts, sens, codes=codes)

    def _mapped(self, j: int, enc: EncodedHierarchy, level: int) -> IntArray:
        """Column ``j``'s codes at ``level`` (memoized: cached tables are reused as sources)."""
        key = (j, level)
        memo = self._memo
        if key not in memo:
            if level == self.levels[j]:
                memo[key] = self.column(j)
            else:
                memo[key] = enc.up(self.levels[j], level)[self.column(j)]
        return memo[key]

    def _mapped32(self, j: int, enc: EncodedHierarchy, level: int) -> Int32Array:
        """``_mapped`` as 32-bit codes: half the memory traffic for the dense roll-up's key."""
        key = (j, level)
        memo = self._memo32
        if key not in memo:
            if level == self.levels[j]:
                memo[key] = self.column(j).astype(np.int32)
            else:
                memo[key] = enc.up(self.levels[j], level).astype(np.int32)[self.column(j)]
        return memo[key]

    def _sensitive32(self) -> Int32Array:
        key = (-1, 0)
        if key not in self._memo32:
            assert self.sensitive is not None
            self._memo32[key] = self.sensitive.astype(np.int32)
        return self._memo32[key]

    def _compacted(
        self, levels: tuple[int, ...], cols: list[IntArray], radices: list[int], q: int
    ) -> NodeTable:
        """Group by a mixed-radix key that is re-ranked densely whenever its key space would
        outgrow the table, so every step is a ``bincount`` (no sort) even for large key spaces.

        The final key is a group rank, not a mixed-radix number, so the table keeps its codes:
        any row of a group carries the group's codes (all its rows share them).
        """
        rows = len(self.counts)
        limit = max(_DENSE_MIN, _DENSE_FACTOR * rows)
        key = np.zeros(rows, dtype=np.int64)
        span = 1
        for col, radix in zip(cols, radices, strict=True):
            r = max(radix, 1)
            if span * r > limit:
                rank = np.cumsum(np.bincount(key, minlength=span) > 0) - 1
                key = rank[key]
                span = int(rank[-1]) + 1
            key *= r
            key += col
            span *= r
        total = np.bincount(key, weights=self.weights(), minlength=span)
        present = total > 0
        group = (np.cumsum(present) - 1)[key]
        rep = np.empty(int(present.sum()), dtype=np.int64)
        rep[group] = np.arange(rows, dtype=np.int64)
        codes = np.stack([c[rep] for c in cols[:q]], axis=1) if q else np.zeros((len(rep), 0))
        sens = cols[q][rep] if self.sensitive is not None else None
        counts = np.asarray(total[present], dtype=np.int64)
        return NodeTable(levels, counts, sens, codes=np.asarray(codes, dtype=np.int64))

    def _sorted(
        self, levels: tuple[int, ...], cols: list[IntArray], radices: list[int], q: int
    ) -> NodeTable:
        """Group by sorting one combined integer key (medium tables, large key spaces)."""
        dims, key = self._combined_key(cols, radices)
        uniq, inverse = np.unique(key, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=self.counts, minlength=len(uniq))
        return self._keyed(levels, uniq.astype(np.int64), counts, dims, q)

    def _hashed(
        self, levels: tuple[int, ...], cols: list[IntArray], radices: list[int], q: int
    ) -> NodeTable:
        """Group a large table with DuckDB's hash aggregate over one combined integer key."""
        dims, key = self._combined_key(cols, radices)
        con = _scratch()
        con.register("hw_roll", {"k": key, "n": self.counts})
        res = con.execute("SELECT k, sum(n)::BIGINT AS n FROM hw_roll GROUP BY k").fetchnumpy()
        con.unregister("hw_roll")
        return self._keyed(levels, np.asarray(res["k"], dtype=np.int64), res["n"], dims, q)

    def _combined_key(
        self, cols: list[IntArray], radices: list[int]
    ) -> tuple[tuple[int, ...], IntArray]:
        """The columns as one mixed-radix integer per row, and the radices used (at least 1)."""
        dims = tuple(max(r, 1) for r in radices)
        key = np.zeros(len(self.counts), dtype=np.int64)
        for col, radix in zip(cols, dims, strict=True):
            key *= radix
            key += col
        return dims, key

    def _keyed(
        self, levels: tuple[int, ...], key: IntArray, counts: Any, dims: tuple[int, ...], q: int
    ) -> NodeTable:
        """A table whose rows are mixed-radix keys over ``dims`` (sensitive code last)."""
        sens = None
        if self.sensitive is not None:
            sens = np.asarray(key % dims[q], dtype=np.int64)
            key = key // dims[q]
        counts = np.asarray(counts, dtype=np.int64)
        return NodeTable(levels, counts, sens, key=key, dims=dims[:q])

    def _dense(
        self, levels: tuple[int, ...], cols: list[Int32Array], radices: list[int], q: int
    ) -> NodeTable:
        """Group by counting into a dense array of all combinations (small key spaces).

        The mixed-radix key is built by in-place multiply-add over 32-bit codes (the dense key
        space is below 2**31), cheaper than ``ravel_multi_index`` with its bounds checks.
        """
        dims = tuple(max(r, 1) for r in radices)
        span = int(np.prod(dims, dtype=np.int64))
        key = _mixed_key(cols, dims, len(self.counts))
        total = np.bincount(key, weights=self.weights(), minlength=span)
        present = np.flatnonzero(total)
        return self._keyed(levels, present, total[present], dims, q)


def _mixed_key(cols: Sequence[Int32Array], dims: Sequence[int], rows: int) -> Int32Array:
    """One mixed-radix integer per row: ``((c0 * d1 + c1) * d2 + c2) ...``."""
    if not cols:
        return np.zeros(rows, dtype=np.int32)
    key = cols[0].copy()
    for col, radix in zip(cols[1:], dims[1:], strict=True):
        key *= radix
        key += col
    return key


@dataclass(frozen=True)
class NodeClasses:
    """The equivalence classes of one node, and (if any) their sensitive value counts."""

    levels: tuple[int, ...]
    table: NodeTable
    sizes: IntArray  # (C,)
    first: IntArray | None = None  # with a sensitive attribute: first table row of each class
    pair_class: IntArray | None = None  # per (class, sensitive value) pair: class index
    pair_sensitive: IntArray | None = None
    pair_counts: IntArray | None = None

    @property
    def codes(self) -> IntArray:
        """(C, Q) label codes of each class."""
        codes = self.table.codes
        return codes if self.first is None else codes[self.first]

    def column(self, j: int) -> IntArray:
        col = self.table.column(j)
        return col if self.first is None else col[self.first]

    @classmethod
    def of(cls, table: NodeTable, encoded: Sequence[EncodedHierarchy]) -> NodeClasses:
        if table.sensitive is None:
            return cls(table.levels, table, table.counts)
        cols = [table.column(j) for j in range(len(table.levels))]
        radices = [len(enc.labels[table.levels[j]]) for j, enc in enumerate(encoded)]
        inverse, groups, first = group_keys(cols, radices)
        sizes = np.bincount(inverse, weights=table.counts, minlength=groups).astype(np.int64)
        return cls(
            table.levels,
            table,
            sizes,
            first=first,
            pair_class=inverse,
            pair_sensitive=table.sensitive,
            pair_counts=table.counts,
        )
