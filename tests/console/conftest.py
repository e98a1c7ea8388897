"""The console tests' shared fixtures: one real service (see console_harness.py), and the root
conftest's ``require`` (skip locally, fail in CI) for the browser tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from console_harness import console

__all__ = ["console", "require"]

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture(scope="session")
def require(request: pytest.FixtureRequest) -> Callable[[bool, str], None]:
    """``tests/conftest.py``'s ``require`` (found among the loaded conftest plugins)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "").resolve() == ROOT_CONFTEST:
            found: Callable[[bool, str], None] = plugin.require
            return found
    raise AssertionError("tests/conftest.py is not loaded")
