"""ARX's published optima on Adult (ARX 3.9.2 test expectations), reproduced exactly.

All 9 columns are quasi-identifiers in the file's column order, k-anonymity, ARX's precomputed
monotonic non-uniform entropy, record suppression limit as given (../shared/data/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from healthwall.cli.commands.anonymize import register
from healthwall.model.anonymize import AnonymizeSpec
from healthwall.workflows.anonymize import anonymize

COLUMNS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
    "salary-class",
]

GOLDENS = [
    (5, 0.04, [1, 0, 1, 1, 3, 2, 2, 0, 1], 255559.85455731067),
    (100, 0.04, [1, 1, 1, 1, 3, 2, 2, 1, 1], 379417.3460570988),
    (5, 0.0, [1, 2, 1, 1, 3, 2, 2, 1, 1], 407289.5388925293),
]


def build_app() -> typer.Typer:
    """Just this command, so other areas' commands cannot break these tests."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """healthwall"""

    register(app)
    return app


@pytest.fixture(scope="module")
def adult(shared_data: Path) -> Path:
    return shared_data / "adult"


@pytest.mark.parametrize(("k", "suppression", "levels", "score"), GOLDENS)
def test_adult_optimum_matches_arx(
    adult: Path, tmp_path: Path, k: int, suppression: float, levels: list[int], score: float
) -> None:
    spec = AnonymizeSpec.build(qi=COLUMNS, k=k, suppression=suppression, metric="entropy")
    out = tmp_path / "out.csv"
    summary = anonymize(str(adult / "adult.csv"), spec, adult, out)
    assert summary["levels"] == levels
    assert summary["score"] == pytest.approx(score, rel=1e-12)
    assert summary["optimal"] is True
    assert summary["suppressed"] <= suppression * summary["records"]
    # the written file: every class (suppressed rows aside) has at least k rows
    con = duckdb.connect()
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    stars = " AND ".join(f"\"{c}\" = '*'" for c in COLUMNS)
    rows = con.execute(
        f"SELECT count(*) n, bool_and({stars}) s FROM read_csv('{out}', all_varchar=true)"
        f" GROUP BY {cols}"
    ).fetchall()
    assert sum(n for n, _ in rows) == 30162
    assert all(n >= k for n, s in rows if not s)
    assert sum(n for n, s in rows if s) == summary["suppressed"]


def test_cli_json_on_parquet_and_store(adult: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "adult.parquet"
    store = tmp_path / "store.duckdb"
    con = duckdb.connect(str(store))
    con.execute(
        f"CREATE TABLE adult AS SELECT * FROM read_csv('{adult / 'adult.csv'}', all_varchar=true)"
    )
    con.execute(f"COPY adult TO '{parquet}' (FORMAT parquet)")
    con.close()
    runner = CliRunner()
    results = []
    for source, out in ((str(parquet), "a.parquet"), (f"store:{store}#adult", "b.csv")):
        args = ["anonymize", source, "--qi", ",".join(COLUMNS), "--hierarchies", str(adult)]
        args += ["--k", "5", "--suppression", "0.04", "--out", str(tmp_path / out), "--json"]
        res = runner.invoke(build_app(), args)
        assert res.exit_code == 0, res.output
        results.append(json.loads(res.output))
    for summary in results:
        assert summary["levels"] == GOLDENS[0][2]
        assert summary["risk_after"]["prosecutor_highest"] <= 1 / 5
        assert summary["risk_before"]["prosecutor_highest"] == 1.0
    assert (tmp_path / "a.parquet").is_file() and (tmp_path / "b.csv").is_file()


def test_refusal_says_why(adult: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["anonymize", str(adult / "adult.csv"), "--qi", "sex,age", "--hierarchies", str(adult)]
    args += ["--k", "40000", "--out", str(tmp_path / "x.csv")]
    res = runner.invoke(build_app(), args)
    assert res.exit_code != 0
    assert "no generalization satisfies" in str(res.exception)
    assert not (tmp_path / "x.csv").exists()
