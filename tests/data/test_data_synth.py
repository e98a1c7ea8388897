"""Synthetic custodian data: exact schema, determinism per seed, realism."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.data import icd10
from healthwall.data.zip import zip3_population, zip5_table
from healthwall.engine import DuckDBEngine, open_store
from healthwall.errors import InvalidInput
from healthwall.model.dataset import CLAIM_COLUMNS, PATIENT_COLUMNS
from healthwall.synth import generate, npi_is_valid

N = 5000


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(N, 42, out)
    return out


@pytest.fixture()
def eng(synth_dir: Path) -> Iterator[DuckDBEngine]:
    with open_store(None) as engine:
        engine.read(synth_dir / "patients.parquet", "patients")
        engine.read(synth_dir / "claims.parquet", "claims")
        engine.register_arrow("zip5", zip5_table())
        yield engine


def one(eng: DuckDBEngine, sql: str) -> object:
    return eng.query_arrow(sql).column(0)[0].as_py()


def test_schema_is_exactly_the_known_one(synth_dir: Path) -> None:
    patients = pq.read_schema(synth_dir / "patients.parquet")
    claims = pq.read_schema(synth_dir / "claims.parquet")
    assert patients.names == list(PATIENT_COLUMNS)
    assert claims.names == list(CLAIM_COLUMNS)
    assert patients.field("birth_date").type == pa.date32()
    assert claims.field("service_date").type == pa.date32()
    assert claims.field("paid_amount").type == pa.decimal128(12, 2)
    assert pq.read_metadata(synth_dir / "patients.parquet").num_rows == N


def test_deterministic_per_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(300, 7, a)
    generate(300, 7, b)
    generate(300, 8, c)
    for name in ("patients.parquet", "claims.parquet"):
        assert pq.read_table(a / name).equals(pq.read_table(b / name))
        assert not pq.read_table(a / name).equals(pq.read_table(c / name))


def test_geography_agrees_with_the_zip_table(eng: DuckDBEngine) -> None:
    mismatched = one(
        eng,
        "SELECT count(*) FROM patients p LEFT JOIN zip5 z ON z.zip = p.zip "
        "WHERE z.zip IS NULL OR z.city <> p.city OR z.county <> p.county OR z.state <> p.state",
    )
    assert mismatched == 0


def test_zip3_frequencies_follow_population(eng: DuckDBEngine) -> None:
    counts = eng.query_arrow("SELECT zip[1:3] AS z3, count(*) AS n FROM patients GROUP BY 1")
    got = dict(zip(counts.column("z3").to_pylist(), counts.column("n").to_pylist(), strict=True))
    pop = zip3_population()
    prefixes = sorted(pop)
    x = np.array([pop[p] for p in prefixes], dtype=float)
    y = np.array([got.get(p, 0) for p in prefixes], dtype=float)
    # households of ~2.5 people draw one ZIP each, so counts are clumpy; still strongly correlated
    assert np.corrcoef(x, y)[0, 1] > 0.8
    assert set(got) <= set(pop)


def test_identifiers_are_fictional_and_well_formed(eng: DuckDBEngine) -> None:
    rows = eng.query_arrow("SELECT ssn, phone, email, mrn, patient_id, photo_ref FROM patients")
    ssn = rows.column("ssn").to_pylist()
    assert all(re.fullmatch(r"9\d\d-(0[1-9]|[1-9]\d)-(?!0000)\d{4}", s) for s in ssn)
    assert len(set(ssn)) == len(ssn)
    phones = [p for p in rows.column("phone").to_pylist() if p]
    assert phones and all(re.fullmatch(r"[2-9]\d\d-555-01\d\d", p) for p in phones)
    emails = [e for e in rows.column("email").to_pylist() if e]
    assert emails and all(re.fullmatch(r"[a-z.]+\d+@example\.org", e) for e in emails)
    assert len(set(rows.column("mrn").to_pylist())) == N
    assert len(set(rows.column("patient_id").to_pylist())) == N
    photos = [p for p in rows.column("photo_ref").to_pylist() if p]
    assert photos and all(re.fullmatch(r"photos/[0-9a-f]{2}/[0-9a-f]{16}\.jpg", p) for p in photos)


def test_npis_are_luhn_valid(eng: DuckDBEngine) -> None:
    npis = eng.query_arrow("SELECT DISTINCT provider_npi FROM claims").column(0).to_pylist()
    assert len(npis) > 50
    assert all(npi_is_valid(n) for n in npis)


def test_npi_check_rejects_a_wrong_digit() -> None:
    assert npi_is_valid("1234567893")  # the CMS example NPI
    assert not npi_is_valid("1234567894")
    assert not npi_is_valid("123456789")


def test_ages_span_0_to_105_with_some_over_90(eng: DuckDBEngine) -> None:
    ages = eng.query_arrow(
        "SELECT date_diff('year', birth_date, DATE '2025-01-01') AS age FROM patients"
    ).column("age")
    values = np.array(ages.to_pylist())
    assert values.min() <= 1 and values.max() <= 106
    assert 0.002 < (values >= 90).mean() < 0.02


def test_households_share_addresses(eng: DuckDBEngine) -> None:
    shared = one(
        eng,
        "SELECT count(*) FROM (SELECT address_line, zip FROM patients GROUP BY ALL "
        "HAVING count(*) > 1)",
    )
    assert isinstance(shared, int) and shared > N // 10


def test_demographics_are_plausible(eng: DuckDBEngine) -> None:
    share = eng.query_arrow(
        "SELECT avg((immigration_status = 'citizen')::INT) AS citizen, "
        "avg((birthplace_country <> 'US')::INT) AS foreign_born, "
        "avg((language = 'English')::INT) AS english, "
        "count(*) FILTER (WHERE birthplace_country = 'US' AND immigration_status <> 'citizen')"
        " AS bad "
        "FROM patients"
    ).to_pylist()[0]
    assert 0.8 < share["citizen"] < 0.9
    assert 0.11 < share["foreign_born"] < 0.17
    assert 0.7 < share["english"] < 0.9
    assert share["bad"] == 0


def test_claims_are_about_ten_lines_per_patient(eng: DuckDBEngine) -> None:
    lines = one(eng, "SELECT count(*) FROM claims")
    assert isinstance(lines, int) and 8 * N < lines < 12 * N
    orphans = one(
        eng, "SELECT count(*) FROM claims WHERE patient_id NOT IN (SELECT patient_id FROM patients)"
    )
    assert orphans == 0
    early = one(
        eng,
        "SELECT count(*) FROM claims c JOIN patients p USING (patient_id) "
        "WHERE c.service_date < p.birth_date",
    )
    assert early == 0
    gaps = one(eng, "SELECT count(*) FROM claims WHERE dx3 IS NOT NULL AND dx2 IS NULL")
    assert gaps == 0


def test_diagnoses_are_billable_icd10cm(eng: DuckDBEngine) -> None:
    codes = (
        eng.query_arrow("SELECT DISTINCT unnest([dx1, dx2, dx3]) AS c FROM claims")
        .column("c")
        .to_pylist()
    )
    billable = icd10.billable_codes()
    assert all(c in billable for c in codes if c is not None)
    assert len(codes) > 1000  # the uniform tail gives the hierarchy breadth


def test_every_label_occurs_and_matches_the_codes(eng: DuckDBEngine) -> None:
    combos = eng.query_arrow(
        "SELECT DISTINCT dx1, dx2, dx3, sensitivity_labels FROM claims"
    ).to_pylist()
    for row in combos:
        assert row["sensitivity_labels"] == icd10.sensitivity_labels(
            [row["dx1"], row["dx2"], row["dx3"]]
        )
    seen = {lb for row in combos for lb in row["sensitivity_labels"].split(";") if lb}
    assert {"SUD", "HIV", "MH", "REPRO", "STD", "SDV"} <= seen
    sud = (
        eng.query_arrow("SELECT DISTINCT dx1 FROM claims WHERE dx1 LIKE 'F1%'")
        .column(0)
        .to_pylist()
    )
    assert any(code.startswith(("F10", "F11", "F12")) for code in sud)
    hiv = one(
        eng,
        "SELECT count(*) FROM claims WHERE 'B20' IN (dx1, dx2, dx3) OR 'Z21' IN (dx1, dx2, dx3)",
    )
    assert isinstance(hiv, int) and hiv > 0


def test_pregnancy_codes_only_for_women_of_childbearing_age(eng: DuckDBEngine) -> None:
    wrong = one(
        eng,
        "SELECT count(*) FROM claims c JOIN patients p USING (patient_id) "
        "WHERE (dx1 LIKE 'O%' OR dx1 LIKE 'Z34%') AND (p.sex <> 'F' "
        "OR date_diff('year', p.birth_date, c.service_date) NOT BETWEEN 11 AND 56)",
    )
    assert wrong == 0


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="patients"):
        generate(0, 1, tmp_path)
    with pytest.raises(InvalidInput, match="seed"):
        generate(10, -1, tmp_path)
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=6, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**32))
def test_any_size_and_seed_gives_valid_files(
    tmp_path_factory: pytest.TempPathFactory, n: int, seed: int
) -> None:
    out = tmp_path_factory.mktemp("h")
    result = generate(n, seed, out)
    patients, claims = pq.read_table(result.patients_path), pq.read_table(result.claims_path)
    assert patients.num_rows == n and claims.num_rows == result.claim_lines
    assert patients.column_names == list(PATIENT_COLUMNS)
    assert claims.column_names == list(CLAIM_COLUMNS)
    assert set(claims.column("patient_id").to_pylist()) <= set(
        patients.column("patient_id").to_pylist()
    )
    assert all(s.startswith("9") for s in patients.column("ssn").to_pylist())
