"""Utility metrics bound to one problem: node-level lower bounds and exact scores.

The search needs, for every lattice node, a cheap lower bound of the metric (exact for the metrics
that depend only on the node: precomputed entropy and height), and the exact score of a node whose
classes it has rolled up. The arithmetic itself lives in :mod:`healthwall.risk.utility`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from healthwall.deid.hierarchy import EncodedHierarchy
from healthwall.deid.histogram import Histogram
from healthwall.deid.lattice import NodeClasses
from healthwall.model.anonymize import UtilityMetric
from healthwall.risk import utility

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Scorer:
    """Scores of one metric over one histogram's lattice."""

    def __init__(
        self,
        metric: UtilityMetric,
        hist: Histogram,
        encoded: Sequence[EncodedHierarchy],
        gs_factor: float,
    ) -> None:
        self.metric = metric
        self.encoded = list(encoded)
        self.gf, self.sf = utility.gs_factors(gs_factor)
        self.node_only = metric in (UtilityMetric.ENTROPY, UtilityMetric.HEIGHT)
        self._costs: list[list[FloatArray]] = []
        if metric is UtilityMetric.ENTROPY:
            self._entropy = [
                utility.entropy_table(
                    np.bincount(
                        hist.codes[:, j], weights=hist.counts, minlength=len(hist.values[j])
                    ),
                    enc.level_maps,
                )
                for j, enc in enumerate(encoded)
            ]
        elif metric is UtilityMetric.LOSS:
            self._costs = [_domain_shares(enc) for enc in encoded]
        elif metric is UtilityMetric.PRECISION:
            self._costs = [
                [
                    np.full(len(enc.labels[lv]), lv / max(enc.height - 1, 1))
                    for lv in range(enc.height)
                ]
                for enc in encoded
            ]

    def bounds(self, nodes: npt.NDArray[np.int16]) -> FloatArray:
        """Lower bound of the score of every node (exact when ``node_only``)."""
        if self.metric is UtilityMetric.ENTROPY:
            return utility.precomputed_entropy(self._entropy, nodes, self.gf)
            return np.asarray(nodes.sum(axis=1), dtype=np.float64)
            return nodes.sum(axis=1).astype(np.float64)
        if self._costs:
            per_level = [
                np.array([float(c.min()) if c.size else 0.0 for c in costs])
                for costs in self._costs
            ]
            node_cost = np.stack([per_level[j][nodes[:, j]] for j in range(nodes.shape[1])], axis=1)
            return utility.cell_average_bound(node_cost, self.gf, self.sf)
        return np.zeros(len(nodes), dtype=np.float64)

    def score(self, nc: NodeClasses, suppressed: BoolArray) -> float:
        """Exact score of a node's classes with the given classes suppressed."""
        if self.metric is UtilityMetric.ENTROPY:
            nodes = np.asarray([nc.levels], dtype=np.int16)
            return float(utility.precomputed_entropy(self._entropy, nodes, self.gf)[0])
        if self.metric is UtilityMetric.HEIGHT:
            return float(sum(nc.levels))
        if self.metric is UtilityMetric.DISCERNIBILITY:
            return utility.discernibility(nc.sizes, suppressed)
        if self.metric is UtilityMetric.AECS:
            return utility.aecs(nc.sizes, suppressed)
        cell = (
            np.stack([self._costs[j][lv][nc.codes[:, j]] for j, lv in enumerate(nc.levels)], axis=1)
            if nc.levels
            else np.zeros((len(nc.sizes), 0))
        )
        return utility.cell_average(cell, nc.sizes, suppressed, self.gf, self.sf)


def _domain_shares(enc: EncodedHierarchy) -> list[FloatArray]:
    """Per level, each label's share of the column's domain: (leaves - 1) / (domain - 1)."""
    domain = len(enc.row_codes[0])
    out = []
    for level in range(enc.height):
        leaves = np.bincount(enc.row_codes[level], minlength=len(enc.labels[level]))
        out.append((leaves - 1) / max(domain - 1, 1))
    return out
