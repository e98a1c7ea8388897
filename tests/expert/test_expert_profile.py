"""`deidentify --profile expert` end to end: threshold met on the output, tokens, identifiers."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from expert_helpers import MASTER_KEY

from healthwall.deid import pseudonym
from healthwall.deid.detect import PATTERNS
from healthwall.model.deid import DeidReport, Treatment
from healthwall.workflows.deidentify import DeidRequest, deidentify, verify

QI = ["birth_date", "sex", "zip", "race", "ethnicity"]
DIRECT = {
    "claim_id", "mrn", "ssn", "medicaid_id", "first_name", "last_name", "address_line",
    "phone", "email",
}  # fmt: skip
RECIPIENT = "state-registry"
Make = Callable[..., Path]


def _request(tmp_path: Path, claims: Path, patients: Path | None, key: Path | None, **kw: object):  # type: ignore[no-untyped-def]
    return DeidRequest(
        input=str(claims),
        output=tmp_path / kw.pop("out", "expert.parquet"),  # type: ignore[operator]
        profile=kw.pop("profile", "expert"),  # type: ignore[arg-type]
        recipient=RECIPIENT if key else None,
        key_ref=f"file:{key}" if key else None,
        join_patients=str(patients) if patients else None,
        report=tmp_path / "report.json",
        **kw,  # type: ignore[arg-type]
    )


def _per_patient_classes(path: Path, qi: list[str]) -> tuple[list[int], int]:
    """Independently: class sizes over the per-patient QI tuples of the output, and the number
    of patients whose lines disagree on the tuple (must be 0)."""
    con = duckdb.connect()
    cols = ", ".join(qi)
    rel = f"read_parquet('{path}')"
    split = con.execute(
        f"SELECT count(*) FROM (SELECT patient_id FROM (SELECT DISTINCT patient_id, {cols}"
        f" FROM {rel}) GROUP BY patient_id HAVING count(*) > 1)"
    ).fetchone()
    sizes = con.execute(f"SELECT count(DISTINCT patient_id) FROM {rel} GROUP BY {cols}").fetchall()
    con.close()
    assert split is not None
    return [int(s[0]) for s in sizes], int(split[0])


@pytest.fixture()
def joined(tmp_path: Path, claims_file: Make, patients_file: Make, master_key: Path):  # type: ignore[no-untyped-def]
    req = _request(tmp_path, claims_file(), patients_file(), master_key)
    return req, deidentify(req)


def test_output_meets_the_threshold_per_patient(joined) -> None:  # type: ignore[no-untyped-def]
    req, report = joined
    e = report.expert
    assert report.profile == "expert" and report.citation == "45 CFR 164.514(b)(1)"
    assert e["risk_unit"] == "patients" and e["threshold"] == 0.05 and e["qi"] == QI
    sizes, split = _per_patient_classes(req.output, QI)
    assert split == 0
    assert 1.0 / min(sizes) <= 0.05
    assert math.isclose(e["risk_after"]["prosecutor_highest"], 1.0 / min(sizes))
    released = sum(sizes)
    assert released + e["suppressed"] == e["records"] == 3000
    assert e["suppressed"] <= 0.04 * 3000
    assert e["risk_before"]["prosecutor_highest"] > 0.05
    assert report.rows_in == 9000 and report.rows_out == 9000 - e["suppressed_rows"]
    assert e["line_level_dropped"] == ["service_date"]


def test_tokens_equal_safe_harbor_tokens(joined, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    req, _ = joined
    sh_req = _request(
        tmp_path,
        Path(req.input),
        Path(req.join_patients),
        tmp_path / "master.key",
        profile="safe-harbor",
        out="sh.parquet",
    )
    deidentify(sh_req)
    con = duckdb.connect()
    expert_tokens = {r[0] for r in con.execute(f"SELECT patient_id FROM '{req.output}'").fetchall()}
    sh_tokens = {r[0] for r in con.execute(f"SELECT patient_id FROM '{sh_req.output}'").fetchall()}
    con.close()
    rkey = pseudonym.recipient_key(MASTER_KEY, RECIPIENT)
    reference = {pseudonym.token(rkey, f"P{i:06d}") for i in range(3000)}
    assert expert_tokens and expert_tokens <= sh_tokens <= reference
    assert len(sh_tokens) == 3000


def test_direct_identifiers_are_gone(joined, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    req, report = joined
    verdict = verify(req.output, ruleset="limited-data-set")
    assert verdict.passed and verdict.columns_checked > 0
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM '{req.output}'")
    assert not DIRECT & set(rel.columns)
    text_cols = [c for c, t in zip(rel.columns, rel.types, strict=True) if str(t) == "VARCHAR"]
    for col in text_cols:
        for rule in ("ssn", "phone", "email"):
            regex = PATTERNS[rule][1]
            hits = con.execute(
                f"SELECT count_if(regexp_matches({col}, ?)) FROM '{req.output}'", [regex]
            ).fetchone()
            assert hits is not None and hits[0] == 0, (col, rule)
    con.close()
    treatments = {c.column: c.treatment for c in report.columns}
    assert treatments["patient_id"] is Treatment.PSEUDONYMIZE
    assert all(treatments[c] is Treatment.DROP for c in DIRECT)
    assert all(treatments[c] is Treatment.GENERALIZE for c in QI)


def test_report_files_state_the_method_and_hold_no_values(joined) -> None:  # type: ignore[no-untyped-def]
    req, report = joined
    data = json.loads(req.report.read_text())
    again = DeidReport.model_validate(data)
    assert again.expert is not None and again.expert["levels"] == report.expert["levels"]
    html = req.report.with_suffix(".html").read_text()
    assert "Expert determination" in html and "patients" in html
    for text in (req.report.read_text(), html):
        assert "@example.org" not in text and "Main St" not in text and "900-" not in text
        assert "P000001" not in text


def test_without_a_key_the_patient_key_is_dropped(tmp_path: Path, patients_file: Make) -> None:
    req = _request(tmp_path, patients_file(), None, None, k=10, max_risk=0.09)
    report = deidentify(req)
    con = duckdb.connect()
    columns = con.sql(f"SELECT * FROM '{req.output}'").columns
    sizes = con.execute(f"SELECT count(*) FROM '{req.output}' GROUP BY {', '.join(QI)}").fetchall()
    con.close()
    assert "patient_id" not in columns
    assert report.expert is not None and math.isclose(report.expert["threshold"], 0.09)
    assert min(int(s[0]) for s in sizes) >= 12  # ceil(1 / 0.09)
    assert report.pseudonym_scheme is None


def test_csv_input_gives_the_same_levels_as_parquet(
    tmp_path: Path, patients_file: Make, master_key: Path
) -> None:
    pq = deidentify(_request(tmp_path, patients_file(), None, master_key, out="a.parquet"))
    csv_in = patients_file(name="patients.csv")
    csv = deidentify(_request(tmp_path, csv_in, None, master_key, out="b.csv"))
    assert pq.expert is not None and csv.expert is not None
    assert pq.expert["levels"] == csv.expert["levels"]
    assert pq.expert["suppressed"] == csv.expert["suppressed"]


def test_claims_without_a_patient_do_not_coarsen_the_hierarchies(joined, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    req, report = joined
    orphans = tmp_path / "orphans.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN patient_id IN ('P000001', 'P000002') THEN 'X'"
        f" || patient_id ELSE patient_id END AS patient_id) FROM '{req.input}') TO '{orphans}'"
    )
    con.close()
    again = deidentify(
        _request(tmp_path, orphans, Path(req.join_patients), None, out="orphans-out.parquet")
    )
    assert again.expert is not None and report.expert is not None
    assert again.expert["levels"] == report.expert["levels"]
    assert min(_line_classes(again.output, QI)) >= 20  # lines: at least the patients


def _line_classes(path: str, qi: list[str]) -> list[int]:
    con = duckdb.connect()
    rows = con.execute(f"SELECT count(*) FROM '{path}' GROUP BY {', '.join(qi)}").fetchall()
    con.close()
    return [int(r[0]) for r in rows]


def test_store_table_input_gives_the_same_extract(
    tmp_path: Path, patients_file: Make, master_key: Path
) -> None:
    src = patients_file()
    store = tmp_path / "custodian.duckdb"
    con = duckdb.connect(str(store))
    con.execute(f"CREATE TABLE patients AS SELECT * FROM '{src}'")
    con.close()
    from_file = deidentify(_request(tmp_path, src, None, master_key, out="f.parquet"))
    req = _request(tmp_path, src, None, master_key, out="s.parquet")
    from_store = deidentify(dataclasses.replace(req, input=f"store:{store}#patients"))
    assert from_file.expert is not None and from_store.expert is not None
    assert from_file.expert["levels"] == from_store.expert["levels"]
    con = duckdb.connect()
    a = con.execute(f"SELECT * FROM '{tmp_path / 'f.parquet'}' ORDER BY ALL").fetchall()
    b = con.execute(f"SELECT * FROM '{tmp_path / 's.parquet'}' ORDER BY ALL").fetchall()
    con.close()
    assert a == b and len(a) == 3000 - from_file.expert["suppressed"]
