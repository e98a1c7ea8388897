"""``POST /v1/requests`` served as raw ASGI by the service middleware (http-perf-3): the same
contract, headers, errors and order of checks as the FastAPI route; the middleware calls the direct
handler only for its (method, path), inside its headers, body limit, 500 and access log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from service_harness import Service, running_service, single_request
from starlette.types import Message, Receive, Scope, Send

from healthwall.model.codes import Outcome
from healthwall.model.decision import Decision, LedgerRef, Reason
from healthwall.service.api.requests import DecisionWithRelease, answer_bytes
from healthwall.service.middleware import ServiceMiddleware
from healthwall.workflows.gateway_review import Disclosure


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from running_service(tmp_path_factory.mktemp("svc-direct"))


def _warrant(service: Service, **overrides: Any) -> dict[str, Any]:
    body = single_request(
        "sfpd",
        "law-enforcement",
        "law-enforcement",
        "judicial-warrant",
        service.patients["warrant"],
        ["name", "date-of-birth"],
    )
    return {**body, **overrides}


def test_answer_bytes_is_the_documented_shape() -> None:
    decision = Decision(
        request_id="r-1",
        decision=Outcome.PERMIT,
        reasons=[Reason(policy="p", citation="c", text="t \u00e9")],
        ledger=LedgerRef(index=3, leaf_hash="a" * 64),
        packs=["hipaa"],
    )
    content = {"name": {"first_name": "A\u00e9", "last_name": None}, "claims": [{"x": 1.5}]}
    for disclosure in (Disclosure(decision, content), Disclosure(decision, None)):
        raw = answer_bytes(disclosure)
        expected = {**decision.to_json(), "release": disclosure.content}
        assert json.loads(raw) == expected
        assert DecisionWithRelease.model_validate_json(raw).release == disclosure.content


@pytest.mark.slow
def test_direct_answer_matches_the_recorded_decision(service: Service) -> None:
    with service.client() as client:
        response = client.post("/v1/requests", json=_warrant(service), headers=service.key("sfpd"))
        body = response.json()
        stored = client.get(f"/v1/requests/{body['request_id']}", headers=service.key("sfpd"))
    assert response.status_code == 200, body.get("error")
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert {k: v for k, v in body.items() if k != "release"} == stored.json()
    assert set(body["release"]) == {"name", "date-of-birth"}
    assert "POST /v1/requests 200" in service.log_text()


@pytest.mark.slow
def test_direct_errors_keep_the_shape_and_order(service: Service) -> None:
    key = service.setup.api_keys["sfpd"]
    with service.client() as client:
        no_key = client.post("/v1/requests", json=_warrant(service))
        x_api_key = client.post("/v1/requests", json=_warrant(service), headers={"X-API-Key": key})
        ice = {"id": "ice", "name": "ICE", "kind": "law-enforcement"}
        other = client.post(
            "/v1/requests", json=_warrant(service, requester=ice), headers=service.key("sfpd")
        )
        # an integer past 64 bits stays an integer (then fails validation as a request id)
        huge = client.post(
            "/v1/requests",
            content=json.dumps(_warrant(service, request_id=10**30)).encode(),
            headers={**service.key("sfpd"), "content-type": "application/json"},
        )
        plus_json = client.post(
            "/v1/requests",
            content=json.dumps(_warrant(service)).encode(),
            headers={**service.key("sfpd"), "content-type": "application/vnd.hw+json"},
        )
        # JSON mode refuses a byte order mark; json (the step-by-step path) reads it: answered
        bom = client.post(
            "/v1/requests",
            content=b"\xef\xbb\xbf" + json.dumps(_warrant(service)).encode(),
            headers={**service.key("sfpd"), "content-type": "application/json"},
        )
        unknown = client.post(
            "/v1/requests", json=_warrant(service, purpose="curiosity"), headers=service.key("sfpd")
        )
    assert no_key.status_code == 401 and no_key.json()["field"] == "authorization"
    assert no_key.headers["www-authenticate"] == "Bearer"
    assert x_api_key.status_code == 200
    assert other.status_code == 403 and other.json()["field"] == "requester.id"
    assert huge.status_code == 422 and huge.json()["field"] == "request_id"
    assert plus_json.status_code == 200
    assert bom.status_code == 200 and bom.json()["decision"] == "permit"
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown-code"
    assert "curiosity" not in unknown.text


def _call(app: ServiceMiddleware, method: str, path: str, body: bytes = b"") -> list[Message]:
    scope: Scope = {"type": "http", "method": method, "path": path, "headers": []}
    sent: list[Message] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


async def _reply(name: bytes, scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    body = name + b":" + message.get("body", b"")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_middleware_calls_direct_handler_only_for_its_route() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await _reply(b"app", scope, receive, send)

    async def direct(scope: Scope, receive: Receive, send: Send) -> None:
        await _reply(b"direct", scope, receive, send)

    app = ServiceMiddleware(
        inner, max_body_bytes=10, log_access=False, direct={("POST", "/v1/x"): direct}
    )
    hit = _call(app, "POST", "/v1/x", b"hi")
    assert hit[1]["body"] == b"direct:hi"
    assert (b"x-frame-options", b"DENY") in hit[0]["headers"]
    assert _call(app, "GET", "/v1/x")[1]["body"] == b"app:"
    assert _call(app, "POST", "/v1/y")[1]["body"] == b"app:"
    too_large = _call(app, "POST", "/v1/x", b"x" * 11)
    assert too_large[0]["status"] == 413
