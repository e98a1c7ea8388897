"""Where an extract reads from and writes to: CSV/Parquet files or a table of a DuckDB store.

``INPUT`` is a path ending in ``.csv``/``.csv.gz``/``.parquet``/``.pq`` or ``store:PATH#table``.
CSV is read as text (``all_varchar``) so leading zeros of ZIPs and ids survive and the same
patient id gives the same token from CSV and Parquet. DuckDB errors are turned into messages that
name the file, never a row (DuckDB's own messages may quote values).

The connection comes from the engine seam (``healthwall.engine.open_store``); the readers stay here
until the seam reads CSV as text, attaches stores read-only and runs ``COPY`` with parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from healthwall.deid.sql import lit, q
from healthwall.engine import open_store
from healthwall.errors import InvalidInput, NotFound
from healthwall.model import inputs


@dataclass(frozen=True)
class Source:
    """One readable table: a file or a table of a DuckDB custodian store."""

    label: str  # how it is named in messages and the report
    path: Path
    fmt: str  # "csv", "parquet" or "store"
    table: str | None = None

    def relation(self, alias: str) -> str:
        """SQL for the table; a store must have been attached as ``alias`` first."""
        p = lit(str(self.path))
        if self.fmt == "parquet":
            return f"SELECT * FROM read_parquet({p})"
        if self.fmt == "csv":
            return f"SELECT * FROM read_csv({p}, header = true, all_varchar = true)"
        table = ".".join(q(part) for part in (self.table or "").split("."))
        return f"SELECT * FROM {alias}.{table}"


def file_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the file name."""
    return inputs.file_format(path).value


def parse_source(text: str) -> Source:
    """A :class:`Source` from ``PATH`` or ``store:PATH#table``; the file must exist."""
    ref = inputs.parse_input(text)
    source = Source(text, ref.path, ref.fmt.value, ref.table)
    if not source.path.is_file():
        raise NotFound(f"input {source.path} does not exist", field="input")
    return source


def connect(*sources: Source) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A scratch engine (the engine seam's in-memory DuckDB) with every store attached
    read-only; returns its connection and the relations."""
    con = open_store(None).con
    con.execute("SET enable_progress_bar = false")
    relations: list[str] = []
    for i, source in enumerate(sources):
        alias = f"store{i}"
        if source.fmt == "store":
            try:
                con.execute(f"ATTACH {lit(str(source.path))} AS {alias} (READ_ONLY)")
            except duckdb.Error:
                con.close()
                raise InvalidInput(f"{source.label}: not a readable DuckDB store") from None
        relations.append(source.relation(alias))
    return con, relations


def describe(con: duckdb.DuckDBPyConnection, relation: str, label: str) -> dict[str, str]:
    """Column name -> DuckDB type of a relation; unreadable input is a clear error."""
    try:
        rows = con.execute(f"DESCRIBE {relation}").fetchall()
    except duckdb.Error as exc:
        raise InvalidInput(f"{label}: cannot be read ({_kind(exc)})", field="input") from None
    return {str(r[0]): str(r[1]) for r in rows}


def _kind(exc: duckdb.Error) -> str:
    """The class of a DuckDB error, without its message (which may quote data)."""
    return type(exc).__name__


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
