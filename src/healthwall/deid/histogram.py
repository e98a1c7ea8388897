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
    sensitive_column: str | None = None

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
    """GROUP BY the quasi-identifiers (+ sensitive) of ``relation`` (a FROM-clause expression).

    Leaves the temp table ``hw_finest`` (columns ``c0..``, codes ``k0..``, ``n``, ``row_id``) in
    ``con``: histogram row ``i`` is ``row_id = i``; the output writer joins back through it.
    """
    cols = [*qi, sensitive] if sensitive else list(qi)
    aliases = [f"c{i}" for i in range(len(cols))]
    select = ", ".join(
        f"coalesce(CAST({quote(c)} AS VARCHAR), '') AS {a}"
        for c, a in zip(cols, aliases, strict=True)
    )
    keys = ", ".join(aliases)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE hw_groups AS SELECT {keys}, count(*) AS n"
        f" FROM (SELECT {select} FROM {relation}) GROUP BY ALL"
    )
    con.execute(  # small per-column dictionaries (value -> dense rank), in one round trip
        "; ".join(
            f"CREATE OR REPLACE TEMP TABLE hw_dict{i} AS SELECT v,"
            f" (row_number() OVER (ORDER BY v)) - 1 AS code"
            f" FROM (SELECT DISTINCT {a} AS v FROM hw_groups)"
            for i, a in enumerate(aliases)
        )
    )
    codes_sql = ", ".join(f"d{i}.code AS k{i}" for i in range(len(aliases)))
    joins = " ".join(f"JOIN hw_dict{i} d{i} ON d{i}.v = g.{a}" for i, a in enumerate(aliases))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE hw_finest AS SELECT g.*, {codes_sql},"
        f" (row_number() OVER ()) - 1 AS row_id FROM hw_groups g {joins}"
    )
    union = " UNION ALL ".join(
        f"SELECT {i} AS col, code, v FROM hw_dict{i}" for i in range(len(aliases))
    )
    dictionaries: list[list[str]] = [[] for _ in aliases]
    for col, _, value in con.execute(f"{union} ORDER BY col, code").fetchall():
        dictionaries[col].append(str(value))
    con.execute("; ".join(f"DROP TABLE hw_dict{i}" for i in range(len(aliases))))
    con.execute("DROP TABLE hw_groups")
    k_cols = ", ".join(f"k{i}" for i in range(len(aliases)))
    data = con.execute(f"SELECT {k_cols}, n FROM hw_finest ORDER BY row_id").fetchnumpy()
    counts = np.asarray(data["n"], dtype=np.int64)
    q = len(qi)
    codes = (
        np.stack([np.asarray(data[f"k{i}"], dtype=np.int64) for i in range(q)], axis=1)
        if q
        else np.zeros((len(counts), 0), dtype=np.int64)
    )
    return Histogram(
        columns=tuple(qi),
        values=tuple(dictionaries[:q]),
        codes=codes,
        counts=counts,
        sensitive_values=dictionaries[-1] if sensitive else None,
        sensitive=np.asarray(data[f"k{q}"], dtype=np.int64) if sensitive else None,
        sensitive_column=sensitive,
    )


# CSV inputs up to this size are parsed once into a temp table (DESCRIBE, GROUP BY and the
# output join then skip re-sniffing and re-parsing); larger ones are streamed on each pass.
CSV_MATERIALIZE_BYTES = 128 << 20
INPUT_TABLE_RELATION = "SELECT * FROM hw_input"
# Below this, DuckDB's thread pool costs more CPU in start-up and hand-offs than it saves.
SINGLE_THREAD_BYTES = 32 << 20


def open_input(text: str) -> tuple[duckdb.DuckDBPyConnection, str, str]:
    """(connection, relation SQL, label) for ``PATH`` (.csv/.parquet) or ``store:PATH#table``.

    The same grammar as ``healthwall deidentify``; CSV is read as text (``all_varchar``, the
    delimiter detected) so ZIP codes keep their leading zeros. Kept free of pydantic so the
    command starts fast.
    """
    from healthwall.errors import InvalidInput, NotFound
    from healthwall.model.inputs import InputFormat, parse_input

    ref = parse_input(text)
    if not ref.path.is_file():
        if ref.fmt is InputFormat.STORE:
            raise NotFound("a store input is written store:PATH#table and PATH must exist")
        raise NotFound(f"input {ref.path.name} does not exist", field="input")
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    if ref.fmt is InputFormat.STORE:
        try:
            con.execute(f"ATTACH {_lit(str(ref.path))} AS hw_store (READ_ONLY)")
        except duckdb.Error:
            raise InvalidInput(f"{text}: not a readable DuckDB store", field="input") from None
        name = ".".join(quote(p) for p in ref.table_parts())
        return con, f"SELECT * FROM hw_store.{name}", text
    path = ref.path
    if ref.fmt is InputFormat.PARQUET:
        return con, f"SELECT * FROM read_parquet({_lit(text)})", path.name
    reader = f"SELECT * FROM read_csv({_lit(text)}, header = true, all_varchar = true)"
    if path.stat().st_size > CSV_MATERIALIZE_BYTES:
        return con, reader, path.name
    if path.stat().st_size <= SINGLE_THREAD_BYTES:
        con.execute("SET threads = 1")
    try:  # parse (and sniff) a small CSV once; every later pass reads the temp table
        con.execute(f"CREATE TEMP TABLE hw_input AS {reader}")
    except duckdb.Error as exc:
        con.close()
        raise InvalidInput(
            f"{path.name}: cannot be read ({type(exc).__name__})", field="input"
        ) from None
    return con, INPUT_TABLE_RELATION, path.name


def columns_of(con: duckdb.DuckDBPyConnection, relation: str, label: str) -> list[str]:
    """Column names of ``relation``; unreadable input is an error naming the input only."""
    from healthwall.errors import InvalidInput

    try:
        return [str(r[0]) for r in con.execute(f"DESCRIBE {relation}").fetchall()]
    except duckdb.Error as exc:
        raise InvalidInput(
            f"{label}: cannot be read ({type(exc).__name__})", field="input"
        ) from None


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
