"""Workflow paths beyond the goldens: expert profile, local recoding, t-closeness, k-map,
heuristic search. Synthetic records only (generated here from a fixed seed)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from healthwall.deid import hierarchy_builders as hb
from healthwall.deid.search import heuristic_search, optimal_search
from healthwall.errors import Refused
from healthwall.model.anonymize import AnonymizeSpec
from healthwall.workflows.anonymize import anonymize, build_problem, expert_determination


def _patients(path: Path, rows: int = 3000, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    zips = [f"{z:05d}" for z in rng.choice(np.arange(1000, 99999), 40, replace=False)]
    days = np.datetime64("1940-01-01") + rng.integers(0, 25000, rows)
    con = duckdb.connect()
    data = {
        "patient_id": np.array([f"P{i:06d}" for i in range(rows)]),
        "first_name": rng.choice(["Ann", "Bo", "Cy", "Di"], rows),
        "ssn": np.array([f"{i:09d}" for i in rng.integers(0, 10**9, rows)]),
        "birth_date": np.datetime_as_string(days, unit="D"),
        "sex": rng.choice(["F", "M"], rows),
        "zip": rng.choice(zips, rows),
        "race": rng.choice(["a", "b", "c", "d"], rows),
        "immigration_status": rng.choice(["citizen", "lpr", "visa", "unknown"], rows),
    }
    con.register("p", data)
    con.execute(f"COPY p TO '{path}' (FORMAT csv, HEADER true)")
    return path


def test_expert_profile_drops_identifiers_and_meets_threshold(tmp_path: Path) -> None:
    data = _patients(tmp_path / "patients.csv")
    out = tmp_path / "out.parquet"
    summary = expert_determination(str(data), out, threshold=0.05, suppression=0.04)
    assert summary["qi"] == ["birth_date", "sex", "zip", "race"]
    assert set(summary["dropped_columns"]) == {"patient_id", "first_name", "ssn"}
    assert summary["risk_after"]["prosecutor_highest"] <= 0.05
    con = duckdb.connect()
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()]
    assert columns == ["birth_date", "sex", "zip", "race", "immigration_status"]
    sizes = con.execute(
        f"SELECT count(*) FROM '{out}' GROUP BY birth_date, sex, zip, race"
    ).fetchall()
    assert min(s for (s,) in sizes) >= 20
    assert sum(s for (s,) in sizes) == 3000 - summary["suppressed"]


def test_expert_profile_refuses_with_reason(tmp_path: Path) -> None:
    data = _patients(tmp_path / "patients.csv", rows=30)
    out = tmp_path / "out.csv"
    with pytest.raises(Refused, match=r"highest prosecutor risk to 0\.01"):
        expert_determination(str(data), out, threshold=0.01, suppression=0.0)
    assert not out.exists()


def _hierarchies(directory: Path, data: Path) -> None:
    con = duckdb.connect()
    for column in ("birth_date", "sex", "zip", "race", "immigration_status"):
        values = [
            str(r[0]) for r in con.execute(f"SELECT DISTINCT {column} FROM '{data}'").fetchall()
        ]
        if column == "birth_date":
            tree = hb.dates(column, values)
        elif column == "zip":
            tree = hb.digit_mask(column, values)
        else:
            tree = hb.grouped(column, values, [])
        tree.to_csv(directory / f"{column}.csv")


def test_local_recoding_releases_suppressed_records(tmp_path: Path) -> None:
    data = _patients(tmp_path / "patients.csv")
    _hierarchies(tmp_path, data)
    qi = ["birth_date", "sex", "zip"]
    plain = AnonymizeSpec.build(qi=qi, k=5, suppression=0.2)
    local = AnonymizeSpec.build(qi=qi, k=5, suppression=0.2, local_recoding=True)
    first = anonymize(str(data), plain, tmp_path, tmp_path / "a.csv")
    second = anonymize(str(data), local, tmp_path, tmp_path / "b.csv")
    assert first["suppressed"] > 0
    assert second["suppressed"] < first["suppressed"]
    released = sum(p["released"] for p in second["local_passes"])
    assert released == first["suppressed"] - second["suppressed"]
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT count(*) FROM read_csv('{tmp_path / 'b.csv'}', all_varchar=true)"
        " WHERE NOT (birth_date = '*' AND sex = '*' AND zip = '*') GROUP BY birth_date, sex, zip"
    ).fetchall()
    assert min(n for (n,) in rows) >= 5


def test_t_closeness_and_kmap_hold_on_output(tmp_path: Path) -> None:
    data = _patients(tmp_path / "patients.csv")
    _hierarchies(tmp_path, data)
    spec = AnonymizeSpec.build(
        qi=["birth_date", "sex", "zip"],
        sensitive="immigration_status",
        k=3,
        t_closeness="0.15:hierarchical",
        k_map=50,
        population="zip3:zip",
        suppression=0.05,
        metric="loss",
    )
    out = tmp_path / "t.csv"
    summary = anonymize(str(data), spec, tmp_path, out)
    assert summary["models"] == ["k-anonymity", "t-closeness", "k-map"]
    con = duckdb.connect()
    q = dict(
        con.execute(
            f"SELECT immigration_status, count(*) / 3000 FROM '{data}' GROUP BY ALL"
        ).fetchall()
    )
    groups = con.execute(
        f"SELECT list(immigration_status) FROM read_csv('{out}', all_varchar=true)"
        " WHERE zip <> '*' GROUP BY birth_date, sex, zip"
    ).fetchall()
    for (values,) in groups:
        # the sensitive hierarchy is flat (value -> *): hierarchical EMD = half the L1 distance
        p = {v: values.count(v) / len(values) for v in q}
        assert 0.5 * sum(abs(p[v] - q[v]) for v in q) <= 0.15 + 1e-9
    assert json.dumps(summary)  # JSON-ready


def test_heuristic_is_feasible_and_never_beats_the_optimum(tmp_path: Path) -> None:
    data = _patients(tmp_path / "patients.csv")
    _hierarchies(tmp_path, data)
    spec = AnonymizeSpec.build(qi=["birth_date", "sex", "zip", "race"], k=10, suppression=0.02)
    con = duckdb.connect()
    problem = build_problem(
        con, f"SELECT * FROM read_csv('{data}', all_varchar=true)", spec, tmp_path
    )
    limit = 0.02 * problem.hist.records
    best = optimal_search(problem.evaluator(problem.hist, limit), problem.heights)
    greedy = heuristic_search(problem.evaluator(problem.hist, limit), problem.heights)
    assert greedy.best.verdict.feasible and not greedy.optimal
    assert greedy.best.score >= best.best.score


def test_expert_determination_command(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from healthwall.cli.commands.anonymize import register

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """healthwall"""

    register(app)
    data = _patients(tmp_path / "patients.csv")
    out = tmp_path / "x.csv"
    args = ["expert-determination", str(data), "--out", str(out), "--max-risk", "0.09", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["profile"] == "expert" and summary["threshold"] == 0.09
    assert summary["risk_after"]["prosecutor_highest"] <= 0.09
    header = out.read_text().splitlines()[0]
    assert "ssn" not in header and "zip" in header
