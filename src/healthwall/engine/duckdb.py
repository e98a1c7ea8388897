"""The DuckDB engine: the embedded default (after splink's DuckDB backend, ~100 lines).

A store is a DuckDB database file (or memory). Files are read through views, results are written
with ``COPY ... TO`` into a temporary file in the destination directory and renamed into place, so
an error never leaves a half-written output.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from healthwall.engine.base import FileFormat, Params
from healthwall.errors import InvalidInput, NotFound


class DuckDBDialect:
    """DuckDB's spelling of quoting, literals and hashing."""

    name = "duckdb"

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def literal(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def hash64(self, expr: str) -> str:
        return f"hash({expr})"


class DuckDBEngine:
    """One DuckDB connection: a custodian store on disk, or a scratch engine in memory."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.con = connection
        self.path = path
        self.dialect = DuckDBDialect()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query_arrow(self, sql: str, params: Params = None) -> pa.Table:
        relation = self.con.sql(sql, params=params)
        if relation is None:
            raise InvalidInput("query_arrow needs a query that returns rows")
        return relation.to_arrow_table()

    def execute(self, sql: str, params: Params = None) -> None:
        if params is None:
            self.con.execute(sql)
        else:
            self.con.execute(sql, params)

    def read(self, path: str | Path, name: str | None = None, *, all_text: bool = False) -> str:
        """Expose a CSV or Parquet file as a temporary view; ``all_text`` reads CSV cells as
        text (no type guessing: ZIP codes and identifiers keep their leading zeros)."""
        source = Path(path)
        if not source.is_file():
            raise NotFound(f"input file {source.name} does not exist")
        view = name or _safe_name(source.stem)
        fmt = FileFormat.of(source)
        lit = self.dialect.literal(str(source))
        reader = (
            f"read_parquet({lit})"
            if fmt is FileFormat.PARQUET
            else f"read_csv({lit}, {_csv_options(source)}, all_varchar={all_text})"
        )
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {self.dialect.quote(view)} AS SELECT * FROM {reader}"
            )
        except duckdb.Error as exc:  # the engine's message may quote the file: never echo it
            line = re.search(r"[Ll]ine:? (\d+)", str(exc))
            where = f" at line {line.group(1)}" if line else ""
            raise InvalidInput(
                f"{source.name}: not a readable {fmt.value} file{where} ({type(exc).__name__})"
            ) from None
        return view

    def register_arrow(self, name: str, table: pa.Table) -> str:
        self.con.register(name, table)
        return name

    def copy_to(self, sql: str, out_path: str | Path, fmt: FileFormat | str | None = None) -> int:
        out = Path(out_path)
        kind = FileFormat(fmt) if fmt is not None else FileFormat.of(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        options = (
            "FORMAT parquet, COMPRESSION zstd"
            if kind is FileFormat.PARQUET
            else "FORMAT csv, HEADER true"
        )
        try:
            row = self.con.execute(
                f"COPY ({sql}) TO {self.dialect.literal(tmp_name)} ({options})"
            ).fetchone()
            os.replace(tmp_name, out)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return int(row[0]) if row else 0

    def tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' OR table_type = 'LOCAL TEMPORARY' ORDER BY table_name"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def columns(self, table: str) -> list[str]:
        if table not in self.tables():
            raise NotFound(f"table {table} does not exist in the store")
        rows = self.con.execute(f"DESCRIBE {self.dialect.quote(table)}").fetchall()
        return [str(r[0]) for r in rows]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()


def _csv_options(path: Path) -> str:
    """Fixed dialect (RFC 4180 quoting; comma, or tab for .tsv): no sniffing of delimiters."""
    delim = "\\t" if path.name.lower().endswith(".tsv") else ","
    return f"header=true, delim='{delim}', quote='\"', escape='\"', comment='', auto_detect=true"


def _safe_name(stem: str) -> str:
    """A view name from a file's stem that is a plain identifier and never an SQL keyword."""
    return "file_" + (re.sub(r"[^A-Za-z0-9_]", "_", stem.split(".")[0]) or "input")


def open_store(path: str | Path | None = None, *, read_only: bool = False) -> DuckDBEngine:
    """Open (creating if needed) a DuckDB store; ``None`` opens a scratch engine in memory."""
    if path is None:
        return DuckDBEngine(_quiet(duckdb.connect(":memory:")), None)
    store = Path(path)
    if read_only and not store.exists():
        raise NotFound(f"store {store.name} does not exist")
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(store), read_only=read_only)
    except duckdb.Error as exc:
        raise InvalidInput(f"cannot open store {store.name}: {type(exc).__name__}") from None
    return DuckDBEngine(_quiet(con), store)


def _quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """No DuckDB progress bar on the terminal: the CLI draws its own (Rich)."""
    con.execute("SET enable_progress_bar = false")
    return con


def temp_name(prefix: str = "hw") -> str:
    """A fresh relation name for intermediate results."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
