"""The privacy officer's console: server-rendered pages (Jinja2), htmx when JavaScript is on.

A page is a module in :mod:`healthwall.service.console.pages` exposing ``router`` (an
``APIRouter`` with paths under ``/console``) and, to appear in the navigation, ``NAV`` (a tuple of
:class:`~healthwall.service.console.render.NavItem`), plus its template under
``templates/console/``. Modules are discovered at start-up, so adding a page is adding a module
and a template. Every page checks the session's role; every form carries the CSRF token.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI

from healthwall.service.console import pages
from healthwall.service.console.render import NavItem


def include(app: FastAPI) -> None:
    """Add every console page's router, and collect the navigation in ``app.state.nav``."""
    nav: list[NavItem] = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is None:
            continue
        app.include_router(router, include_in_schema=False)
        nav.extend(getattr(module, "NAV", ()))
    app.state.nav = sorted(nav, key=lambda item: item.order)
