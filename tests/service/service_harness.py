"""A real healthwall service for the service tests: synthetic data, keys, a child process.

Not a test module: imported by tests/service/test_service_*.py. The server is ``healthwall
serve`` in its own process on a free port (uvicorn, the real app, SQLite ledger, DuckDB store);
its log goes to a file the tests read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from healthwall.workflows.credentials import CredentialStore
from healthwall.workflows.demo import DemoSetup, free_port, prepare
from healthwall.workflows.demo_scenarios import pick_patients
from healthwall.workflows.serve import ServeOptions, ServerProcess, start_server


@dataclass
class Service:
    url: str
    setup: DemoSetup
    log: Path
    patients: dict[str, dict[str, str]]
    server: ServerProcess

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kw)  # type: ignore[arg-type]

    def key(self, requester: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.setup.api_keys[requester]}"}

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def running_service(workdir: Path, jurisdiction: str = "US-CA") -> Iterator[Service]:
    """Prepare a small deployment in ``workdir`` and run the service until the generator ends."""
    setup = prepare(workdir, 150, seed=11, extract=False)
    store = CredentialStore.open(setup.db)
    for user in ("officer", "auditor"):  # API keys for the officer/auditor routes too
        setup.api_keys[user] = store.create_api_key(user)
    store.close()
    patients = pick_patients(setup.store)
    log = workdir / "service.log"
    options = ServeOptions(
        port=free_port(),
        db=setup.db,
        store=setup.store,
        jurisdiction=jurisdiction,
        extra_env=setup.env,
    )
    server = start_server(options, log_path=log)
    try:
        yield Service(server.url, setup, log, patients, server)
    finally:
        server.stop()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@contextmanager
def sign_in(service: Service, user: str) -> Iterator[httpx.Client]:
    """A client with a console session for ``user`` (officer or auditor)."""
    with service.client() as client:
        page = client.get("/console/login")
        token = csrf_token(page.text)
        response = client.post(
            "/console/login",
            data={"user": user, "password": service.setup.logins[user], "csrf_token": token},
        )
        assert response.status_code == 303, response.status_code
        yield client


def single_request(
    requester: str,
    kind: str,
    purpose: str,
    instrument: str,
    patient: dict[str, str],
    elements: list[str],
) -> dict[str, object]:
    """A single-patient request body."""
    return {
        "requester": {"id": requester, "name": f"Requester {requester}", "kind": kind},
        "purpose": purpose,
        "legal_basis": {"instrument": instrument, "reference": "T-1"},
        "scope": {"kind": "single-patient", "patient": dict(patient)},
        "elements": elements,
    }
