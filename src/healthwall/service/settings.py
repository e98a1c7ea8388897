"""Settings of the HTTP service, declared once (each field documented, docs/service.md lists them).

Read from ``HEALTHWALL_*`` environment variables (e.g. ``HEALTHWALL_DB``, ``HEALTHWALL_STORE``) or
given to :func:`healthwall.service.app.create_app` directly. Keys are references only
(``env:NAME`` / ``file:PATH``, see :mod:`healthwall.secrets`), never inline values.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Everything the service reads at start-up."""

    model_config = SettingsConfigDict(env_prefix="HEALTHWALL_", extra="forbid", frozen=True)

    db: str = Field(
        default="sqlite:///healthwall.db",
        description="SQLAlchemy URL of the ledger and service database (SQLite or PostgreSQL).",
    )
    store: Path | None = Field(
        default=Path("healthwall-store.duckdb"),
        description="DuckDB file of the custodian's records (None: no store, nothing released).",
    )
    jurisdiction: str = Field(
        default="US-CA", description="Custodian's jurisdiction: chooses the policy packs."
    )
    packs: str | None = Field(
        default=None, description="Comma-separated policy packs overriding the jurisdiction's."
    )
    pseudonym_key: str | None = Field(
        default=None, description="Reference (env:NAME / file:PATH) to the ledger pseudonym key."
    )
    signing_key: str | None = Field(
        default=None, description="Reference to the Ed25519 key signing ledger checkpoints."
    )
    session_key: str | None = Field(
        default=None,
        description="Reference to the key signing console session cookies; unset: a random key"
        " per process (sessions end on restart).",
    )
    session_minutes: int = Field(
        default=480, ge=5, le=1440, description="Console session lifetime in minutes."
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark cookies Secure even without TLS at the server (set behind a TLS proxy);"
        " always on when the request arrives over https.",
    )
    max_body_bytes: int = Field(
        default=65536, ge=1024, description="Largest accepted request body; larger is a 413."
    )
    pickup_days: float = Field(
        default=7.0,
        gt=0,
        le=90,
        description="How long an approved review's release waits for its one-time pickup"
        " (GET /v1/requests/{id}/release), in days.",
    )
    access_log: bool = Field(
        default=True,
        description="Log one line per request: method, route template, status, milliseconds"
        " (never the raw path or query, which may hold identifiers).",
    )
