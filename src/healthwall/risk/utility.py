"""Utility (information loss) metrics as pure functions of equivalence-class data.

All metrics follow ARX's definitions (``org.deidentifier.arx.metric.v2``); lower is better:

- **non-uniform entropy, precomputed & monotonic** (``MetricMDNUEntropyPrecomputed``): for each
  column, ``sum_v a_v * log2(b_g(v) / a_v)`` where ``a_v`` counts value ``v`` in the *input* and
  ``b_g`` counts all input values that generalize to the same label ``g``; summed over columns and
  multiplied by the generalization factor. It depends only on the node, not on suppression.
- **loss** (``MetricMDNMLoss``): per cell, the generalized label's share of the column's domain,
  ``(leaves(g) - 1) / (leaves - 1)``, times the generalization factor; a suppressed cell costs the
  suppression factor. Averaged over cells.
- **precision** (``MetricMDPrecision``): per cell ``level / (height - 1)``; suppressed cells as in
  loss. Averaged over cells.
- **discernibility** (``MetricSDDiscernability``): ``sum s^2`` over kept classes plus
  ``n_suppressed * n_records``.
- **AECS** (``MetricSDAECS``): records per class, suppressed records counting as one class.
- **height**: the sum of the node's levels.

The gs-factor ``f`` in [0, 1] weighs generalization against suppression as ARX does: the
generalization factor is ``1`` for ``f <= 0.5`` else ``2 * (1 - f)``; the suppression factor is
``2 * f`` for ``f <= 0.5`` else ``1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def gs_factors(gs_factor: float) -> tuple[float, float]:
    """(generalization factor, suppression factor) of an ARX gs-factor."""
    if gs_factor <= 0.5:
        return 1.0, 2.0 * gs_factor
    return 2.0 * (1.0 - gs_factor), 1.0


def entropy_table(leaf_counts: IntArray, level_maps: Sequence[IntArray]) -> FloatArray:
    """Precomputed non-uniform entropy of one column at each level.

    ``leaf_counts[v]`` counts value code ``v`` in the input; ``level_maps[L][v]`` is its label code
    at level ``L``. Returns one value per level (0 at level 0).
    """
    out = np.zeros(len(level_maps), dtype=np.float64)
    a = leaf_counts.astype(np.float64)
    present = a > 0
    for level, mapping in enumerate(level_maps):
        b = np.bincount(mapping, weights=a)[mapping]
        out[level] = float(np.sum(a[present] * np.log2(b[present] / a[present])))
    return out


def precomputed_entropy(
    tables: Sequence[FloatArray], nodes: npt.NDArray[np.int16], gf: float
) -> FloatArray:
    """Score of every node (rows of ``nodes``) from per-column entropy tables."""
    total = np.zeros(len(nodes), dtype=np.float64)
    for j, table in enumerate(tables):
        total += table[nodes[:, j]]
    return total * gf


def discernibility(sizes: IntArray, suppressed: BoolArray) -> float:
    """DM*: kept classes cost their size squared; each suppressed record costs n_records."""
    n = float(sizes.sum())
    kept = sizes[~suppressed].astype(np.float64)
    return float(np.sum(kept * kept) + sizes[suppressed].sum() * n)


def aecs(sizes: IntArray, suppressed: BoolArray) -> float:
    """Average equivalence class size; all suppressed records form one class."""
    classes = int((~suppressed).sum()) + (1 if suppressed.any() else 0)
    return float(sizes.sum()) / classes if classes else 0.0


def cell_average(
    cell_cost: FloatArray, sizes: IntArray, suppressed: BoolArray, gf: float, sf: float
) -> float:
    """Average per-cell cost over all cells: ``cell_cost`` is (classes, columns) for kept cells.

    Used by loss (cost = domain share) and precision (cost = level / top level).
    """
    if cell_cost.size == 0 or sizes.sum() == 0:
        return 0.0
    cols = cell_cost.shape[1]
    kept = (~suppressed).astype(np.float64) * sizes
    gen = float(np.sum(cell_cost.sum(axis=1) * kept)) * gf
    sup = float(sizes[suppressed].sum()) * cols * sf
    return (gen + sup) / (float(sizes.sum()) * cols)


def cell_average_bound(node_cost: FloatArray, gf: float, sf: float) -> FloatArray:
    """Lower bound of :func:`cell_average` per node, from each node's cheapest possible cells.

    ``node_cost`` is (nodes, columns) of the smallest kept-cell cost at each node's level; a cell
    costs at least ``min(gf * cost, sf)`` whether or not it is suppressed.
    """
    return np.asarray(np.minimum(node_cost * gf, sf).mean(axis=1), dtype=np.float64)


def prosecutor_risk(sizes: IntArray) -> tuple[float, float]:
    """(record-averaged, highest) prosecutor re-identification risk of classes with these sizes."""
    sizes = sizes[sizes > 0]
    if sizes.size == 0:
        return 0.0, 0.0
    return float(len(sizes) / sizes.sum()), float(1.0 / sizes.min())
