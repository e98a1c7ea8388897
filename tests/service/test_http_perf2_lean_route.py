"""``POST /v1/requests`` through a real server (now the direct ASGI handler; the lean Starlette
route these tests were written for was folded into it): same contract, errors and order of
checks as the FastAPI route it stands in front of, and the OpenAPI document still describes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_harness import Service, running_service, single_request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from running_service(tmp_path_factory.mktemp("svc-lean"))


def _warrant(service: Service) -> dict[str, object]:
    return single_request(
        "sfpd",
        "law-enforcement",
        "law-enforcement",
        "judicial-warrant",
        service.patients["warrant"],
        ["name", "date-of-birth"],
    )


def test_openapi_still_documents_the_route(service: Service) -> None:
    with service.client() as client:
        spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/requests"]["post"]
    assert "requestBody" in post
    assert {"200", "401", "403", "422"} <= set(post["responses"])


def test_wrong_role_is_403_naming_role(service: Service) -> None:
    with service.client() as client:
        response = client.post(
            "/v1/requests", json=_warrant(service), headers=service.key("officer")
        )
    assert response.status_code == 403
    assert response.json()["field"] == "role"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_bad_json_is_422_before_auth_and_bad_key_before_validation(service: Service) -> None:
    with service.client() as client:
        broken = client.post(
            "/v1/requests", content=b"{", headers={"content-type": "application/json"}
        )
        invalid_no_key = client.post("/v1/requests", json={"purpose": "nope"})
        empty = client.post("/v1/requests", content=b"", headers=service.key("sfpd"))
        text = client.post(
            "/v1/requests",
            content=b"hello",
            headers={**service.key("sfpd"), "content-type": "text/plain"},
        )
        listing = client.get("/v1/requests", headers=service.key("sfpd"))
    assert broken.status_code == 422 and broken.json()["field"] == "request"
    assert invalid_no_key.status_code == 401
    assert empty.status_code == 422 and empty.json()["field"] == "request"
    assert text.status_code == 422 and text.json()["error"] == "invalid-input"
    assert listing.status_code == 405 and listing.json()["error"] == "method-not-allowed"


def test_permit_answers_with_receipt(service: Service) -> None:
    with service.client() as client:
        response = client.post("/v1/requests", json=_warrant(service), headers=service.key("sfpd"))
    body = response.json()
    assert response.status_code == 200, body.get("error")
    assert body["decision"] == "permit"
    assert set(body["released"]) == {"name", "date-of-birth"}
    assert body["ledger"]["index"] >= 0 and len(body["ledger"]["leaf_hash"]) == 64
    assert set(body["release"]) == {"name", "date-of-birth"}
