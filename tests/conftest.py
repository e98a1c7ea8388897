"""Shared fixtures: real PostgreSQL (a throwaway database per test), paths to shared data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, why: str) -> None:
    """Skip locally when a real dependency is missing, but fail in CI: CI must run everything."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require((SHARED / "data").is_dir(), "../shared/data (reference data)")
    return SHARED / "data"


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database on the real server, dropped afterwards."""
    base = os.environ.get("HEALTHWALL_TEST_PG_URL")
    require(bool(base), "HEALTHWALL_TEST_PG_URL (a PostgreSQL server; see scripts/start-postgres)")
    assert base is not None
    from sqlalchemy import create_engine, text

    name = f"hw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
