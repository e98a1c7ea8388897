"""The engine seam: SQL on DuckDB (embedded default); engine differences live only here.

Usage::

    from healthwall.engine import open_store

    with open_store("store.duckdb") as eng:          # None = in memory
        view = eng.read("claims.parquet")               # CSV or Parquet -> a view name
        counts = eng.query_arrow(f"SELECT dx1, count(*) FROM {view} GROUP BY 1")
        eng.copy_to(f"SELECT * FROM {view}", "out.parquet")   # atomic (temp + rename)
"""

from __future__ import annotations

from healthwall.engine.base import Dialect, Engine, FileFormat, Params
from healthwall.engine.duckdb import DuckDBDialect, DuckDBEngine, open_store, temp_name

__all__ = [
    "Dialect",
    "DuckDBDialect",
    "DuckDBEngine",
    "Engine",
    "FileFormat",
    "Params",
    "open_store",
    "temp_name",
]
