"""Applying a solution: output rows written by DuckDB, and local recoding of suppressed records.

**Full-domain recoding.** Each quasi-identifier is mapped to its label at the chosen level with a
join against a small (value, label) table; rows of suppressed classes get ``*`` in every
quasi-identifier, as ARX does. The output is written by DuckDB into a temporary file in the
destination directory and renamed into place.

**Local recoding** (``--local-recoding``) re-anonymizes the records the global solution
suppressed: the search runs again on their histogram alone (same models, no suppression budget
left beyond what remains), and the records whose classes satisfy the models there are released at
that second node's levels instead of being suppressed. Classes of different passes are never merged
in the accounting, so each pass's classes meet the models on their own; a class label that occurs in
two passes only makes the released class larger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from healthwall.deid.hierarchy import EncodedHierarchy
from healthwall.deid.histogram import Histogram, quote
from healthwall.deid.lattice import group_keys
from healthwall.errors import InvalidInput

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Pass:
    """One generalization pass: which finest rows it releases, and at which levels."""

    levels: tuple[int, ...]
    released: BoolArray  # per finest-histogram row: released by this pass
    suppressed: BoolArray  # per finest-histogram row: suppressed at this pass


def row_mask(
    hist: Histogram,
    encoded: Sequence[EncodedHierarchy],
    levels: Sequence[int],
    class_codes: IntArray,
    class_mask: BoolArray,
) -> BoolArray:
    """Which finest-histogram rows fall into the classes selected by ``class_mask``."""
    n = len(hist.counts)
    if len(class_codes) == 0 or not class_mask.any():
        return np.zeros(n, dtype=bool)
    pairs = list(zip(encoded, levels, strict=True))
    rows = [enc.level_maps[lv][hist.codes[:, j]] for j, (enc, lv) in enumerate(pairs)]
    radices = [len(enc.labels[lv]) for enc, lv in pairs]
    both = [np.concatenate([r, class_codes[class_mask, j]]) for j, r in enumerate(rows)]
    inverse, _, _ = group_keys(both, radices)
    return np.isin(inverse[:n], inverse[n:])


def write_output(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: Sequence[str],
    hist: Histogram,
    encoded: Sequence[EncodedHierarchy],
    passes: Sequence[Pass],
    out: Path,
) -> int:
    """Write every row with its quasi-identifiers generalized; returns the number of rows."""
    qi = list(hist.columns)
    register_passes(con, hist, encoded, passes)
    keys = [f"coalesce(CAST(t.{quote(c)} AS VARCHAR), '')" for c in qi]
    join = " AND ".join(f"p.v{j} = {k}" for j, k in enumerate(keys))
    select = ", ".join(
        f"p.g{qi.index(c)} AS {quote(c)}" if c in qi else f"t.{quote(c)}" for c in columns
    )
    sql = f"SELECT {select} FROM ({relation}) t JOIN hw_passes p ON {join}"
    return _copy(con, sql, out)


def register_passes(
    con: duckdb.DuckDBPyConnection,
    hist: Histogram,
    encoded: Sequence[EncodedHierarchy],
    passes: Sequence[Pass],
) -> None:
    """A table: distinct original QI tuple -> released labels (or ``*`` when suppressed)."""
    rows = len(hist.counts)
    labels = [np.full(rows, "*", dtype=object) for _ in hist.columns]
    for p in passes:
        for j, enc in enumerate(encoded):
            lab = np.asarray(enc.labels[p.levels[j]], dtype=object)
            mapped = lab[enc.level_maps[p.levels[j]][hist.codes[:, j]]]
            labels[j][p.released] = mapped[p.released]
    data: dict[str, npt.NDArray[Any]] = {
        f"v{j}": np.asarray(hist.values[j], dtype=str)[hist.codes[:, j]]
        for j in range(len(hist.columns))
    }
    data.update({f"g{j}": labels[j].astype(str) for j in range(len(labels))})
    data["n"] = hist.counts
    # a dict of numpy arrays: DuckDB scans it directly (no pandas/arrow conversion at start-up)
    con.register("hw_passes_view", data)
    keys = ", ".join(k for k in data if k != "n")
    # with a sensitive attribute the histogram is finer than the QI tuple: one row per QI tuple
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE hw_passes AS SELECT {keys}, sum(n) AS n"
        " FROM hw_passes_view GROUP BY ALL"
    )
    con.unregister("hw_passes_view")


def output_class_sizes(con: duckdb.DuckDBPyConnection, q: int) -> IntArray:
    """Sizes of the output's classes by label tuple (all passes merged; ``*`` rows form one)."""
    keys = ", ".join(f"g{j}" for j in range(q))
    sql = (
        f"SELECT sum(n) AS s FROM hw_passes GROUP BY {keys}"
        if q
        else "SELECT sum(n) AS s FROM hw_passes"
    )
    return np.asarray(con.execute(sql).fetchnumpy()["s"], dtype=np.int64)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, out: Path) -> int:
    """Atomic COPY through the engine seam (temporary file + rename)."""
    from healthwall.engine.duckdb import DuckDBEngine

    name = out.name.lower()
    if not name.endswith((".parquet", ".pq", ".csv")):
        raise InvalidInput(f"{out.name}: the output must end in .csv or .parquet", field="out")
    return DuckDBEngine(con, None).copy_to(sql, out)
