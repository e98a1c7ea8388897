"""The engine seam: what every engine (DuckDB now, Spark later) offers the rest of healthwall.

Domain code generates SQL against a :class:`Dialect` and runs it through an :class:`Engine`; it
never asks which engine it has (after splink's ``internals/dialects.py``). Engine-specific code
lives only in this package.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from healthwall.errors import InvalidInput

Params = Sequence[Any] | dict[str, Any] | None


class FileFormat(StrEnum):
    """File formats an engine reads and writes."""

    PARQUET = "parquet"
    CSV = "csv"

    @classmethod
    def of(cls, path: str | Path) -> FileFormat:
        """The format named by a file's suffix (``.parquet``/``.pq`` or ``.csv``/``.csv.gz``)."""
        name = str(path).lower()
        if name.endswith((".parquet", ".pq")):
            return cls.PARQUET
        if name.endswith((".csv", ".csv.gz", ".tsv")):
            return cls.CSV
        raise InvalidInput(f"{Path(path).name}: unknown file format (expected .parquet or .csv)")


class Dialect(Protocol):
    """How an engine spells the few things that differ between SQL dialects."""

    name: str

    def quote(self, identifier: str) -> str:
        """An identifier quoted for this dialect."""
        ...

    def literal(self, value: str) -> str:
        """A string literal for this dialect (escaping quotes)."""
        ...

    def hash64(self, expr: str) -> str:
        """A deterministic 64-bit integer hash of a SQL expression."""
        ...


class Engine(Protocol):
    """Runs SQL, reads files into named relations and writes query results to files."""

    dialect: Dialect

    def query_arrow(self, sql: str, params: Params = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""
        ...

    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement for its effect."""
        ...

    def read(self, path: str | Path, name: str | None = None, *, all_text: bool = False) -> str:
        """Expose a CSV or Parquet file as a view; return the view's name."""
        ...

    def register_arrow(self, name: str, table: pa.Table) -> str:
        """Expose an Arrow table as a relation; return its name."""
        ...

    def copy_to(self, sql: str, out_path: str | Path, fmt: FileFormat | str | None = None) -> int:
        """Write a query's result to a file atomically; return the number of rows written."""
        ...

    def tables(self) -> list[str]:
        """Names of the tables and views of the store."""
        ...

    def columns(self, table: str) -> list[str]:
        """Column names of a table or view, in order."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """All statements inside commit together or not at all."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...


def iter_batches(table: pa.Table, size: int) -> Iterator[pa.Table]:
    """Slices of an Arrow table of at most ``size`` rows (for progress reporting)."""
    for start in range(0, table.num_rows, size):
        yield table.slice(start, size)
