"""Fixtures for the deid tests: small custodian-shaped inputs generated with DuckDB, a key file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from deid_helpers import CLAIMS_SQL, MASTER_KEY, PATIENTS_SQL, write


@pytest.fixture()
def make_patients(tmp_path: Path) -> Callable[..., Path]:
    def make(n: int = 300, name: str = "patients.parquet") -> Path:
        return write(PATIENTS_SQL.format(n=n), tmp_path / name)

    return make


@pytest.fixture()
def make_claims(tmp_path: Path) -> Callable[..., Path]:
    def make(n: int = 1000, patients: int = 300, name: str = "claims.parquet") -> Path:
        return write(CLAIMS_SQL.format(n=n, patients=patients), tmp_path / name)

    return make


@pytest.fixture()
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "master.key"
    path.write_bytes(MASTER_KEY)
    return path


@pytest.fixture()
def rows() -> Callable[[Path], list[dict[str, object]]]:
    """All rows of a CSV/Parquet file as dicts (for assertions; never printed)."""

    def read(path: Path) -> list[dict[str, object]]:
        con = duckdb.connect()
        reader = "read_csv" if path.suffix == ".csv" else "read_parquet"
        opts = ", all_varchar = true" if path.suffix == ".csv" else ""
        rel = con.sql(f"SELECT * FROM {reader}('{path}'{opts})")
        names = rel.columns
        out = [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
        con.close()
        return out

    return read
