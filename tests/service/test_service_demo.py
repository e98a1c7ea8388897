"""``healthwall demo --no-serve`` end to end: data, extract, ledger, logins, replay over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from healthwall.engine import open_store

pytestmark = pytest.mark.slow

SCENARIOS = {
    "judicial warrant (police)": "permit",
    "ICE administrative subpoena (CA)": "deny",
    "ICE judicial warrant (CA: review)": "review",
    "Home Office address trace (GB)": None,  # decided by the GB packs; shown, not pinned
    "Part 2 record, ordinary subpoena": None,
    "data broker buying claims": "deny",
    "public-health aggregate (DP)": "permit",
}


def test_demo_replays_every_scenario_and_exits(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    cmd = [sys.executable, "-m", "healthwall.cli.main", "demo", "--no-serve"]
    cmd += ["--patients", "100", "--port", "0", "--workdir", str(workdir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    for scenario, decision in SCENARIOS.items():
        assert scenario in lines, scenario
        assert " 200 " in lines[scenario], lines[scenario]
        if decision is not None:
            assert f" {decision} " in lines[scenario] + " ", lines[scenario]
    assert "console: http://127.0.0.1:" in out
    assert (workdir / "extracts" / "claims-safe-harbor.parquet").is_file()
    assert (workdir / "extracts" / "claims-safe-harbor-report.html").is_file()
    assert (workdir / "extracts" / "patients-expert-determination.parquet").is_file()
    assert "(patients, expert determination)" in out and "(claims, Safe Harbor)" in out
    for user in ("officer", "auditor"):
        assert f"  {user} " in out
    with open_store(workdir / "store.duckdb", read_only=True) as engine:
        rows = engine.query_arrow("SELECT mrn, ssn, last_name FROM patients").to_pylist()
    for row in rows:  # no patient's identifiers in the demo's output
        assert row["ssn"] not in out and row["mrn"] not in out
