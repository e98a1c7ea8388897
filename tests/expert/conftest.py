"""Fixtures of the expert-profile tests: patients and claims files, a master key file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from expert_helpers import CLAIMS_SQL, MASTER_KEY, PATIENTS_SQL, write


@pytest.fixture()
def patients_file(tmp_path: Path) -> Callable[..., Path]:
    def make(n: int = 3000, name: str = "patients.parquet") -> Path:
        return write(PATIENTS_SQL.format(n=n), tmp_path / name)

    return make


@pytest.fixture()
def claims_file(tmp_path: Path) -> Callable[..., Path]:
    def make(n: int = 9000, patients: int = 3000, name: str = "claims.parquet") -> Path:
        return write(CLAIMS_SQL.format(n=n, patients=patients), tmp_path / name)

    return make


@pytest.fixture()
def master_key(tmp_path: Path) -> Path:
    path = tmp_path / "master.key"
    path.write_bytes(MASTER_KEY)
    return path
