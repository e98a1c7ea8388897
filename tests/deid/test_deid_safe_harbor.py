"""Safe Harbor extracts end to end: treatments, pseudonyms, counts in the report, inputs."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from deid_helpers import MASTER_KEY, REFERENCE

from healthwall.deid.zip3 import zip3_table
from healthwall.errors import ConfigError, InvalidInput, NotFound, Refused, UndeclaredIdentifier
from healthwall.workflows.deidentify import DeidRequest, deidentify

DROPPED = {
    "claim_id", "mrn", "ssn", "medicaid_id", "first_name", "last_name", "address_line", "city",
    "county", "phone", "email", "photo_ref",
}  # fmt: skip
Rows = Callable[[Path], list[dict[str, object]]]


def token(recipient: str, value: str) -> str:
    rkey = hmac.new(MASTER_KEY, recipient.encode(), hashlib.sha256).digest()
    return hmac.new(rkey, value.encode(), hashlib.sha256).hexdigest()[:32]


def expected_zip3(z: str) -> str:
    table = zip3_table("census-2010")
    prefix = z[:3]
    return prefix if prefix in table.allowed else "000"


@pytest.fixture()
def joined(make_claims, make_patients, key_file, tmp_path):  # type: ignore[no-untyped-def]
    claims, patients = make_claims(), make_patients()
    out = tmp_path / "out.parquet"
    req = DeidRequest(
        input=str(claims),
        output=out,
        recipient="acme-clearinghouse",
        key_ref=f"file:{key_file}",
        report=tmp_path / "report.json",
        join_patients=str(patients),
        reference_date=REFERENCE,
    )
    return req, deidentify(req), claims, patients


def test_joined_extract_treats_every_kind(joined, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    req, report, claims, patients = joined
    out_rows = rows(req.output)
    claim_rows, patient_rows = rows(claims), rows(patients)
    assert len(out_rows) == len(claim_rows) == report.rows_in == report.rows_out
    assert not DROPPED & set(out_rows[0])
    assert {"patient_id", "zip", "birth_date", "service_date", "state"} <= set(out_rows[0])
    by_id = {p["patient_id"]: p for p in patient_rows}
    tokens = {token("acme-clearinghouse", str(pid)): p for pid, p in by_id.items()}
    cutoff = REFERENCE.year - 90
    for row in out_rows:
        patient = tokens[str(row["patient_id"])]  # every token is the HMAC of a real id
        assert row["zip"] == expected_zip3(str(patient["zip"]))
        birth_year = patient["birth_date"].year  # type: ignore[attr-defined]
        assert row["birth_date"] == (birth_year if birth_year > cutoff else None)
        assert isinstance(row["service_date"], int)
        assert row["state"] == patient["state"]


def test_report_counts_match_the_data(joined, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    req, report, claims, patients = joined
    people, lines = rows(patients), rows(claims)
    assert report.inputs == [str(claims), str(patients)]
    assert report.input_rows == [len(lines), len(people)]
    counts = {c.column: c for c in report.counts}
    assert counts["zip"].counted_over == str(patients)  # patient columns: per patient record
    assert counts["service_date"].counted_over == str(claims)  # claim columns: per claim line
    suppressed = sum(expected_zip3(str(p["zip"])) == "000" for p in people)
    assert counts["zip"].suppressed == suppressed
    assert counts["zip"].transformed == len(people) - suppressed
    old = sum(p["birth_date"].year <= REFERENCE.year - 90 for p in people)  # type: ignore[attr-defined]
    assert counts["birth_date"].nulled == old and old > 0
    assert counts["birth_date"].transformed == len(people) - old
    assert counts["ssn"].dropped == len(people)
    assert counts["patient_id"].transformed == len(lines)
    assert counts["claim_id"].dropped == len(lines)
    assert counts["service_date"].transformed == len(lines)
    treatments = {c.column: c.treatment.value for c in report.columns}
    assert treatments["zip"] == "zip3" and treatments["patient_id"] == "pseudonymize"
    assert report.verification.passed and report.zip_table == "census-2010"
    assert report.output_sha256 == hashlib.sha256(req.output.read_bytes()).hexdigest()
    assert report.input_sha256[0] == hashlib.sha256(claims.read_bytes()).hexdigest()


def test_single_input_counts(make_patients, key_file, tmp_path, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    src = make_patients(120)
    req = DeidRequest(input=str(src), output=tmp_path / "o.csv", recipient="r",
                      key_ref=f"file:{key_file}", reference_date=REFERENCE)  # fmt: skip
    report = deidentify(req)
    people = rows(src)
    counts = {c.column: c for c in report.counts}
    assert report.rows_in == report.rows_out == len(people) == report.input_rows[0]
    suppressed = sum(expected_zip3(str(p["zip"])) == "000" for p in people)
    assert counts["zip"].suppressed == suppressed
    assert counts["email"].dropped == counts["email"].non_null_in == len(people)
    assert counts["patient_id"].transformed == len(people)


def test_report_files_hold_no_values(joined, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    req, report, _, patients = joined
    assert req.report is not None
    data = json.loads(req.report.read_text())
    assert data["rows_in"] == report.rows_in and data["reference_date"] == "2026-01-01"
    html = req.report.with_suffix(".html").read_text()
    assert all(c.column in html for c in report.columns)
    patient = rows(patients)[7]
    for field in ("ssn", "phone", "email", "mrn", "address_line"):
        assert str(patient[field]) not in html
        assert str(patient[field]) not in req.report.read_text()


def test_csv_and_store_inputs_give_the_same_tokens(
    make_patients, key_file, tmp_path, rows: Rows
) -> None:  # type: ignore[no-untyped-def]
    parquet = make_patients(50)
    csv = make_patients(50, name="patients.csv")
    store = tmp_path / "custodian.duckdb"
    con = duckdb.connect(str(store))
    con.execute(f"CREATE TABLE patients AS SELECT * FROM read_parquet('{parquet}')")
    con.close()
    outs = []
    for i, source in enumerate([str(parquet), str(csv), f"store:{store}#patients"]):
        out = tmp_path / f"out{i}.csv"
        deidentify(
            DeidRequest(
                input=source,
                output=out,
                recipient="r",
                key_ref=f"file:{key_file}",
                reference_date=REFERENCE,
            )
        )
        outs.append(sorted(str(r["patient_id"]) for r in rows(out)))
    assert outs[0] == outs[1] == outs[2]
    assert sorted(token("r", f"P{i:06d}") for i in range(50)) == outs[0]


def test_without_a_key_the_patient_key_is_dropped(make_claims, tmp_path, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.parquet"
    report = deidentify(DeidRequest(input=str(make_claims(100)), output=out))
    assert "patient_id" not in rows(out)[0]
    assert {c.column: c.treatment.value for c in report.columns}["patient_id"] == "drop"


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def _add_column(src: Path, tmp_path: Path, name: str, expr: str) -> Path:
    out = tmp_path / f"with_{name}.parquet"
    duckdb.sql(f"COPY (SELECT *, {expr} AS {name} FROM read_parquet('{src}')) TO '{out}'")
    return out


@pytest.mark.parametrize(
    ("column", "expr"),
    [
        ("notes", "'SSN ' || ssn"),
        ("contact", "phone"),
        ("extra", "'see https://example.org/p/' || patient_id"),
        ("addr", "'10.0.' || (length(patient_id) % 200)::VARCHAR || '.7'"),
        ("code", "mrn || ' MRN'"),
        ("who", "last_name || ', ' || first_name"),
        ("mail", "email"),
    ],
)
def test_undeclared_identifier_is_rejected_naming_the_column(
    make_patients, tmp_path, column: str, expr: str
) -> None:  # type: ignore[no-untyped-def]
    src = _add_column(make_patients(60), tmp_path, column, expr)
    spec = _spec(tmp_path, f"columns:\n  {column}: {{role: insensitive}}\n")
    out = tmp_path / "out.parquet"
    with pytest.raises(UndeclaredIdentifier) as info:
        deidentify(DeidRequest(input=str(src), output=out, spec=spec))
    assert column in info.value.message
    values = [str(v[0]) for v in duckdb.sql(f"SELECT {column} FROM '{src}'").fetchall()]
    assert not any(v in info.value.message for v in values)
    assert list(tmp_path.glob("*out*")) == []


def test_identifier_like_column_name_is_rejected(make_patients, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = _add_column(make_patients(30), tmp_path, "home_phone", "'n/a'")
    spec = _spec(tmp_path, "columns:\n  home_phone: {role: insensitive}\n")
    with pytest.raises(UndeclaredIdentifier, match="home_phone"):
        deidentify(DeidRequest(input=str(src), output=tmp_path / "o.parquet", spec=spec))


def test_column_missing_from_spec_is_an_error(make_patients, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = _add_column(make_patients(30), tmp_path, "mystery", "'x'")
    with pytest.raises(InvalidInput, match="mystery"):
        deidentify(DeidRequest(input=str(src), output=tmp_path / "o.parquet"))
    assert not (tmp_path / "o.parquet").exists()


def test_declared_identifier_kind_is_dropped(make_patients, tmp_path, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    src = _add_column(make_patients(30), tmp_path, "notes", "'SSN ' || ssn")
    spec = _spec(tmp_path, "columns:\n  notes: {role: sensitive, free_text: true}\n")
    out = tmp_path / "o.parquet"
    deidentify(DeidRequest(input=str(src), output=out, spec=spec, reference_date=REFERENCE))
    assert "notes" not in rows(out)[0]


def test_unsafe_output_is_refused_and_deleted(make_patients, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = _add_column(make_patients(30), tmp_path, "summary", "'seen ' || birth_date::VARCHAR")
    decl = "{role: sensitive, free_text: true, safe_text: true}"
    spec = _spec(tmp_path, f"columns:\n  summary: {decl}\n")
    out = tmp_path / "o.parquet"
    with pytest.raises(Refused, match="summary: full-date"):
        deidentify(DeidRequest(input=str(src), output=out, spec=spec, reference_date=REFERENCE))
    assert sorted(p.name for p in tmp_path.iterdir() if "o.parquet" in p.name) == []


def test_bad_inputs_give_clear_errors_and_no_output(make_patients, key_file, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "o.parquet"
    with pytest.raises(NotFound, match="does not exist"):
        deidentify(DeidRequest(input=str(tmp_path / "missing.parquet"), output=out))
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b'patient_id,zip\n"P1,"02139\nP2,021\x00"39,,,,\n"')
    with pytest.raises(InvalidInput):
        deidentify(DeidRequest(input=str(broken), output=out))
    notparquet = tmp_path / "fake.parquet"
    notparquet.write_text("not parquet")
    with pytest.raises(InvalidInput, match=r"fake\.parquet"):
        deidentify(DeidRequest(input=str(notparquet), output=out))
    src = make_patients(10)
    bad_spec = _spec(tmp_path, "columns:\n  zip: {role: quasi-identifier, kind: zipcode}\n")
    with pytest.raises(InvalidInput, match="spec"):
        deidentify(DeidRequest(input=str(src), output=out, spec=bad_spec))
    with pytest.raises(ConfigError, match="key"):
        deidentify(DeidRequest(input=str(src), output=out, recipient="r", key_ref="secret!"))
    with pytest.raises(ConfigError, match="recipient"):
        deidentify(DeidRequest(input=str(src), output=out, key_ref=f"file:{key_file}"))
    with pytest.raises(InvalidInput, match=r"csv or \.parquet"):
        deidentify(DeidRequest(input=str(src), output=tmp_path / "o.xlsx"))
    with pytest.raises(ConfigError, match="profile"):
        deidentify(DeidRequest(input=str(src), output=out, profile="anonymous-ish"))
    store = tmp_path / "store.duckdb"
    duckdb.connect(str(store)).close()
    with pytest.raises(InvalidInput, match="cannot be read"):
        deidentify(DeidRequest(input=f"store:{store}#patients", output=out))
    with pytest.raises(InvalidInput, match="store:PATH#table"):
        deidentify(DeidRequest(input=f"store:{store}", output=out))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".tmp", "o."))] == []


def test_hhs_2000_table_is_applied_and_reported(make_patients, tmp_path, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    src = make_patients(12)  # zips cycle through 02139 03601 99501 05901 20201-1234 00000
    got = {}
    for table in ("census-2010", "hhs-2000"):
        out = tmp_path / f"{table}.parquet"
        report = deidentify(DeidRequest(input=str(src), output=out, zip_table=table))
        assert report.zip_table == table
        got[table] = {str(r["zip"]) for r in rows(out)}
    assert got["census-2010"] == {"021", "995", "000"}  # 202 is restricted in 2010
    assert got["hhs-2000"] == {"021", "995", "202", "000"}  # ... but not on HHS's 2000 list


def test_column_types_are_normalized(tmp_path, rows: Rows) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "typed.parquet"
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES"
        " (2139, '02/29/1930', TIMESTAMP '2021-03-04 10:00:00', '95', 'x'),"
        " (3601, '1990-07-01', TIMESTAMP '2020-01-01 00:00:00', '89.5', 'y'),"
        " (99501, 'not a date', NULL, 'n/a', 'z')"
        f") AS t(zip, birth_date, admitted, age, sex)) TO '{src}'"
    )
    spec = _spec(
        tmp_path,
        "columns:\n  admitted: {role: quasi-identifier, kind: date}\n"
        "  age: {role: quasi-identifier, kind: age}\n",
    )
    out = tmp_path / "o.parquet"
    report = deidentify(
        DeidRequest(input=str(src), output=out, spec=spec, reference_date=REFERENCE)
    )
    got = rows(out)
    assert [r["zip"] for r in got] == ["021", "000", "995"]  # integer ZIPs regain leading zeros
    assert [r["birth_date"] for r in got] == [None, 1990, None]  # 1930 reveals 90+; bad -> NULL
    assert [r["admitted"] for r in got] == [2021, 2020, None]
    assert [r["age"] for r in got] == ["90+", "90+", None]
    counts = {c.column: c for c in report.counts}
    assert counts["birth_date"].nulled == 2 and counts["age"].suppressed == 2
    assert counts["age"].nulled == 1
