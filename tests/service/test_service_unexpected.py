"""An unexpected exception: a generic 500 with a correlation id, no traceback or data logged.

Runs the real app under a real uvicorn server (in a thread) with one extra route that fails the
way a library might: with patient data in the exception's message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from healthwall.service.app import create_app
from healthwall.service.settings import ServiceSettings
from healthwall.workflows.demo import free_port, prepare
from healthwall.workflows.serve import open_runtime

pytestmark = pytest.mark.slow

SSN = "123-45-6789"


@pytest.fixture()
def url(tmp_path: Path) -> Iterator[str]:
    setup = prepare(tmp_path / "svc", 60, seed=3, extract=False)
    settings = ServiceSettings(db=setup.db, store=setup.store)
    runtime = open_runtime(
        db=setup.db,
        store=setup.store,
        jurisdiction="US-CA",
        pseudonym_key=setup.env["HEALTHWALL_PSEUDONYM_KEY"],
    )
    app = create_app(settings, runtime=runtime)

    @app.get("/v1/explode")
    def explode() -> None:
        raise RuntimeError(f"constraint failed for ssn {SSN}")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_unexpected_error_is_generic_and_leaves_no_data_in_the_log(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = httpx.get(url + "/v1/explode", timeout=10)
        healthy = httpx.get(url + "/v1/health", timeout=10)
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"error", "message", "correlation_id"}
    assert body["error"] == "internal-error"
    assert SSN not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert healthy.status_code == 200  # the server lives on
    logged = "\n".join(
        r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records
    )
    assert body["correlation_id"] in logged and "RuntimeError" in logged
    assert SSN not in logged
    assert not any(r.exc_info for r in caplog.records)  # no traceback was logged
