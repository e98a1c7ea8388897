"""Post-processing of noisy counts: non-negativity, suppression of small cells, intervals.

Post-processing of a differentially private output costs no privacy. Negative noisy counts are
released as 0; counts below the suppression threshold are shown as suppressed (no number), so a
reader never sees a small number that looks exact.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from healthwall.model.aggregate import Cell


def clamp(noisy: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Non-negativity: a count is never below zero."""
    return np.maximum(noisy, 0)


def cells(
    dimensions: list[str],
    keys: list[tuple[str, ...]],
    noisy: npt.NDArray[np.int64],
    *,
    suppress_below: int,
    half_width: int,
) -> list[Cell]:
    """Cells in key order; each non-suppressed cell carries its interval clipped at 0."""
    values = clamp(noisy)
    low = np.maximum(values - half_width, 0)
    high = values + half_width
    out: list[Cell] = []
    for i, key in enumerate(keys):
        named = dict(zip(dimensions, key, strict=True))
        v = int(values[i])
        if v < suppress_below:
            out.append(Cell(keys=named, count=None, suppressed=True, ci_low=None, ci_high=None))
        else:
            out.append(
                Cell(
                    keys=named, count=v, suppressed=False, ci_low=int(low[i]), ci_high=int(high[i])
                )
            )
    return out
