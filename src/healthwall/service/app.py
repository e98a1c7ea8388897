"""The FastAPI application factory: ``create_app(settings) -> FastAPI`` (no module globals).

One app serves the JSON API under ``/v1`` (OpenAPI at ``/docs``), the privacy officer's console
under ``/console`` and the console's static files under ``/static``. Everything a route needs is
on ``app.state.ctx`` (:class:`~healthwall.service.context.AppContext`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

import healthwall
from healthwall.service import api, console
from healthwall.service.context import HERE, build_context
from healthwall.service.errors import install_error_handlers
from healthwall.service.middleware import ServiceMiddleware
from healthwall.service.settings import ServiceSettings
from healthwall.workflows.serve import Runtime, open_runtime

DESCRIPTION = """
healthwall's disclosure gateway. Requesters submit record requests with an API key
(`Authorization: Bearer KEY`) and get a decision -- permit, deny or review -- with the reasons,
legal citations, released and withheld elements, and the decision's place in the ledger.
Errors have one shape: `{"error": CODE, "message": TEXT, "field": NAME}`.
"""


def open_settings_runtime(settings: ServiceSettings) -> Runtime:
    """The runtime the settings describe (ledger, gateway, store, aggregates, credentials)."""
    packs = (
        tuple(p.strip() for p in settings.packs.split(",") if p.strip()) if settings.packs else None
    )
    return open_runtime(
        db=settings.db,
        store=settings.store,
        jurisdiction=settings.jurisdiction,
        packs=packs,
        pseudonym_key=settings.pseudonym_key,
        signing_key=settings.signing_key,
        pickup_days=settings.pickup_days,
    )


class HealthwallAPI(FastAPI):
    """FastAPI, with the hot routes (:data:`healthwall.service.api.requests.DIRECT_ROUTES`)
    answered ahead of FastAPI's and Starlette's own middleware stack: straight to the service
    middleware (headers, body limit, generic 500, access log), which calls the raw handler."""

    front: ServiceMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.front
        if front is not None and scope["type"] == "http" and front.is_direct(scope):
            scope["app"] = self  # as Starlette sets it: handlers find the context there
            await front(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: ServiceSettings, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; opens the runtime from the settings unless one is given."""
    ctx = build_context(settings, runtime or open_settings_runtime(settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            ctx.close()

    app = HealthwallAPI(
        title="healthwall",
        version=healthwall.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.templates = ctx.templates
    install_error_handlers(app)
    api.include(app)
    console.include(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # no icon; browsers ask anyway

    limit, log_access = settings.max_body_bytes, settings.access_log
    app.add_middleware(ServiceMiddleware, max_body_bytes=limit, log_access=log_access)
    app.front = ServiceMiddleware(
        _not_direct, max_body_bytes=limit, log_access=log_access, direct=api.requests.DIRECT_ROUTES
    )
    return app


async def _not_direct(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("only the direct routes go through the front middleware")


def create_app_from_env() -> FastAPI:
    """The factory uvicorn calls (``healthwall serve``): settings from ``HEALTHWALL_*``."""
    return create_app(ServiceSettings())
