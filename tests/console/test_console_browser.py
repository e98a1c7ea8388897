"""The console in a real browser: Debian's Chromium, headless, driven by Playwright.

Signs in (keyboard only), approves a review item and sees the ledger grow, looks up a patient's
accounting, opens the transparency dashboard and checks its charts loaded. Screenshots go to
tests/artifacts/screenshots/ (git-ignored). Never downloads a browser.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from console_harness import Console, review_item

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser(require: Callable[[bool, str], None]) -> Iterator[object]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    errors: list[str] = []  # CSP violations and script errors show up as console errors
    context.on("console", lambda m: errors.append(m.type) if m.type == "error" else None)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert not errors, f"{len(errors)} browser console error(s)"


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _sign_in_by_keyboard(page: object, console: Console, user: str) -> None:
    """Tab from the top of the page to the user field, type, Tab to the password, Enter."""
    p: object = page
    p.goto(console.url + "/console/login")  # type: ignore[attr-defined]
    for _ in range(12):
        p.keyboard.press("Tab")  # type: ignore[attr-defined]
        if p.evaluate("document.activeElement.id") == "user":  # type: ignore[attr-defined]
            break
    assert p.evaluate("document.activeElement.id") == "user"  # type: ignore[attr-defined]
    outline = p.evaluate("getComputedStyle(document.activeElement).outlineStyle")  # type: ignore[attr-defined]
    assert outline not in ("", "none")  # a visible keyboard focus style
    p.keyboard.type(user)  # type: ignore[attr-defined]
    p.keyboard.press("Tab")  # type: ignore[attr-defined]
    assert p.evaluate("document.activeElement.id") == "password"  # type: ignore[attr-defined]
    p.keyboard.type(console.setup.logins[user])  # type: ignore[attr-defined]
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    p.wait_for_url(re.compile(r".*/console/$"))  # type: ignore[attr-defined]


def _ledger_size(page: object) -> int:
    page.goto(page.url.split("/console")[0] + "/console/ledger")  # type: ignore[attr-defined]
    text = page.locator("th:text-is('Entries') + td").inner_text()  # type: ignore[attr-defined]
    return int(text)


def test_keyboard_sign_in_and_approve_grows_the_ledger(page: object, console: Console) -> None:
    request_id = review_item(console)
    _sign_in_by_keyboard(page, console, "officer")
    before = _ledger_size(page)
    p: object = page
    p.goto(console.url + "/console/reviews")  # type: ignore[attr-defined]
    p.fill(f"#note-{request_id}", "warrant checked with county counsel")  # type: ignore[attr-defined]
    _shot(page, "reviews")
    row = p.locator("tr", has=p.locator(f"#note-{request_id}"))  # type: ignore[attr-defined]
    row.get_by_role("button", name="Approve").click()
    p.wait_for_url(re.compile(rf".*/console/requests/{request_id}$"))  # type: ignore[attr-defined]
    assert _ledger_size(page) > before
    _shot(page, "ledger")
    p.locator("td.num a").first.click()  # type: ignore[attr-defined]
    p.wait_for_url(re.compile(r".*/console/ledger/entries/\d+$"))  # type: ignore[attr-defined]
    assert p.locator("#proof-status .ok").inner_text() == "checked"  # type: ignore[attr-defined]
    _shot(page, "ledger-entry")


def test_accounting_lookup_and_print(page: object, console: Console) -> None:
    _sign_in_by_keyboard(page, console, "auditor")
    p: object = page
    urls: list[str] = []
    p.context.on("request", lambda r: urls.append(r.url))  # type: ignore[attr-defined]
    p.goto(console.url + "/console/accounting")  # type: ignore[attr-defined]
    p.get_by_label("Patient id").fill(console.patient_id)  # type: ignore[attr-defined]
    p.get_by_role("button", name="Look up").click()  # type: ignore[attr-defined]
    p.wait_for_selector("#accounting-lines")  # type: ignore[attr-defined]
    assert console.patient_id not in p.url  # type: ignore[attr-defined]
    assert "San Francisco Police Department" in p.inner_text("#accounting-lines")  # type: ignore[attr-defined]
    p.emulate_media(media="print")  # type: ignore[attr-defined]
    assert not p.locator("header.top").is_visible()  # type: ignore[attr-defined]
    p.emulate_media(media="screen")  # type: ignore[attr-defined]
    _shot(page, "accounting")
    with p.context.expect_page() as opened:  # type: ignore[attr-defined]
        p.get_by_role("button", name="Printable page").click()  # type: ignore[attr-defined]
    printable = opened.value
    printable.wait_for_selector("#accounting-lines")
    assert "San Francisco Police Department" in printable.inner_text("#accounting-lines")
    assert printable.locator("nav").count() == 0
    _shot(printable, "accounting-print")
    assert urls and not any(console.patient_id in url for url in urls)


def test_transparency_charts_load(page: object, console: Console) -> None:
    _sign_in_by_keyboard(page, console, "auditor")
    p: object = page
    p.goto(console.url + "/console/transparency")  # type: ignore[attr-defined]
    images = p.locator(".charts img")  # type: ignore[attr-defined]
    assert images.count() > 0
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        p.wait_for_function(  # type: ignore[attr-defined]
            "el => el.complete && el.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
    widths = p.eval_on_selector_all(".charts img", "els => els.map(e => e.naturalWidth)")  # type: ignore[attr-defined]
    assert all(w > 0 for w in widths)
    _shot(page, "transparency")
