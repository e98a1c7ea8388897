"""The console pages' shared window on the ledger (one per app, created on first use).

It lives on ``app.state.ledger_views`` so its caches (the verification per ledger size, the
rendered transparency charts) outlive a request without module globals.
"""

from __future__ import annotations

import threading

from fastapi import Depends, Request

from healthwall.service.context import AppContext, get_context
from healthwall.workflows.console_views import LedgerViews

_CREATE = threading.Lock()


def get_views(request: Request, ctx: AppContext = Depends(get_context)) -> LedgerViews:
    """FastAPI dependency: the app's :class:`LedgerViews` over the runtime's ledger."""
    state = request.app.state
    views: LedgerViews | None = getattr(state, "ledger_views", None)
    if views is None:
        with _CREATE:
            views = getattr(state, "ledger_views", None)
            if views is None:
                views = LedgerViews(ctx.runtime.ledger)
                state.ledger_views = views
    return views
