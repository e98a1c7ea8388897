"""Ingest of CSV, Parquet and FHIR R4 into the custodian store: round trips, roles, bad input."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.engine import open_store
from healthwall.errors import InvalidInput, NotFound
from healthwall.synth import generate
from healthwall.workflows.ingest import export_to_fhir, run_ingest, stored_roles_of


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ingest")
    generate(300, 11, out)
    export_to_fhir(out / "patients.parquet", out / "claims.parquet", out / "fhir", bundle=True)
    return out


def differences(store: Path, table: str, reference: Path) -> int:
    """Rows in one of (store table, reference file) but not the other."""
    with open_store(store, read_only=True) as eng:
        ref = f"read_parquet('{reference}')"
        sql = (
            f"SELECT count(*) AS n FROM ((SELECT * FROM {table} EXCEPT ALL SELECT * FROM {ref}) "
            f"UNION ALL (SELECT * FROM {ref} EXCEPT ALL SELECT * FROM {table}))"
        )
        return int(eng.query_arrow(sql).column("n")[0].as_py())


def snapshot(store: Path) -> dict[str, int]:
    with open_store(store, read_only=True) as eng:
        return {
            t: int(eng.query_arrow(f'SELECT count(*) AS n FROM "{t}"').column("n")[0].as_py())
            for t in eng.tables()
        }


def test_parquet_ingest_keeps_rows_and_records_roles(synth: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    result = run_ingest([synth / "patients.parquet", synth / "claims.parquet"], store)
    assert result.rows == {"patients": 300, "claims": differences_count(synth)}
    assert differences(store, "patients", synth / "patients.parquet") == 0
    assert differences(store, "claims", synth / "claims.parquet") == 0
    roles = stored_roles_of(store, "patients")
    assert roles.columns["ssn"].kind == "ssn"
    assert roles.patient_key() == "patient_id"
    assert stored_roles_of(store, "claims").columns["dx1"].role == "sensitive"


def differences_count(synth: Path) -> int:
    with open_store(None) as eng:
        n = eng.query_arrow(f"SELECT count(*) AS n FROM '{synth / 'claims.parquet'}'")
        return int(n.column("n")[0].as_py())


@pytest.mark.parametrize("files", [["Patient.ndjson", "Claim.ndjson"], ["bundle.json"]])
def test_fhir_round_trip(synth: Path, tmp_path: Path, files: list[str]) -> None:
    store = tmp_path / "f.duckdb"
    result = run_ingest([synth / "fhir" / f for f in files], store)
    assert result.resources["Patient"] == 300
    assert differences(store, "patients", synth / "patients.parquet") == 0
    assert differences(store, "claims", synth / "claims.parquet") == 0


def test_csv_ingest_derives_labels_and_fills_missing_columns(tmp_path: Path) -> None:
    csv = tmp_path / "claims.csv"
    csv.write_text(
        "claim_id,patient_id,service_date,dx1,dx2,paid_amount\n"
        "C1,P1,2024-01-02,F11.20,B20,12.50\n"
        "C2,P2,2024-02-03,J45.909,,3\n",
        encoding="utf-8",
    )
    store = tmp_path / "s.duckdb"
    run_ingest([csv], store)
    with open_store(store, read_only=True) as eng:
        rows = eng.query_arrow(
            "SELECT claim_id, line_number, sensitivity_labels, paid_amount, dx3 FROM claims "
            "ORDER BY claim_id"
        ).to_pylist()
    assert [r["sensitivity_labels"] for r in rows] == ["HIV;SUD", ""]
    assert [r["line_number"] for r in rows] == [1, 1]
    assert str(rows[0]["paid_amount"]) == "12.50"
    assert rows[0]["dx3"] is None


def test_other_table_needs_a_role_for_every_column(tmp_path: Path) -> None:
    csv = tmp_path / "visits.csv"
    csv.write_text("visit_id,ward,secret_note\nV1,A,zzz-hidden\n", encoding="utf-8")
    store = tmp_path / "s.duckdb"
    with pytest.raises(InvalidInput) as err:
        run_ingest([csv], store)
    assert "visit_id" in err.value.message and "zzz-hidden" not in err.value.message
    spec = tmp_path / "roles.yaml"
    spec.write_text(
        "columns:\n"
        "  visit_id: {role: identifier, kind: record-id}\n"
        "  ward: {role: quasi-identifier}\n"
        "  secret_note: {role: sensitive, free_text: true}\n",
        encoding="utf-8",
    )
    assert run_ingest([csv], store, spec_path=spec).rows == {"visits": 1}
    assert stored_roles_of(store, "visits").columns["secret_note"].free_text


def test_unknown_column_in_known_table_is_named(tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text("patient_id,shoe_size\nP1,44\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="shoe_size"):
        run_ingest([csv], tmp_path / "s.duckdb")


@pytest.fixture()
def loaded_store(synth: Path, tmp_path: Path) -> Path:
    store = tmp_path / "loaded.duckdb"
    run_ingest([synth / "patients.parquet"], store)
    return store


def _bad_inputs(tmp_path: Path, synth: Path) -> dict[str, tuple[Path, str]]:
    good_line = (synth / "fhir" / "Patient.ndjson").read_text(encoding="utf-8").splitlines()[0]
    files = {
        "malformed-json": (
            "p.ndjson",
            good_line + "\n{not json SECRETVALUE\n",
            r"line 2: not valid JSON",
        ),
        "unknown-type": (
            "o.ndjson",
            json.dumps({"resourceType": "Observation", "id": "SECRETVALUE"}) + "\n",
            r"unsupported resource type 'Observation'",
        ),
        "invalid-fhir": (
            "b.ndjson",
            json.dumps({"resourceType": "Patient", "birthDate": "SECRETVALUE"}) + "\n",
            r"line 1: invalid FHIR R4 Patient: .*birthDate",
        ),
        "wrong-type": (
            "patients.csv",
            "patient_id,birth_date\nP9,SECRETVALUE\n",
            r"birth_date: 1 value\(s\) not of type DATE",
        ),
        "bad-bundle": ("x.json", '{"resourceType": "Bundle", "entry": [{"full": 1}]}', r"entry 1"),
        "not-resource": ("y.json", '["SECRETVALUE"]', r"not a FHIR resource"),
    }
    out = {}
    for key, (name, text, pattern) in files.items():
        path = tmp_path / key / name
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        out[key] = (path, pattern)
    return out


@pytest.mark.parametrize(
    "case",
    ["malformed-json", "unknown-type", "invalid-fhir", "wrong-type", "bad-bundle", "not-resource"],
)
def test_bad_input_is_named_and_changes_nothing(
    case: str, synth: Path, loaded_store: Path, tmp_path: Path
) -> None:
    bad, pattern = _bad_inputs(tmp_path, synth)[case]
    before = snapshot(loaded_store)
    good_claims = synth / "claims.parquet"  # loads fine on its own: must be rolled back too
    with pytest.raises(InvalidInput, match=pattern) as err:
        run_ingest([good_claims, bad], loaded_store)
    assert "SECRETVALUE" not in err.value.message
    assert bad.name in err.value.message
    assert snapshot(loaded_store) == before


def test_malformed_csv_is_rejected(tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text('patient_id,zip\nP1,"12345\nP2,1,2,3,4\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"patients\.csv"):
        run_ingest([csv], tmp_path / "s.duckdb")


def test_missing_file_and_no_input(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        run_ingest([tmp_path / "none.csv"], tmp_path / "s.duckdb")
    with pytest.raises(InvalidInput):
        run_ingest([], tmp_path / "s.duckdb")


def _write_ndjson(path: Path, resources: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


ICD = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"


def test_encounters_and_conditions_map_to_claim_lines(tmp_path: Path) -> None:
    encounter = {
        "resourceType": "Encounter",
        "id": "E1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
        "subject": {"reference": "Patient/P1"},
        "period": {"start": "2024-03-04T10:00:00Z"},
        "participant": [{"individual": {"identifier": {"system": NPI, "value": "1234567893"}}}],
        "serviceProvider": {"display": "Mercy ER"},
        "diagnosis": [{"condition": {"reference": "Condition/K1"}}],
    }

    def condition(cid: str, code: str, enc: str | None) -> dict[str, object]:
        res: dict[str, object] = {
            "resourceType": "Condition",
            "id": cid,
            "subject": {"reference": "Patient/P1"},
            "code": {"coding": [{"system": ICD, "code": code}]},
            "recordedDate": "2024-01-01",
        }
        if enc:
            res["encounter"] = {"reference": f"Encounter/{enc}"}
        return res

    path = _write_ndjson(
        tmp_path / "enc.ndjson",
        [encounter, condition("K1", "F11.20", None), condition("K2", "B20", "E1"),
         condition("K3", "Z34.00", None)],
    )  # fmt: skip
    store = tmp_path / "s.duckdb"
    result = run_ingest([path], store)
    assert result.resources == {"Encounter": 1, "Condition": 3}
    with open_store(store, read_only=True) as eng:
        rows = eng.query_arrow("SELECT * FROM claims ORDER BY claim_id").to_pylist()
    assert [r["claim_id"] for r in rows] == ["E1", "K3"]
    enc = rows[0]
    assert (enc["dx1"], enc["dx2"], enc["place_of_service"]) == ("F11.20", "B20", "23")
    assert (enc["provider_npi"], enc["facility"]) == ("1234567893", "Mercy ER")
    assert enc["sensitivity_labels"] == "HIV;SUD"
    assert str(enc["service_date"]) == "2024-03-04"
    assert (rows[1]["dx1"], rows[1]["sensitivity_labels"]) == ("Z34.00", "REPRO")


def test_explanation_of_benefit_maps_paid_amount(tmp_path: Path) -> None:
    eob = {
        "resourceType": "ExplanationOfBenefit",
        "id": "X1",
        "status": "active",
        "type": {"coding": [{"code": "professional"}]},
        "use": "claim",
        "patient": {"reference": "Patient/P7"},
        "created": "2024-05-06",
        "insurer": {"display": "Plan"},
        "provider": {"identifier": {"system": NPI, "value": "1234567893"}},
        "outcome": "complete",
        "insurance": [{"focal": True, "coverage": {"display": "c"}}],
        "diagnosis": [
            {
                "sequence": 2,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": "F32.9"}]},
            },
            {
                "sequence": 1,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": "I10"}]},
            },
        ],
        "item": [
            {
                "sequence": 1,
                "productOrService": {"coding": [{"code": "90834"}]},
                "servicedDate": "2024-05-01",
                "adjudication": [
                    {"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 200}},
                    {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": 95.5}},
                ],
            }
        ],
    }
    store = tmp_path / "s.duckdb"
    run_ingest([_write_ndjson(tmp_path / "eob.ndjson", [eob])], store)
    with open_store(store, read_only=True) as eng:
        row = eng.query_arrow("SELECT * FROM claims").to_pylist()[0]
    assert (row["dx1"], row["dx2"], row["procedure_code"]) == ("I10", "F32.9", "90834")
    assert str(row["paid_amount"]) == "95.50"
    assert row["sensitivity_labels"] == "MH"
    assert row["patient_id"] == "P7"


def test_given_labels_are_kept_and_unknown_ones_rejected(tmp_path: Path) -> None:
    csv = tmp_path / "claims.csv"
    csv.write_text(
        "claim_id,patient_id,service_date,dx1,sensitivity_labels\n"
        "C1,P1,2024-01-02,F11.20,ETH\n"
        "C2,P1,2024-01-03,f1120,\n",
        encoding="utf-8",
    )
    store = tmp_path / "s.duckdb"
    run_ingest([csv], store)
    with open_store(store, read_only=True) as eng:
        got = eng.query_arrow("SELECT sensitivity_labels FROM claims ORDER BY claim_id")
    assert got.column(0).to_pylist() == ["ETH;SUD", "SUD"]
    bad = tmp_path / "bad" / "claims.csv"
    bad.parent.mkdir()
    bad.write_text(
        "claim_id,patient_id,service_date,sensitivity_labels\nC3,P1,2024-01-02,NOPE\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput, match="unknown label"):
        run_ingest([bad], store)


def test_csv_keeps_leading_zeros(tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text("patient_id,zip,mrn\n007,02139,0012\n", encoding="utf-8")
    store = tmp_path / "s.duckdb"
    run_ingest([csv], store)
    with open_store(store, read_only=True) as eng:
        row = eng.query_arrow("SELECT patient_id, zip, mrn FROM patients").to_pylist()[0]
    assert row == {"patient_id": "007", "zip": "02139", "mrn": "0012"}


def test_structure_validation_round_trips(synth: Path, tmp_path: Path) -> None:
    store = tmp_path / "fast.duckdb"
    files = [synth / "fhir" / "Patient.ndjson", synth / "fhir" / "Claim.ndjson"]
    run_ingest(files, store, fhir_validation="structure")
    assert differences(store, "patients", synth / "patients.parquet") == 0
    assert differences(store, "claims", synth / "claims.parquet") == 0


@pytest.mark.parametrize(
    ("resource", "pattern"),
    [
        ({"resourceType": "Patient", "id": "p1", "birthDate": "SECRETVALUE"}, r"birthDate \("),
        ({"resourceType": "Patient", "id": "p1", "gender": "SECRETVALUE"}, r"gender \("),
        ({"resourceType": "Patient"}, r"id \(missing\)"),
        ({"resourceType": "Claim", "id": "c1", "status": "active"}, r"patient \(missing\)"),
        (
            {"resourceType": "Condition", "id": "k1", "subject": {}, "recordedDate": "SECRETVALUE"},
            r"recordedDate \(wrong",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["full", "structure"])
def test_both_validation_modes_reject_bad_resources(
    tmp_path: Path, resource: dict[str, object], pattern: str, mode: str
) -> None:
    path = _write_ndjson(tmp_path / "bad.ndjson", [resource])
    with pytest.raises(InvalidInput) as err:
        run_ingest([path], tmp_path / "s.duckdb", fhir_validation=mode)
    assert "bad.ndjson: line 1" in err.value.message
    assert "SECRETVALUE" not in err.value.message
    if mode == "structure":
        assert re.search(pattern, err.value.message)


@settings(max_examples=15, deadline=None)
@given(
    values=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
            lambda v: v.strip() == v
        ),
        min_size=1,
        max_size=8,
    )
)
def test_csv_text_round_trips_exactly(
    tmp_path_factory: pytest.TempPathFactory, values: list[str]
) -> None:
    """Whatever text a CSV cell holds (commas, quotes, leading zeros, any script) is kept."""
    work = tmp_path_factory.mktemp("csv")
    path = work / "notes.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row_id", "note"])
        writer.writerows([[str(i), v] for i, v in enumerate(values)])
    spec = work / "roles.json"
    spec.write_text(
        json.dumps({"columns": {"row_id": {"role": "insensitive"}, "note": {"role": "sensitive"}}}),
        encoding="utf-8",
    )
    store = work / "s.duckdb"
    run_ingest([path], store, spec_path=spec)
    with open_store(store, read_only=True) as eng:
        got = eng.query_arrow("SELECT note FROM notes ORDER BY CAST(row_id AS INTEGER)")
    assert got.column("note").to_pylist() == values


def test_replace_reloads_and_append_adds(synth: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    patients = synth / "patients.parquet"
    run_ingest([patients], store)
    assert run_ingest([patients], store).rows == {"patients": 300}
    assert snapshot(store)["patients"] == 600
    result = run_ingest([patients], store, replace=True)
    assert result.replaced == {"patients"}
    assert snapshot(store)["patients"] == 300
    assert differences(store, "patients", patients) == 0
