"""The console's ledger, accounting, transparency, extracts and budgets pages, through a real
server: content, roles, CSRF, and no patient identifiers in URLs or the log."""

from __future__ import annotations

import re

import pytest
from console_harness import DENIALS, Console, csrf_token, review_item, signed_in

from healthwall.engine import open_store

pytestmark = pytest.mark.slow

READ_PAGES = (
    "/console/ledger",
    "/console/ledger/entries/0",
    "/console/extracts",
    "/console/budgets",
    "/console/transparency",
    "/console/transparency/charts/requests_by_decision.png",
    "/console/accounting",
)


def _ledger_size(html: str) -> int:
    match = re.search(r"<th scope=\"row\">Entries</th><td>(\d+)</td>", html)
    assert match, "no ledger size on the page"
    return int(match.group(1))


def test_pages_need_a_session(console: Console) -> None:
    with console.client() as client:
        for path in READ_PAGES:
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/console/login"


def test_requester_api_key_cannot_open_the_console(console: Console) -> None:
    key = {"Authorization": f"Bearer {console.setup.api_keys['sfpd']}"}
    with console.client() as client:
        for path in READ_PAGES:
            assert client.get(path, headers=key).status_code == 303, path
        token = csrf_token(client.get("/console/login").text)
        login = client.post(
            "/console/login", data={"user": "sfpd", "password": "x" * 16, "csrf_token": token}
        )
        assert login.status_code in (401, 403)
        assert "hw_session" not in login.headers.get("set-cookie", "")


@pytest.mark.parametrize("user", ["officer", "auditor"])
def test_officers_and_auditors_read_every_page(console: Console, user: str) -> None:
    with signed_in(console, user) as client:
        for path in READ_PAGES:
            response = client.get(path)
            assert response.status_code == 200, path
        home = client.get("/console/ledger").text
        for label in ("Ledger", "Accounting", "Transparency", "Extracts", "Budgets"):
            assert f">{label}</a>" in home, label


def test_ledger_page_shows_checkpoint_verification_and_entries(console: Console) -> None:
    with signed_in(console, "auditor") as client:
        html = client.get("/console/ledger").text
        size = _ledger_size(html)
        assert size >= DENIALS
        assert 'id="verify-status">verified<' in html
        note = re.search(r'<pre class="note" id="checkpoint">(.*?)</pre>', html, re.S)
        assert note, "no checkpoint"
        lines = note.group(1).split("\n")
        assert lines[1] == str(size) and "— " in note.group(1)  # size line, signature line
        indexes = [int(i) for i in re.findall(r'href="/console/ledger/entries/(\d+)"', html)]
        assert indexes == sorted(indexes, reverse=True) and indexes[0] == size - 1
        assert len(indexes) == min(size, 50)
        older = client.get("/console/ledger?page=1")
        assert older.status_code == 200
        assert client.get("/console/ledger?page=-1").status_code == 422


def test_entry_page_has_a_checked_inclusion_proof(console: Console) -> None:
    with signed_in(console, "officer") as client:
        html = client.get("/console/ledger/entries/1").text
        assert '<span class="ok">checked</span>' in html
        assert re.search(r"Leaf hash</th><td><code>[0-9a-f]{64}</code>", html)
        missing = client.get("/console/ledger/entries/999999")
        assert missing.status_code == 404


def test_extracts_page_lists_the_recorded_extracts(console: Console) -> None:
    with signed_in(console, "auditor") as client:
        html = client.get("/console/extracts").text
    assert "demo-claims-safe-harbor" in html and "demo-patients-expert" in html
    assert "expert-determination" in html and "released" in html


def test_budgets_page_lists_the_aggregate_budget(console: Console) -> None:
    with signed_in(console, "auditor") as client:
        html = client.get("/console/budgets").text
    row = re.search(r"<td>cdph</td>.*?</tr>", html, re.S)
    assert row, "no budget row for the public-health requester"
    spent = re.findall(r'<td class="num">([0-9.e+-]+)</td>', row.group(0))
    assert float(spent[1]) > 0  # the demo's aggregate spent some of it
    answers = html[html.index('id="answers"') :]
    assert re.search(r'href="/console/ledger/entries/\d+"', answers)
    assert "public-health" in answers and "&epsilon;" in answers


def test_transparency_publishes_suppressed_counts_and_charts(console: Console) -> None:
    with signed_in(console, "auditor") as client:
        html = client.get("/console/transparency").text
        charts = re.findall(r'<img src="(/console/transparency/charts/[a-z_]+\.png\?[^"]+)"', html)
        assert charts, "no chart although some count is published"
        png = client.get(charts[0].replace("&amp;", "&"))
        assert (
            png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        )
        assert "&lt;11" in html  # small cells are suppressed, as in the published report
        for small in range(1, 11):
            assert f'<td class="num">{small}</td>' not in html
        assert client.get("/console/transparency?from=2026-02-01&to=2026-01-01").status_code == 422
        assert client.get("/console/transparency/charts/nope.png").status_code == 404


def test_accounting_lookup_is_a_post_and_names_no_patient(console: Console) -> None:
    with open_store(console.setup.store, read_only=True) as engine:
        row = engine.query_arrow(
            "SELECT mrn, first_name, last_name FROM patients WHERE patient_id = $p",
            {"p": console.patient_id},
        ).to_pylist()[0]
    with signed_in(console, "officer") as client:
        form = client.get("/console/accounting").text
        assert 'method="post" action="/console/accounting"' in form
        assert '<label for="patient">' in form
        token = csrf_token(form)
        result = client.post(
            "/console/accounting", data={"csrf_token": token, "patient": console.patient_id}
        )
        printable = client.post(
            "/console/accounting/print", data={"csrf_token": token, "patient": console.patient_id}
        )
        other = client.post(
            "/console/accounting", data={"csrf_token": token, "patient": "no-such-patient"}
        )
        bad_date = client.post(
            "/console/accounting",
            data={"csrf_token": token, "patient": console.patient_id, "from": "yesterday"},
        )
    assert result.status_code == printable.status_code == other.status_code == 200
    assert "San Francisco Police Department" in result.text
    assert "No disclosures to account for" in other.text
    assert bad_date.status_code == 422
    assert "@media print" in _css(console)
    assert "/static/console-pages.css" in printable.text and "<nav" not in printable.text
    assert "San Francisco Police Department" in printable.text
    shown = result.text.replace(f'name="patient" value="{console.patient_id}"', "")
    for value in (row["mrn"], row["first_name"], row["last_name"], console.patient_id):
        assert value not in printable.text
        assert value not in shown
        assert value not in console.log_text()  # nor in any logged path


def _css(console: Console) -> str:
    with console.client() as client:
        return client.get("/static/console-pages.css").text


def test_accounting_post_without_csrf_is_rejected(console: Console) -> None:
    with signed_in(console, "officer") as client:
        for path in ("/console/accounting", "/console/accounting/print"):
            response = client.post(path, data={"patient": console.patient_id})
            assert response.status_code == 403, path
            forged = client.post(path, data={"patient": console.patient_id, "csrf_token": "x"})
            assert forged.status_code == 403, path
            assert console.patient_id not in response.text + forged.text


def test_auditor_cannot_approve(console: Console) -> None:
    pending = [review_item(console)]
    with signed_in(console, "auditor") as client:
        queue = client.get("/console/reviews").text
        assert pending[0] in queue
        token = csrf_token(queue)  # the sign-out form's token: a valid token for this session
        size_before = _ledger_size(client.get("/console/ledger").text)
        response = client.post(
            f"/console/reviews/{pending[0]}",
            data={"csrf_token": token, "action": "approve", "note": "auditor tries"},
        )
        assert response.status_code == 403
        assert _ledger_size(client.get("/console/ledger").text) == size_before
        assert pending[0] in client.get("/console/reviews").text  # still waiting
