"""``healthwall risk`` end to end: CSV, Parquet and a DuckDB store table, errors, no PHI out."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from healthwall.cli.main import main
from healthwall.errors import InvalidInput, NotFound
from healthwall.workflows.risk import RiskRequest, analyze, combination_size

# ARX's TestRiskQuasiIdentifiers table, with made-up names (must never appear in any output).
ROWS = [
    ("Zelda Quistgaard", "20", "Female", "CA"),
    ("Yorick Vantongeren", "30", "Female", "CA"),
    ("Xanthe Oberholzer", "40", "Female", "TX"),
    ("Wendell Pfannkuch", "20", "Male", "NY"),
    ("Valentina Szczepanik", "40", "Male", "CA"),
]


@pytest.fixture()
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    lines = ["name,age,sex,state"] + [",".join(r) for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def parquet_path(tmp_path: Path, csv_path: Path) -> Path:
    out = tmp_path / "people.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar=true)) TO '{out}' (FORMAT parquet)"
    )
    return out


@pytest.fixture()
def store_path(tmp_path: Path, csv_path: Path) -> Path:
    store = tmp_path / "custodian.duckdb"
    con = duckdb.connect(str(store))
    con.execute(f"CREATE TABLE patients AS SELECT * FROM read_csv('{csv_path}', all_varchar=true)")
    con.close()
    return store


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_no_values(text: str) -> None:
    for row in ROWS:
        assert row[0] not in text
    for value in ("Female", "Male", "TX", "NY"):
        assert value not in text


def test_json_report_on_csv_by_hand(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["risk", str(csv_path), "--qi", "age,sex,state", "--max-combination", "3", "--json"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    data = json.loads(out)
    assert data["records"] == 5 and data["classes"] == 5
    assert data["prosecutor"] == {"average": 1.0, "highest": 1.0, "records_at_risk": 1.0}
    assert data["sample_uniques"] == {"records": 5, "fraction": 1.0}
    assert data["population_uniques"] is None
    attrs = {tuple(a["columns"]): (a["distinction"], a["separation"]) for a in data["attributes"]}
    assert attrs[("sex",)] == pytest.approx((0.4, 0.6))
    assert attrs[("state",)] == pytest.approx((0.6, 0.7))
    assert attrs[("age",)] == pytest.approx((0.6, 0.8))
    assert attrs[("sex", "state")] == pytest.approx((0.8, 0.9))
    assert len(attrs) == 7
    _assert_no_values(out)


def test_sex_and_state_by_hand(csv_path: Path) -> None:
    # classes: (F,CA) x2, (F,TX), (M,NY), (M,CA): sizes 2,1,1,1
    report = analyze(RiskRequest(str(csv_path), ("sex", "state"), threshold=0.5, max_combination=0))
    assert report.sample.prosecutor.average == pytest.approx(4 / 5)
    assert report.sample.prosecutor.records_at_risk == pytest.approx(3 / 5)  # 1/2 is not > 1/2
    assert report.sample.sample_uniques == 3
    assert report.attributes == ()


def test_same_report_from_csv_parquet_and_store(
    csv_path: Path, parquet_path: Path, store_path: Path
) -> None:
    reports = [
        analyze(RiskRequest(src, ("age", "sex"), sampling_fraction=0.5))
        for src in (str(csv_path), str(parquet_path), f"store:{store_path}#patients")
    ]
    assert reports[0] == reports[1] == reports[2]
    population = reports[0].population
    assert population is not None and population.population_size == 10


def test_population_size_gives_fraction(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["risk", str(csv_path), "--qi", "sex", "--population-size", "50", "--json"], capsys
    )
    assert code == 0
    data = json.loads(out)
    assert data["population_basis"] == "sampling-fraction"
    assert data["population_uniques"]["sampling_fraction"] == pytest.approx(0.1)
    assert data["population_uniques"]["dankar"]["model"] == "none"  # no sample uniques by sex


def test_unknown_column_is_named(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["risk", str(csv_path), "--qi", "age,zip5", "--json"], capsys)
    assert code == InvalidInput.exit_code
    assert "zip5" in err and "age" not in err.replace("zip5", "")


def test_empty_input_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("age,sex\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no records"):
        analyze(RiskRequest(str(empty), ("age",)))


def test_parameters_checked_before_reading(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.csv")  # never opened: parameters fail first
    with pytest.raises(InvalidInput) as info:
        analyze(
            RiskRequest(missing, ("a", "a"), population_size=10, sampling_fraction=0.1, threshold=2)
        )
    message = str(info.value)
    assert "twice" in message and "not more" in message and "threshold" in message
    with pytest.raises(NotFound):
        analyze(RiskRequest(missing, ("a",)))


def test_population_smaller_than_data_is_refused(csv_path: Path) -> None:
    with pytest.raises(InvalidInput, match="population size"):
        analyze(RiskRequest(str(csv_path), ("age",), population_size=3))


def test_unreadable_file_names_no_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"Zelda Quistgaard is not parquet")
    code, out, err = _run(["risk", str(bad), "--qi", "age"], capsys)
    assert code == InvalidInput.exit_code
    assert "Zelda" not in out + err


def test_table_rendering_has_no_values(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["risk", str(csv_path), "--qi", "age,sex", "--sampling-fraction", "0.2"], capsys
    )
    assert code == 0
    assert "prosecutor" in out and "Dankar" in out
    _assert_no_values(out)


def test_adult_smoke(shared_data: Path) -> None:
    """All nine Adult columns at p = 0.1: ARX's published average risk and Dankar estimate."""
    qi = (
        "sex", "age", "race", "marital-status", "education", "native-country", "workclass",
        "occupation", "salary-class",
    )  # fmt: skip
    report = analyze(
        RiskRequest(
            str(shared_data / "adult" / "adult.csv"), qi, sampling_fraction=0.1, max_combination=1
        )
    )
    assert report.sample.records == 30162
    assert report.sample.prosecutor.average == pytest.approx(0.6465751607983555, rel=1e-12)
    assert report.population is not None
    assert int(report.population.dankar / report.population.population_size * 1e4) == 2768
    assert len(report.attributes) == 9


def test_hashed_grouping_equals_exact_grouping_with_nulls(tmp_path: Path) -> None:
    """Classes are grouped on a 128-bit hash: same histogram as DuckDB's exact GROUP BY, NULLs
    included (a NULL is a value of its own, as in ARX)."""
    path = tmp_path / "nulls.parquet"
    duckdb.sql(
        f"COPY (SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE i % 13 END AS a, "
        f"CASE WHEN i % 5 = 0 THEN NULL ELSE CAST(i % 11 AS VARCHAR) END AS b, i % 3 AS c "
        f"FROM range(5000) t(i)) TO '{path}' (FORMAT parquet)"
    )
    exact = duckdb.sql(
        f"SELECT s, count(*) FROM (SELECT count(*) AS s FROM read_parquet('{path}') "
        f"GROUP BY a, b, c) GROUP BY s ORDER BY s"
    ).fetchall()
    for max_combination in (0, 2):
        report = analyze(RiskRequest(str(path), ("a", "b", "c"), max_combination=max_combination))
        assert report.sample.classes == sum(c for _, c in exact)
        assert report.sample.sample_uniques == dict(exact).get(1, 0)
    pair = next(r for r in report.attributes if r.columns == ("a", "b"))
    distinct_ab = duckdb.sql(
        f"SELECT count(*) FROM (SELECT DISTINCT a, b FROM read_parquet('{path}'))"
    ).fetchall()[0][0]
    assert pair.distinction == distinct_ab / 5000


def test_population_table_gives_arx_journalist_and_marketer(
    tmp_path: Path, csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The data (5 rows) inside a population table: ARX's formulas with each class's size there.

    By sex the data has classes F (3) and M (2); the population has F 6 times and M 8 times:
    journalist highest 1/6, average max(2/14, (3/6 + 2/8)/5) = 0.15, marketer 0.15.
    """
    population = tmp_path / "population.csv"
    lines = ["name,sex"] + [f"p{i},Female" for i in range(6)] + [f"q{i},Male" for i in range(8)]
    population.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["risk", str(csv_path), "--qi", "sex", "--population", str(population), "--json"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    data = json.loads(out)
    assert data["population_basis"] == "population-classes"
    assert data["journalist"]["highest"] == pytest.approx(1 / 6)
    assert data["journalist"]["average"] == pytest.approx(0.15)
    assert data["journalist"]["records_at_risk"] == 0.0  # 1/6 and 1/8 are below 0.2
    assert data["marketer"]["average"] == pytest.approx(0.15)
    assert data["prosecutor"]["highest"] == pytest.approx(0.5)
    assert data["population_uniques"]["population_size"] == 14
    _assert_no_values(out)
    code, out, _ = _run([*argv, "--threshold", "0.15"], capsys)
    assert code == 0
    assert json.loads(out)["journalist"]["records_at_risk"] == pytest.approx(0.6)  # F: 1/6 > .15


def test_data_outside_the_population_is_refused(tmp_path: Path, csv_path: Path) -> None:
    population = tmp_path / "population.csv"
    population.write_text("sex\nFemale\nFemale\nFemale\n", encoding="utf-8")  # no Male
    with pytest.raises(InvalidInput, match="subset of the population"):
        analyze(RiskRequest(str(csv_path), ("sex",), population=str(population)))


def test_automatic_combination_size() -> None:
    assert combination_size(None, 9, 30162) == 3  # Adult: every triple (129 combinations)
    assert combination_size(None, 8, 10_000_000) == 1  # 8 columns of 10M rows: singles only
    assert combination_size(None, 8, 1_000_000) == 3
    assert combination_size(None, 8, 2_000_000) == 2
    assert combination_size(None, 2, 10**9) == 1  # never fewer than the single columns
    assert combination_size(0, 8, 10) == 0 and combination_size(5, 8, 10**9) == 5
