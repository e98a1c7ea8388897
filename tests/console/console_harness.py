"""One real healthwall service for the console tests (page tests and browser tests).

Not a test module: the fixture is imported by tests/console/conftest.py.

``healthwall serve`` runs in its own process on a free port (uvicorn, SQLite ledger, DuckDB store)
over a small demo deployment: 150 synthetic patients, the researcher's two extracts in the
ledger, the demo's scenarios replayed through HTTP (so there is a permit with a release, denials,
a review item and a differentially private aggregate).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from healthwall.engine import open_store
from healthwall.workflows.credentials import CredentialStore
from healthwall.workflows.demo import GB_TRACE, DemoSetup, free_port, prepare
from healthwall.workflows.demo_scenarios import pick_patients, record_scenarios, replay
from healthwall.workflows.serve import ServeOptions, start_server


@dataclass
class Console:
    url: str
    setup: DemoSetup
    log: Path
    patient_id: str  # the store id of the patient the police warrant released records of

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60.0)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@contextmanager
def signed_in(console: Console, user: str) -> Iterator[httpx.Client]:
    """A client with a console session for ``user`` (officer or auditor)."""
    with console.client() as client:
        token = csrf_token(client.get("/console/login").text)
        response = client.post(
            "/console/login",
            data={"user": user, "password": console.setup.logins[user], "csrf_token": token},
        )
        assert response.status_code == 303, response.status_code
        yield client


DENIALS = 12  # enough denials that the transparency tables publish a count (>= 11) and chart it


def _denials(url: str, setup: DemoSetup, patients: dict[str, dict[str, str]], n: int) -> None:
    """``n`` more ICE administrative subpoenas (each denied in California)."""
    scenario = next(s for s in record_scenarios(patients) if s[0].startswith("ICE administrative"))
    _, rid, body = scenario
    headers = {"Authorization": f"Bearer {setup.api_keys[rid]}"}
    with httpx.Client(base_url=url, timeout=60.0) as client:
        for _ in range(n):
            response = client.post("/v1/requests", json=body, headers=headers)
            assert response.status_code == 200 and response.json()["decision"] == "deny"


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    workdir = tmp_path_factory.mktemp("console") / "deploy"
    setup = prepare(workdir, 150, seed=7)
    store = CredentialStore.open(setup.db)
    setup.api_keys["officer"] = store.create_api_key("officer")
    store.close()
    patients = pick_patients(setup.store)
    with open_store(setup.store, read_only=True) as engine:
        patient_id = engine.query_arrow(
            "SELECT patient_id FROM patients WHERE mrn = $mrn", {"mrn": patients["warrant"]["mrn"]}
        ).to_pylist()[0]["patient_id"]
    log = workdir / "service.log"
    options = ServeOptions(
        port=free_port(), db=setup.db, store=setup.store, jurisdiction="US-CA", extra_env=setup.env
    )
    server = start_server(options, log_path=log)
    try:
        replay(server.url, setup, patients, skip=frozenset({GB_TRACE}))
        _denials(server.url, setup, patients, DENIALS)
        yield Console(server.url, setup, log, str(patient_id))
    finally:
        server.stop()


def review_item(console: Console) -> str:
    """A fresh request waiting for review: ICE with a judicial warrant naming its elements
    (California's SB 81 routes every immigration request to a person). Returns its id."""
    scenario = next(
        s for s in record_scenarios(pick_patients(console.setup.store)) if "(CA: review)" in s[0]
    )
    _, rid, body = scenario
    headers = {"Authorization": f"Bearer {console.setup.api_keys[rid]}"}
    with console.client() as client:
        response = client.post("/v1/requests", json=body, headers=headers)
    assert response.status_code == 200 and response.json()["decision"] == "review"
    return str(response.json()["request_id"])
