"""The one grammar for naming a data set to read, shared by every command that reads one.

``PATH`` ending in ``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet`` or ``.pq``, or
``store:PATH#table`` for a table of a DuckDB custodian store. Pure string handling: no I/O, so
callers check that the file exists and open it through their own engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from healthwall.errors import InvalidInput

STORE_PREFIX = "store:"
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


class InputFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    STORE = "store"


@dataclass(frozen=True)
class InputRef:
    """A parsed input name: a file, or a table of a store (``table`` set only for stores)."""

    text: str
    path: Path
    fmt: InputFormat
    table: str | None = None

    def table_parts(self) -> list[str]:
        """The store table's dotted name, split (``schema.table`` -> two parts)."""
        return (self.table or "").split(".")


def file_format(path: Path) -> InputFormat:
    """CSV or Parquet, from the file name; anything else is an error naming the file."""
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return InputFormat.CSV
    if name.endswith(PARQUET_SUFFIXES):
        return InputFormat.PARQUET
    raise InvalidInput(f"{path.name}: use a .csv or .parquet file", field="path")


def parse_input(text: str) -> InputRef:
    """Parse ``PATH`` or ``store:PATH#table``; the error names the form expected."""
    if text.startswith(STORE_PREFIX):
        path_text, _, table = text[len(STORE_PREFIX) :].partition("#")
        if not path_text or not table:
            raise InvalidInput("a store input is written store:PATH#table", field="input")
        return InputRef(text, Path(path_text), InputFormat.STORE, table)
    path = Path(text)
    try:
        fmt = file_format(path)
    except InvalidInput:
        raise InvalidInput(
            f"{path.name}: use a .csv or .parquet file, or store:PATH#table", field="input"
        ) from None
    return InputRef(text, path, fmt)
