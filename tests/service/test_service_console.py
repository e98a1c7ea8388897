"""The console through a real server: sign-in, cookies, CSRF, roles, the review queue."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from service_harness import Service, csrf_token, running_service, sign_in, single_request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from running_service(tmp_path_factory.mktemp("svc-console"))


def _review_item(service: Service) -> str:
    """Submit an immigration request with a judicial warrant naming its elements (CA: review)."""
    body = single_request(
        "ice-ero",
        "immigration-enforcement",
        "immigration-enforcement",
        "judicial-warrant",
        service.patients["ice"],
        ["name", "date-of-birth"],
    )
    body["legal_basis"]["elements"] = ["name", "date-of-birth"]  # type: ignore[index]
    with service.client() as client:
        response = client.post("/v1/requests", json=body, headers=service.key("ice-ero"))
    assert response.status_code == 200, response.json()
    assert response.json()["decision"] == "review", response.json()["reasons"]
    return str(response.json()["request_id"])


def _cookie_header(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie set")


def test_console_needs_a_session(service: Service) -> None:
    with service.client() as client:
        for path in ("/console/", "/console/reviews", "/console/requests/x"):
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/console/login"


def test_login_form_is_labelled_and_csrf_protected(service: Service) -> None:
    with service.client() as client:
        page = client.get("/console/login")
        assert page.status_code == 200
        assert '<label for="user">' in page.text and '<label for="password">' in page.text
        login_cookie = _cookie_header(page, "hw_login").lower()
        assert "httponly" in login_cookie and "samesite=strict" in login_cookie
        password = service.setup.logins["officer"]
        no_token = client.post("/console/login", data={"user": "officer", "password": password})
        assert no_token.status_code == 403
        assert "hw_session" not in no_token.headers.get("set-cookie", "")
        wrong = client.post(
            "/console/login",
            data={"user": "officer", "password": "not the password", "csrf_token": "forged"},
        )
        assert wrong.status_code == 403


def test_wrong_password_opens_no_session(service: Service) -> None:
    with service.client() as client:
        token = csrf_token(client.get("/console/login").text)
        response = client.post(
            "/console/login",
            data={"user": "officer", "password": "not the password", "csrf_token": token},
        )
    assert response.status_code == 401
    assert "wrong user id or password" in response.text
    assert "hw_session" not in response.headers.get("set-cookie", "")


def test_session_cookie_flags_and_secure_behind_tls(service: Service) -> None:
    with service.client() as client:
        token = csrf_token(client.get("/console/login").text)
        data = {"user": "auditor", "password": service.setup.logins["auditor"], "csrf_token": token}
        plain = client.post("/console/login", data=data)
    cookie = _cookie_header(plain, "hw_session").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie
    tls = {"X-Forwarded-Proto": "https"}  # uvicorn trusts proxy headers from 127.0.0.1
    with service.client(headers=tls) as client:
        page = client.get("/console/login")
        login_cookie = _cookie_header(page, "hw_login")
        assert "secure" in login_cookie.lower()
        data["csrf_token"] = csrf_token(page.text)
        # httpx, like a browser, keeps Secure cookies off plain http: hand it over explicitly.
        cookie = {"cookie": login_cookie.split(";")[0]}
        secure = client.post("/console/login", data=data, headers=cookie)
    assert secure.status_code == 303
    assert "secure" in _cookie_header(secure, "hw_session").lower()


def test_console_pages_have_security_headers(service: Service) -> None:
    with sign_in(service, "officer") as client:
        page = client.get("/console/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "<script" not in page.text.replace('<script src="/static/htmx.min.js" defer>', "")


def test_officer_approves_a_review_with_csrf_and_the_ledger_grows(service: Service) -> None:
    request_id = _review_item(service)
    with sign_in(service, "officer") as client:
        queue = client.get("/console/reviews")
        assert request_id in queue.text
        token = csrf_token(queue.text)
        form = {"action": "approve", "note": "warrant checked with the court clerk"}
        forged = client.post(f"/console/reviews/{request_id}", data=form)
        assert forged.status_code == 403
        assert request_id in client.get("/console/reviews").text  # still waiting
        size_before = _ledger_size(service)
        done = client.post(f"/console/reviews/{request_id}", data={**form, "csrf_token": token})
        assert done.status_code == 303
        assert done.headers["location"] == f"/console/requests/{request_id}"
        page = client.get(done.headers["location"])
        assert request_id not in client.get("/console/reviews").text
    assert _ledger_size(service) > size_before
    assert page.status_code == 200
    assert 'class="badge permit"' in page.text
    for value in service.patients["ice"].values():
        assert value not in page.text  # the request page names no patient


def test_auditor_reads_but_cannot_decide(service: Service) -> None:
    request_id = _review_item(service)
    with sign_in(service, "auditor") as client:
        queue = client.get("/console/reviews")
        assert queue.status_code == 200 and request_id in queue.text
        assert f'action="/console/reviews/{request_id}"' not in queue.text
        token = csrf_token(queue.text)  # the sign-out form's token
        response = client.post(
            f"/console/reviews/{request_id}",
            data={"action": "approve", "note": "not mine to decide", "csrf_token": token},
        )
        detail = client.get(f"/console/requests/{request_id}")
    assert response.status_code == 403
    assert detail.status_code == 200 and "badge review" in detail.text


def test_sign_out_needs_csrf_and_ends_the_session(service: Service) -> None:
    with sign_in(service, "officer") as client:
        home = client.get("/console/")
        assert client.post("/console/logout").status_code == 403
        assert client.get("/console/").status_code == 200
        out = client.post("/console/logout", data={"csrf_token": csrf_token(home.text)})
        assert out.status_code == 303
        cookie = home.request.headers.get("cookie", "")
    with service.client(headers={"cookie": cookie}) as replayed:
        assert replayed.get("/console/").status_code == 303  # the old cookie is dead


def _ledger_size(service: Service) -> int:
    with service.client() as client:
        response = client.get("/v1/ledger/checkpoint", headers=service.key("auditor"))
    assert response.status_code == 200
    return int(response.json()["size"])


def test_requesters_cannot_use_the_console(service: Service) -> None:
    from healthwall.workflows.credentials import CredentialStore, Role

    store = CredentialStore.open(service.setup.db)
    try:
        store.add_principal(
            "pd-console",
            "A police login",
            Role.REQUESTER,
            requester_kind="law-enforcement",
            password="a requester password",
        )
    finally:
        store.close()
    with service.client() as client:
        token = csrf_token(client.get("/console/login").text)
        response = client.post(
            "/console/login",
            data={"user": "pd-console", "password": "a requester password", "csrf_token": token},
        )
        home = client.get("/console/")
    assert response.status_code == 403
    assert "hw_session" not in response.headers.get("set-cookie", "")
    assert home.status_code == 303  # still signed out
