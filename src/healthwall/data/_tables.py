"""Loading the gzip-CSV reference tables of this package (stdlib for lookups, Arrow for SQL)."""

from __future__ import annotations

import csv
import gzip
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from healthwall.data import data_path


def table_path(name: str) -> Path:
    """Path of a packaged table (for engines that read files directly)."""
    return data_path(name)


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    """Every row of a packaged gzip CSV as dicts of strings (cached; tables are small)."""
    with gzip.open(data_path(name), "rt", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


@cache
def arrow(name: str) -> pa.Table:
    """A packaged gzip CSV as an Arrow table, every column a string (codes keep leading zeros)."""
    path = data_path(name)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    types = {col: pa.string() for col in header}
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
