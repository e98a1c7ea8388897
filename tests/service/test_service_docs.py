"""Docs that cannot drift: every service setting and API route is documented in docs/service.md."""

from __future__ import annotations

from pathlib import Path

from healthwall.service.settings import ServiceSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in ServiceSettings.model_fields if f"| `{name}` |" not in text]
    assert not missing, f"settings missing from docs/service.md: {missing}"


def test_every_api_route_is_documented() -> None:
    from healthwall.service import api

    text = DOC.read_text(encoding="utf-8")
    routes = [
        (method, route.path)  # type: ignore[attr-defined]
        for module in api.MODULES
        for route in module.router.routes
        for method in sorted(route.methods)  # type: ignore[attr-defined]
    ]
    assert routes, "the API has routes"
    missing = [f"{m} {p}" for m, p in routes if f"`{m} {p}" not in text]
    assert not missing, f"routes missing from docs/service.md: {missing}"
