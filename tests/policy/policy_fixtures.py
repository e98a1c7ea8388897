"""Helpers for the policy tests: request builders and a tiny custodian store (known schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healthwall.engine.duckdb import DuckDBEngine, open_store

PATIENTS = [
    # patient_id, mrn, ssn, medicaid_id, first, last, birth_date, sex, address, city, county,
    # state, zip, phone, email, race, ethnicity, language, birthplace, immigration, photo
    (
        "p1",
        "M1",
        "111-11-1111",
        "MC1",
        "Ana",
        "Lopez",
        "1980-02-03",
        "F",
        "1 Main St",
        "Fresno",
        "Fresno",
        "CA",
        "93701",
        "555-0101",
        "ana@example.org",
        "W",
        "H",
        "es",
        "MX",
        "undocumented",
        "photo://p1",
    ),
    (
        "p2",
        "M2",
        "222-22-2222",
        "MC2",
        "Ben",
        "Okafor",
        "1975-06-07",
        "M",
        "2 Oak Ave",
        "Austin",
        "Travis",
        "TX",
        "73301",
        "555-0202",
        "ben@example.org",
        "B",
        "N",
        "en",
        "US",
        "citizen",
        "photo://p2",
    ),
    # two patients with the same name and birth date: a name+DOB request matches several
    (
        "p3",
        "M3",
        "333-33-3333",
        "MC3",
        "Li",
        "Wang",
        "1990-01-01",
        "F",
        "3 Elm St",
        "Chicago",
        "Cook",
        "IL",
        "60601",
        "555-0303",
        "li3@example.org",
        "A",
        "N",
        "zh",
        "CN",
        "permanent",
        "photo://p3",
    ),
    (
        "p4",
        "M4",
        "444-44-4444",
        "MC4",
        "Li",
        "Wang",
        "1990-01-01",
        "F",
        "4 Pine St",
        "Chicago",
        "Cook",
        "IL",
        "60602",
        "555-0404",
        "li4@example.org",
        "A",
        "N",
        "zh",
        "CN",
        "citizen",
        "photo://p4",
    ),
]

CLAIMS = [
    # claim_id, line, patient, date, npi, facility, pos, dx1, dx2, dx3, proc, paid, labels
    (
        "c1",
        1,
        "p1",
        "2024-01-05",
        "1234567890",
        "General",
        "21",
        "J20.9",
        None,
        None,
        "99213",
        120.5,
        "",
    ),
    (
        "c2",
        1,
        "p1",
        "2024-02-10",
        "1234567890",
        "Recovery Clinic",
        "57",
        "F11.20",
        None,
        None,
        "H0020",
        80.0,
        "SUD",
    ),
    (
        "c3",
        1,
        "p1",
        "2024-03-15",
        "1234567890",
        "General",
        "23",
        "S52.501A",
        None,
        None,
        "25600",
        900.0,
        "",
    ),
    (
        "c4",
        1,
        "p1",
        "2024-04-20",
        "1234567890",
        "General",
        "11",
        "B20",
        "F32.9",
        None,
        "99214",
        150.0,
        "HIV;MH",
    ),
    (
        "c5",
        1,
        "p2",
        "2024-01-09",
        "1234567890",
        "General",
        "11",
        "I10",
        None,
        None,
        "99213",
        100.0,
        "",
    ),
]


def build_store(path: Path) -> DuckDBEngine:
    """A tiny custodian store with the known schema (model/dataset.py)."""
    store = open_store(path)
    store.execute(
        """CREATE TABLE patients (patient_id VARCHAR, mrn VARCHAR, ssn VARCHAR,
        medicaid_id VARCHAR, first_name VARCHAR, last_name VARCHAR, birth_date DATE, sex VARCHAR,
        address_line VARCHAR, city VARCHAR, county VARCHAR, state VARCHAR, zip VARCHAR,
        phone VARCHAR, email VARCHAR, race VARCHAR, ethnicity VARCHAR, language VARCHAR,
        birthplace_country VARCHAR, immigration_status VARCHAR, photo_ref VARCHAR)"""
    )
    store.execute(
        """CREATE TABLE claims (claim_id VARCHAR, line_number INTEGER, patient_id VARCHAR,
        service_date DATE, provider_npi VARCHAR, facility VARCHAR, place_of_service VARCHAR,
        dx1 VARCHAR, dx2 VARCHAR, dx3 VARCHAR, procedure_code VARCHAR, paid_amount DOUBLE,
        sensitivity_labels VARCHAR)"""
    )
    store.con.executemany(f"INSERT INTO patients VALUES ({', '.join('?' * 21)})", PATIENTS)
    store.con.executemany(f"INSERT INTO claims VALUES ({', '.join('?' * 13)})", CLAIMS)
    return store


def request(**overrides: Any) -> dict[str, Any]:
    """A request JSON: a bare police (f)(2) request by default; ``overrides`` replace top keys."""
    base: dict[str, Any] = {
        "requester": {"id": "pd-1", "name": "City Police", "kind": "law-enforcement"},
        "purpose": "law-enforcement",
        "legal_basis": {"instrument": "none", "conditions": ["identify-or-locate"]},
        "scope": {"kind": "single-patient", "patient": {"mrn": "M1"}},
        "elements": ["name", "address"],
        "justification": "locate a material witness",
    }
    base.update(overrides)
    return base


def ice(instrument: str, elements: list[str], named: list[str] | None = None) -> dict[str, Any]:
    basis: dict[str, Any] = {"instrument": instrument, "issued_by": "ICE"}
    if named is not None:
        basis["elements"] = named
    return request(
        requester={"id": "ice-1", "name": "ICE ERO", "kind": "immigration-enforcement"},
        purpose="immigration-enforcement",
        legal_basis=basis,
        elements=elements,
    )
