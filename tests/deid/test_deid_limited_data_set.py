"""Limited data set (164.514(e)): keeps dates, city, state, 5-digit ZIP; per-patient date shift."""

from __future__ import annotations

from collections import defaultdict

import pytest
from deid_helpers import MASTER_KEY, REFERENCE

from healthwall.deid.pseudonym import recipient_key, shift_days, token
from healthwall.errors import ConfigError
from healthwall.workflows.deidentify import DeidRequest, deidentify

DIRECT = {"mrn", "ssn", "medicaid_id", "first_name", "last_name", "address_line", "phone",
          "email", "photo_ref", "claim_id"}  # fmt: skip


def _run(claims, patients, out, key_file, shift=None):  # type: ignore[no-untyped-def]
    return deidentify(
        DeidRequest(
            input=str(claims),
            output=out,
            profile="limited-data-set",
            recipient="state-registry",
            key_ref=f"file:{key_file}",
            join_patients=str(patients),
            date_shift_days=shift,
            reference_date=REFERENCE,
        )
    )


def test_lds_keeps_dates_city_state_zip5(
    make_claims, make_patients, key_file, tmp_path, rows
) -> None:  # type: ignore[no-untyped-def]
    claims, patients = make_claims(400, 100), make_patients(100)
    out = tmp_path / "lds.parquet"
    report = _run(claims, patients, out, key_file)
    got = rows(out)
    assert not DIRECT & set(got[0])
    by_id = {p["patient_id"]: p for p in rows(patients)}
    key = recipient_key(MASTER_KEY, "state-registry")
    tokens = {token(key, pid): p for pid, p in by_id.items()}
    original = rows(claims)
    for before, after in zip(original, got, strict=True):
        patient = tokens[after["patient_id"]]
        assert after["service_date"] == before["service_date"]
        assert after["birth_date"] == patient["birth_date"]
        assert after["city"] == patient["city"] and after["county"] == patient["county"]
        assert after["state"] == patient["state"]
        assert after["zip"] == (None if patient["zip"] == "" else str(patient["zip"])[:5])
    assert report.verification.ruleset == "limited-data-set" and report.verification.passed


def test_date_shift_is_consistent_per_patient(
    make_claims, make_patients, key_file, tmp_path, rows
) -> None:  # type: ignore[no-untyped-def]
    claims, patients = make_claims(600, 50), make_patients(50)
    out = tmp_path / "shifted.parquet"
    _run(claims, patients, out, key_file, shift=30)
    key = recipient_key(MASTER_KEY, "state-registry")
    pid_of = {token(key, f"P{i:06d}"): f"P{i:06d}" for i in range(50)}
    by_id = {p["patient_id"]: p for p in rows(patients)}
    shifts: dict[str, set[int]] = defaultdict(set)
    for before, after in zip(rows(claims), rows(out), strict=True):
        pid = pid_of[after["patient_id"]]
        delta = (after["service_date"] - before["service_date"]).days
        birth_delta = (after["birth_date"] - by_id[pid]["birth_date"]).days
        assert delta == birth_delta == shift_days(key, pid, 30)
        assert -30 <= delta <= 30
        shifts[pid].add(delta)
    assert all(len(s) == 1 for s in shifts.values())
    assert len({next(iter(s)) for s in shifts.values()}) > 5  # shifts differ between patients


def test_date_shift_needs_a_key_and_the_lds_profile(make_patients, key_file, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = make_patients(10)
    with pytest.raises(ConfigError, match="date shifting"):
        deidentify(DeidRequest(input=str(src), output=tmp_path / "o.parquet",
                               profile="limited-data-set", date_shift_days=10))  # fmt: skip
    with pytest.raises(ConfigError, match="does not shift dates"):
        deidentify(DeidRequest(input=str(src), output=tmp_path / "o.parquet", recipient="r",
                               key_ref=f"file:{key_file}", date_shift_days=10))  # fmt: skip
    assert not (tmp_path / "o.parquet").exists()
