"""Refusals and bad arguments of `deidentify --profile expert`: named, nothing written."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from healthwall.errors import ConfigError, InvalidInput, Refused
from healthwall.workflows.deidentify import DeidRequest, deidentify

Make = Callable[..., Path]


def _req(tmp_path: Path, src: Path, **kw: object) -> DeidRequest:
    return DeidRequest(
        input=str(src),
        output=tmp_path / "out.parquet",
        report=tmp_path / "report.json",
        **kw,  # type: ignore[arg-type]
    )


def test_impossible_threshold_is_refused_and_nothing_written(
    tmp_path: Path, patients_file: Make
) -> None:
    req = _req(tmp_path, patients_file(n=200), profile="expert", max_risk=0.001, suppression=0.0)
    with pytest.raises(Refused) as info:
        deidentify(req)
    message = str(info.value)
    assert "0.001" in message and "patients" in message and "birth_date" in message
    assert not req.output.exists() and not req.report.exists()  # type: ignore[union-attr]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_risk": 0.0}, "max_risk"),
        ({"max_risk": 1.5}, "max_risk"),
        ({"suppression": -0.1}, "suppression"),
        ({"suppression": 1.0}, "suppression"),
        ({"k": 0}, "k"),
    ],
)
def test_bad_expert_arguments_are_named(
    tmp_path: Path, patients_file: Make, options: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        deidentify(_req(tmp_path, patients_file(n=50), profile="expert", **options))
    assert info.value.field == field


def test_expert_options_need_the_expert_profile(tmp_path: Path, patients_file: Make) -> None:
    with pytest.raises(ConfigError) as info:
        deidentify(_req(tmp_path, patients_file(n=50), max_risk=0.05))
    assert info.value.field == "max_risk"


def test_expert_profile_does_not_shift_dates(tmp_path: Path, patients_file: Make) -> None:
    with pytest.raises(ConfigError) as info:
        deidentify(_req(tmp_path, patients_file(n=50), profile="expert", date_shift_days=10))
    assert info.value.field == "date_shift_days"


def test_cli_runs_and_names_a_bad_option(
    tmp_path: Path, patients_file: Make, master_key: Path
) -> None:
    src = patients_file(n=2000)
    out = tmp_path / "cli.parquet"
    args = ["deidentify", str(src), "--profile", "expert", "--out", str(out)]
    ok = _cli([*args, "--recipient", "r", "--key-file", str(master_key), "--max-risk", "0.09"])
    assert ok.returncode == 0, ok.stderr
    assert out.exists() and "threshold 0.09" in ok.stdout
    bad = _cli([*args, "--suppression", "2"])
    assert bad.returncode == 2 and "--suppression" in bad.stderr


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "healthwall.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_unknown_profile_lists_expert(tmp_path: Path, patients_file: Make) -> None:
    with pytest.raises(ConfigError) as info:
        deidentify(_req(tmp_path, patients_file(n=10), profile="expret"))
    assert info.value.field == "profile" and "expert" in str(info.value)
