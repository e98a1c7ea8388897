"""Post-processing of noisy counts: non-negativity, suppression of small cells, intervals.

Post-processing of a differentially private output costs no privacy. Negative noisy counts are
released as 0; counts below the suppression threshold are shown as suppressed (no number), so a
reader never sees a small number that looks exact.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter

from healthwall.model.aggregate import Cell

_CELLS: TypeAdapter[list[Cell]] = TypeAdapter(list[Cell])


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
    shown = values >= suppress_below
    rows = zip(keys, values.tolist(), low.tolist(), high.tolist(), shown.tolist(), strict=True)
    raw = [
        {
            "keys": dict(zip(dimensions, key, strict=True)),
            "count": v if ok else None,
            "suppressed": not ok,
            "ci_low": lo if ok else None,
            "ci_high": hi if ok else None,
        }
        for key, v, lo, hi, ok in rows
    ]
    out = _CELLS.validate_python(raw)  # one validation pass in pydantic-core for all cells
    return out
