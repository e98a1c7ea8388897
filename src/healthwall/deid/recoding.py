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

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from healthwall.deid.hierarchy import EncodedHierarchy
from healthwall.deid.histogram import INPUT_TABLE_RELATION, Histogram, quote
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
    *,
    drop_suppressed: bool = False,
) -> int:
    """Write every row with its quasi-identifiers generalized; returns the number of rows.

    Suppressed rows get ``*`` in every quasi-identifier (ARX), or are left out entirely with
    ``drop_suppressed``.

    Each input row finds its histogram row by the (QI[, sensitive]) values it was grouped on.
    """
    qi = list(hist.columns)
    register_passes(con, hist, encoded, passes)
    key_cols = [*qi, *([hist.sensitive_column] if hist.sensitive_column else [])]
    join = " AND ".join(
        f"p.c{j} = coalesce(CAST(t.{quote(c)} AS VARCHAR), '')" for j, c in enumerate(key_cols)
    )
    select = ", ".join(
        f"p.g{qi.index(c)} AS {quote(c)}" if c in qi else f"t.{quote(c)}" for c in columns
    )
    where = " WHERE p.pass_id >= 0" if drop_suppressed else ""
    source, order = f"({relation}) t", ""
    if relation == INPUT_TABLE_RELATION:  # a CSV parsed once: keep the input's row order
        source, order = "hw_input t", " ORDER BY t.rowid"
    sql = f"SELECT {select} FROM {source} JOIN hw_passes p ON {join}{where}{order}"
    return _copy(con, sql, out)


def register_passes(
    con: duckdb.DuckDBPyConnection,
    hist: Histogram,
    encoded: Sequence[EncodedHierarchy],
    passes: Sequence[Pass],
) -> None:
    """Temp table ``hw_passes``: each histogram row's values, released labels and count.

    Uploaded from numpy are only small arrays: the pass of each histogram row (-1 when
    suppressed) and, per column and pass, the label of each distinct value; DuckDB joins them.
    """
    rows = len(hist.counts)
    assign = np.full(rows, -1, dtype=np.int64)
    for index, p in enumerate(passes):
        assign[p.released] = index
    _upload(con, "hw_assign", {"row_id": np.arange(rows, dtype=np.int64), "pass": assign})
    parts: dict[str, list[npt.NDArray[Any]]] = {"col": [], "pass": [], "code": [], "label": []}
    for j, enc in enumerate(encoded):
        n_values = len(hist.values[j])
        for index, p in enumerate(passes):
            level = p.levels[j]
            parts["col"].append(np.full(n_values, j, dtype=np.int64))
            parts["pass"].append(np.full(n_values, index, dtype=np.int64))
            parts["code"].append(np.arange(n_values, dtype=np.int64))
            parts["label"].append(np.asarray(enc.labels[level], dtype=str)[enc.level_maps[level]])
    _upload(con, "hw_labels", {k: np.concatenate(v) for k, v in parts.items()})
    labels = ", ".join(
        f"CASE WHEN a.pass < 0 THEN '*' ELSE l{j}.label END AS g{j}" for j in range(len(encoded))
    )
    joins = " ".join(
        f"LEFT JOIN hw_labels l{j} ON l{j}.col = {j} AND l{j}.pass = a.pass AND l{j}.code = f.k{j}"
        for j in range(len(encoded))
    )
    n_keys = len(encoded) + (1 if hist.sensitive is not None else 0)
    values = ", ".join(f"f.c{j}" for j in range(n_keys))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE hw_passes AS SELECT {values}, {labels}, f.n,"
        " a.pass AS pass_id"
        f" FROM hw_finest f JOIN hw_assign a ON a.row_id = f.row_id {joins}"
    )


def _upload(con: duckdb.DuckDBPyConnection, name: str, data: dict[str, npt.NDArray[Any]]) -> None:
    """Copy numpy arrays into a temp table (DuckDB scans a dict of arrays directly)."""
    con.register(f"{name}_view", data)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_view")
    con.unregister(f"{name}_view")


def output_class_sizes(
    con: duckdb.DuckDBPyConnection, q: int, *, drop_suppressed: bool = False
) -> IntArray:
    """Sizes of the output's classes by label tuple (all passes merged; ``*`` rows form one,
    unless suppressed rows are left out of the output)."""
    keys = ", ".join(f"g{j}" for j in range(q))
    source = "(SELECT * FROM hw_passes WHERE pass_id >= 0)" if drop_suppressed else "hw_passes"
    sql = (
        f"SELECT sum(n) AS s FROM {source} GROUP BY {keys}"
        if q
        else f"SELECT sum(n) AS s FROM {source}"
    )
    return np.asarray(con.execute(sql).fetchnumpy()["s"], dtype=np.int64)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, out: Path) -> int:
    """Atomic COPY: a temporary file in the destination directory, renamed into place.

    The same contract as the engine's ``copy_to`` (Parquet with zstd, CSV with a header), done
    here so the anonymize command does not import the engine package (and pyarrow with it).
    """
    name = out.name.lower()
    if not name.endswith((".parquet", ".pq", ".csv")):
        raise InvalidInput(f"{out.name}: the output must end in .csv or .parquet", field="out")
    options = (
        "FORMAT csv, HEADER true" if name.endswith(".csv") else "FORMAT parquet, COMPRESSION zstd"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    literal = "'" + tmp_name.replace("'", "''") + "'"
    try:
        row = con.execute(f"COPY ({sql}) TO {literal} ({options})").fetchone()
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return int(row[0]) if row else 0
