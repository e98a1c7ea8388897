"""The application context: everything a route needs, built once by ``create_app``.

Held on ``app.state.ctx`` (no module globals). Routes get it through :func:`get_context`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from healthwall.secrets import resolve_secret
from healthwall.service.settings import ServiceSettings
from healthwall.workflows.credentials import CredentialStore, Principal
from healthwall.workflows.serve import Runtime

HERE = Path(__file__).resolve().parent
KEY_CACHE_SECONDS = 30.0


@dataclass
class AppContext:
    """The runtime (ledger, gateway, store, aggregates, credentials) plus web-only state."""

    settings: ServiceSettings
    runtime: Runtime
    templates: Jinja2Templates
    session_key: bytes
    _key_cache: dict[str, tuple[Principal, float]] = field(default_factory=dict)

    @property
    def credentials(self) -> CredentialStore:
        return self.runtime.credentials

    def cached_principal(self, key: str) -> Principal | None:
        """The owner of an API key if it was checked in the last 30 s (no I/O), else None."""
        digest = hashlib.sha256(key.encode()).hexdigest()  # raw keys are not kept in memory
        cached = self._key_cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def principal_for_key(self, key: str) -> Principal:
        """The owner of an API key; cached for 30 s so a hot client costs no database read."""
        cached = self.cached_principal(key)
        if cached is not None:
            return cached
        now = time.monotonic()
        digest = hashlib.sha256(key.encode()).hexdigest()
        principal = self.credentials.authenticate_key(key)
        if len(self._key_cache) > 10_000:
            self._key_cache.clear()
        self._key_cache[digest] = (principal, now + KEY_CACHE_SECONDS)
        return principal

    def close(self) -> None:
        self.runtime.close()


def build_context(settings: ServiceSettings, runtime: Runtime) -> AppContext:
    """The context for one app: templates, the session key (by reference, else random)."""
    key = (
        resolve_secret(settings.session_key, what="session_key")
        if settings.session_key
        else secrets.token_bytes(32)
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    return AppContext(settings=settings, runtime=runtime, templates=templates, session_key=key)


async def get_context(request: Request) -> AppContext:
    """FastAPI dependency: the app's context."""
    ctx: AppContext = request.app.state.ctx
    return ctx
