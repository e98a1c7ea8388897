"""The JSON API under ``/v1``: one router module per resource.

Each module exposes ``router`` (an ``APIRouter``); :func:`include` adds them all. Routes parse,
call the runtime (:class:`healthwall.workflows.serve.Runtime`) and render JSON.
"""

from __future__ import annotations

from fastapi import FastAPI

from healthwall.service.api import accounting, aggregates, health, ledger, requests

MODULES = (health, requests, accounting, aggregates, ledger)


def include(app: FastAPI) -> None:
    """Add every API router to the app."""
    for module in MODULES:
        app.include_router(module.router)
