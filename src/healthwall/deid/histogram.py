"""The finest equivalence-class histogram, computed once in DuckDB.

The whole lattice search runs over this histogram, never over rows: one ``GROUP BY`` of the
quasi-identifiers (and the sensitive attribute, when l-diversity or t-closeness needs it) gives a
count per distinct combination; each column's values are replaced by integer codes (dense ranks),
so generalizing to a lattice node is a numpy lookup per column followed by a roll-up.

Missing values (NULL) become the empty string, which the column's hierarchy must then cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Histogram:
    """Counts of each distinct (quasi-identifiers[, sensitive]) combination, as integer codes."""

    columns: tuple[str, ...]
    values: tuple[list[str], ...]  # per quasi-identifier: distinct values, code = index
    codes: IntArray  # shape (F, Q)
    counts: IntArray  # shape (F,)
    sensitive_values: list[str] | None = None
    sensitive: IntArray | None = None  # shape (F,)

    @property
    def records(self) -> int:
        return int(self.counts.sum())


def quote(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def finest_histogram(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    qi: Sequence[str],
    sensitive: str | None = None,
) -> Histogram:
    """GROUP BY the quasi-identifiers (+ sensitive) of ``relation`` (a FROM-clause expression)."""
    cols = [*qi, sensitive] if sensitive else list(qi)
    aliases = [f"c{i}" for i in range(len(cols))]
    select = ", ".join(
        f"coalesce(CAST({quote(c)} AS VARCHAR), '') AS {a}"
        for c, a in zip(cols, aliases, strict=True)
    )
    keys = ", ".join(aliases)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE hw_finest AS SELECT {keys}, count(*) AS n"
        f" FROM (SELECT {select} FROM {relation}) GROUP BY ALL"
    )
    ranks = ", ".join(f"dense_rank() OVER (ORDER BY {a}) - 1 AS {a}" for a in aliases)
    data = con.execute(f"SELECT {ranks}, n FROM hw_finest").fetchnumpy()
    dictionaries = [
        [
            str(r[0])
            for r in con.execute(f"SELECT DISTINCT {a} FROM hw_finest ORDER BY {a}").fetchall()
        ]
        for a in aliases
    ]
    con.execute("DROP TABLE hw_finest")
    counts = np.asarray(data["n"], dtype=np.int64)
    if len(qi):
        codes = np.stack([np.asarray(data[a], dtype=np.int64) for a in aliases[: len(qi)]], axis=1)
    else:
        codes = np.zeros((len(counts), 0), dtype=np.int64)
    hist = Histogram(
        columns=tuple(qi),
        values=tuple(dictionaries[: len(qi)]),
        codes=codes,
        counts=counts,
    )
    if sensitive:
        return Histogram(
            columns=hist.columns,
            values=hist.values,
            codes=hist.codes,
            counts=hist.counts,
            sensitive_values=dictionaries[-1],
            sensitive=np.asarray(data[aliases[-1]], dtype=np.int64),
        )
    return hist
