"""The one-time pickup of an approved review, through a real server (gateway-perf, issue 4).

An officer approves in the console; the requester that owns the request fetches the release once
(``GET /v1/requests/{id}/release``); everyone else, and every second try, gets a 404; the
accounting of disclosures sees exactly one release.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_harness import Service, csrf_token, running_service, sign_in, single_request

from healthwall.engine import open_store
from healthwall.workflows.release import content_digest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from running_service(tmp_path_factory.mktemp("svc-pickup"))


def _review(service: Service, elements: list[str]) -> str:
    body = single_request(
        "ice-ero",
        "immigration-enforcement",
        "immigration-enforcement",
        "judicial-warrant",
        service.patients["ice"],
        elements,
    )
    body["legal_basis"]["elements"] = elements  # type: ignore[index]
    with service.client() as client:
        response = client.post("/v1/requests", json=body, headers=service.key("ice-ero"))
    assert response.status_code == 200 and response.json()["decision"] == "review"
    assert response.json().get("release") is None
    return str(response.json()["request_id"])


def _officer(service: Service, request_id: str, action: str) -> None:
    with sign_in(service, "officer") as client:
        token = csrf_token(client.get("/console/reviews").text)
        form = {"action": action, "note": "checked", "csrf_token": token}
        done = client.post(f"/console/reviews/{request_id}", data=form)
    assert done.status_code == 303


def _patient(service: Service) -> dict[str, str]:
    """The store's row of the "ice" patient: id and name (compared by digest, never printed)."""
    mrn = service.patients["ice"]["mrn"]
    with open_store(service.setup.store, read_only=True) as engine:
        rows = engine.query_arrow(
            "SELECT CAST(patient_id AS VARCHAR) AS pid, first_name, last_name FROM patients"
            " WHERE mrn = $mrn",
            {"mrn": mrn},
        ).to_pylist()
    assert len(rows) == 1
    return {k: str(v) for k, v in rows[0].items()}


def test_approved_review_is_picked_up_once_by_its_owner(service: Service) -> None:
    request_id = _review(service, ["name", "date-of-birth"])
    path = f"/v1/requests/{request_id}/release"
    patient = _patient(service)
    with service.client() as client:
        before_approval = client.get(path, headers=service.key("ice-ero"))
        _officer(service, request_id, "approve")
        accounting = f"/v1/accounting/{patient['pid']}"
        before = client.get(accounting, headers=service.key("auditor")).json()["disclosures"]
        other = client.get(path, headers=service.key("sfpd"))
        officer = client.get(path, headers=service.key("officer"))
        first = client.get(path, headers=service.key("ice-ero"))
        second = client.get(path, headers=service.key("ice-ero"))
        after = client.get(accounting, headers=service.key("auditor")).json()["disclosures"]
        decision = client.get(f"/v1/requests/{request_id}", headers=service.key("ice-ero"))
    assert before_approval.status_code == 404  # still pending: nothing to pick up
    assert other.status_code == 404 and other.json()["error"] == "not-found"
    assert officer.status_code == 403  # requesters only
    assert first.status_code == 200
    body = first.json()
    assert body["decision"] == "permit" and body["request_id"] == request_id
    assert set(body["release"]) == {"name", "date-of-birth"}
    name = {"first_name": patient["first_name"], "last_name": patient["last_name"]}
    assert content_digest(body["release"]["name"]) == content_digest(name)  # digests: no PHI
    assert second.status_code == 404  # single use
    assert after == before + 1  # exactly one release, recorded at pickup
    assert decision.json()["decision"] == "permit"


def test_rejected_review_has_nothing_to_pick_up(service: Service) -> None:
    request_id = _review(service, ["name"])
    _officer(service, request_id, "deny")
    with service.client() as client:
        response = client.get(f"/v1/requests/{request_id}/release", headers=service.key("ice-ero"))
    assert response.status_code == 404
