"""The verifier and the two CLI commands: findings name column and rule, never a value."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deid_helpers import REFERENCE

from healthwall.cli.main import main
from healthwall.deid.verify import verify_file
from healthwall.deid.zip3 import zip3_table
from healthwall.model.dataset import DatasetSpec

ABSENT = min({f"{i:03d}" for i in range(1, 1000)} - zip3_table("census-2010").known)
BAD = {
    "zip": (["02139", "021"], "zip5"),
    "zip3": (["036", "021"], "zip3-restricted"),
    "postal": ([ABSENT, "000"], "zip3-unknown"),
    "age": ([91, 45], "age-over-89"),
    "birth_year": ([1930, 1990], "birth-year-over-89"),
    "seen_on": ([date(2020, 1, 2), None], "full-date"),
    "last_name": (["Okafor", None], "name-column"),
    "comment": (["call 555-010-1234", "ok"], "phone"),
}


def test_each_rule_is_found_and_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "leaky.parquet"
    pq.write_table(pa.table({c: v for c, (v, _) in BAD.items()}), path)
    result = verify_file(path, reference=REFERENCE)
    found = {(f.column, f.rule) for f in result.findings}
    assert {(c, rule) for c, (_, rule) in BAD.items()} <= found
    assert not result.passed and result.rows == 2


def test_declared_columns_are_checked_by_their_kind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"pt": ["Someone"], "loc": ["02139"], "yrs": [95]}), path)
    spec = DatasetSpec.parse({"columns": {
        "pt": {"role": "identifier", "kind": "name"},
        "loc": {"role": "quasi-identifier", "kind": "zip"},
        "yrs": {"role": "quasi-identifier", "kind": "age"},
    }})  # fmt: skip
    found = {(f.column, f.rule) for f in verify_file(path, spec=spec).findings}
    assert found == {("pt", "declared-name"), ("loc", "zip5"), ("yrs", "age-over-89")}
    assert verify_file(path).passed  # without the spec these names announce nothing


def test_clean_safe_harbor_output_passes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clean.csv"
    path.write_text(
        "patient_id,zip,age,birth_date,service_date,dx1\nab12,021,90+,1950,2020,F10.20\n"
    )
    assert verify_file(path, reference=REFERENCE).passed


def test_limited_data_set_ruleset_allows_dates_and_zip5(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "lds.parquet"
    pq.write_table(pa.table({"zip": ["02139"], "service_date": [date(2020, 1, 2)]}), path)
    assert verify_file(path, ruleset="limited-data-set").passed
    assert not verify_file(path, ruleset="safe-harbor").passed


def test_cli_verify_exits_non_zero_naming_column_and_rule(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "leaky.csv"
    path.write_text("note,zip\nSSN 900-12-3456,02139\n")
    with pytest.raises(SystemExit) as info:
        main(["verify-safe-harbor", str(path), "--reference-date", "2026-01-01"])
    assert info.value.code == 5
    err = capsys.readouterr().err
    assert "note: ssn" in err and "zip: zip5" in err
    assert "900-12-3456" not in err and "02139" not in err
    clean = tmp_path / "clean.csv"
    clean.write_text("zip\n021\n")
    main(["verify-safe-harbor", str(clean)])  # success returns normally (exit status 0)
    assert "clean.csv: 1 rows, 1 columns: passed" in capsys.readouterr().out


def test_cli_deidentify(make_claims, make_patients, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HW_DEID_KEY", "0123456789abcdef0123")
    out, report = tmp_path / "x.parquet", tmp_path / "x.html"
    argv = ["deidentify", str(make_claims(200, 50)), "--out", str(out), "--recipient", "acme",
            "--key-env", "HW_DEID_KEY", "--join-patients", str(make_patients(50)),
            "--report", str(report), "--reference-date", "2026-01-01"]  # fmt: skip
    main(argv)
    assert out.exists() and report.exists() and report.with_suffix(".json").exists()
    monkeypatch.delenv("HW_DEID_KEY")
    out.unlink()
    with pytest.raises(SystemExit) as bad:
        main(argv)
    assert bad.value.code == 6 and "HW_DEID_KEY" in capsys.readouterr().err
    assert not out.exists()
