"""The demo's requesters and scenarios, replayed through the HTTP API.

Each scenario is a realistic request from LEGAL.md's world: a judicial warrant, an immigration
administrative subpoena at a California hospital, a Home Office-style trace under the narrowed
2018 criteria, a Part 2 record sought with an ordinary subpoena, a public-health aggregate, a
data broker buying claims, and an immigration request with a judicial warrant that California law
routes to human review (so the console's queue has an item). Patients are picked from the store
before the service starts; their identifiers go only into request bodies, never into output.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from healthwall.engine import open_store


@dataclass(frozen=True)
class Requester:
    id: str
    name: str
    kind: str
    jurisdiction: str


REQUESTERS: tuple[Requester, ...] = (
    Requester("sfpd", "San Francisco Police Department", "law-enforcement", "US-CA"),
    Requester("ice-ero", "ICE Enforcement and Removal Operations", "immigration-enforcement", "US"),
    Requester(
        "home-office", "Home Office Immigration Enforcement", "immigration-enforcement", "GB"
    ),
    Requester("cdph", "California Department of Public Health", "public-health", "US-CA"),
    Requester("state-univ", "State University research team", "researcher", "US-CA"),
    Requester("acme-data", "Acme Data Brokers LLC", "data-broker", "US"),
)
_BY_ID = {r.id: r for r in REQUESTERS}


@dataclass(frozen=True)
class Outcome:
    """What one scenario got back (no patient data)."""

    scenario: str
    requester: str
    status: int
    decision: str
    released: tuple[str, ...]
    request_id: str | None
    withheld_labels: tuple[str, ...] = ()


class Setup(Protocol):
    store: Path
    api_keys: dict[str, str]


def pick_patients(store: Path) -> dict[str, dict[str, str]]:
    """Identifiers of the patients the scenarios name (exact values from the store)."""
    with open_store(store, read_only=True) as engine:
        plain = engine.query_arrow(
            "SELECT mrn, first_name, last_name, CAST(birth_date AS VARCHAR) AS birth_date "
            "FROM patients ORDER BY patient_id LIMIT 3"
        ).to_pylist()
        part2 = engine.query_arrow(
            "SELECT p.mrn FROM patients p JOIN claims c USING (patient_id) "
            "WHERE c.sensitivity_labels LIKE '%SUD%' ORDER BY p.patient_id LIMIT 1"
        ).to_pylist()
    first, second, third = plain
    return {
        "warrant": {"mrn": first["mrn"]},
        "ice": {"mrn": second["mrn"]},
        "trace": {k: third[k] for k in ("first_name", "last_name", "birth_date")},
        "part2": {"mrn": (part2[0] if part2 else first)["mrn"]},
    }


def _requester(rid: str) -> dict[str, Any]:
    r = _BY_ID[rid]
    return {"id": r.id, "name": r.name, "kind": r.kind, "jurisdiction": r.jurisdiction}


def _single(
    rid: str, purpose: str, basis: dict[str, Any], patient: dict[str, str], elements: list[str]
) -> dict[str, Any]:
    return {
        "requester": _requester(rid),
        "purpose": purpose,
        "legal_basis": basis,
        "scope": {"kind": "single-patient", "patient": patient},
        "elements": elements,
    }


def record_scenarios(patients: dict[str, dict[str, str]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, requester id, request body) of every record-request scenario."""
    return [
        (
            "judicial warrant (police)",
            "sfpd",
            _single(
                "sfpd",
                "law-enforcement",
                {
                    "instrument": "judicial-warrant",
                    "issued_by": "Superior Court of California",
                    "reference": "SW-2026-0142",
                },
                patients["warrant"],
                ["name", "date-of-birth", "treatment-datetime", "injury-type", "diagnoses"],
            ),
        ),
        (
            "ICE administrative subpoena (CA)",
            "ice-ero",
            _single(
                "ice-ero",
                "immigration-enforcement",
                {
                    "instrument": "administrative-subpoena",
                    "issued_by": "ICE ERO field office",
                    "reference": "DHS-ICE-2026-77",
                },
                patients["ice"],
                ["name", "address", "immigration-status", "place-of-birth"],
            ),
        ),
        (
            "ICE judicial warrant (CA: review)",
            "ice-ero",
            _single(
                "ice-ero",
                "immigration-enforcement",
                {
                    "instrument": "judicial-warrant",
                    "issued_by": "U.S. District Court, N.D. Cal.",
                    "reference": "3:26-mj-7001",
                    "elements": ["name", "date-of-birth"],
                },
                patients["ice"],
                ["name", "date-of-birth"],
            ),
        ),
        (
            "Home Office address trace (GB)",
            "home-office",
            _single(
                "home-office",
                "immigration-enforcement",
                {
                    "instrument": "none",
                    "issued_by": "Home Office",
                    "reference": "HO-TRACE-2018-3",
                    "conditions": ["serious-crime"],
                },
                patients["trace"],
                ["name", "date-of-birth", "address", "registration-date"],
            ),
        ),
        (
            "Part 2 record, ordinary subpoena",
            "sfpd",
            _single(
                "sfpd",
                "law-enforcement",
                {
                    "instrument": "judicial-subpoena",
                    "issued_by": "County Court",
                    "reference": "SUB-2026-31",
                },
                patients["part2"],
                ["diagnoses", "medications", "claims"],
            ),
        ),
        (
            "data broker buying claims",
            "acme-data",
            {
                "requester": _requester("acme-data"),
                "purpose": "data-sale",
                "legal_basis": {"instrument": "none"},
                "scope": {"kind": "cohort", "cohort": {"description": "all 2025 claims"}},
                "elements": ["claims", "diagnoses"],
                "justification": "purchase for marketing analytics",
            },
        ),
    ]


def aggregate_body() -> dict[str, Any]:
    """The public-health aggregate: patients per ZIP3 per month, differentially private."""
    today = dt.date.today()
    return {
        "requester": _requester("cdph"),
        "purpose": "PUBHLTH",
        "legal_basis": {"instrument": "none", "reference": "Cal. Health & Safety Code 120130"},
        "query": {
            "template": "patients",
            "by": ["zip3", "month"],
            "date_from": (today.replace(day=1) - dt.timedelta(days=365)).isoformat(),
            "date_to": today.isoformat(),
            "epsilon": 1.0,
        },
        "justification": "monthly surveillance of clinic utilization",
    }


def replay(
    url: str, setup: Setup, patients: dict[str, dict[str, str]], skip: frozenset[str] = frozenset()
) -> list[Outcome]:
    """Send every scenario through the API; returns what came back."""
    outcomes: list[Outcome] = []
    with httpx.Client(base_url=url, timeout=60.0) as client:
        for name, rid, body in record_scenarios(patients):
            if name in skip:
                continue
            response = client.post("/v1/requests", json=body, headers=_auth(setup, rid))
            outcomes.append(_outcome(name, rid, response))
        response = client.post(
            "/v1/aggregates", json=aggregate_body(), headers=_auth(setup, "cdph")
        )
        outcomes.append(_aggregate_outcome(response))
    return outcomes


def replay_one(url: str, setup: Setup, name: str, patients: dict[str, dict[str, str]]) -> Outcome:
    """Send one named scenario (the GB trace goes to a GB custodian's service)."""
    for scenario, rid, body in record_scenarios(patients):
        if scenario == name:
            with httpx.Client(base_url=url, timeout=60.0) as client:
                response = client.post("/v1/requests", json=body, headers=_auth(setup, rid))
            return _outcome(name, rid, response)
    raise KeyError(name)


def _auth(setup: Setup, rid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {setup.api_keys[rid]}"}


def _outcome(name: str, rid: str, response: httpx.Response) -> Outcome:
    body = response.json()
    if response.status_code != 200:
        return Outcome(name, rid, response.status_code, body.get("error", "error"), (), None)
    return Outcome(
        name,
        rid,
        200,
        body["decision"],
        tuple(body.get("released", [])),
        body["request_id"],
        tuple(body.get("withheld_labels", [])),
    )


def _aggregate_outcome(response: httpx.Response) -> Outcome:
    name = "public-health aggregate (DP)"
    body = response.json()
    if response.status_code != 200:
        return Outcome(name, "cdph", response.status_code, body.get("error", "error"), (), None)
    cells = sum(1 for c in body.get("cells", []) if not c.get("suppressed"))
    return Outcome(name, "cdph", 200, "permit", (f"counts ({cells} cells)",), None)
