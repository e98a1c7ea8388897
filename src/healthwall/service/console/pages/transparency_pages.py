"""The transparency dashboard: the period's suppressed counts and their charts.

Tables come from ``healthwall.workflows.transparency`` (counts of 1..10 published as ``<11``, with
complementary suppression); each chart is the report writer's PNG (Vega-Lite rendered server-side
by vl-convert), showing only published counts. Dates are the only parameters (no PHI in URLs).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from healthwall.errors import InvalidInput
from healthwall.service.auth import console_roles
from healthwall.service.console.render import NavItem, page
from healthwall.service.console.views import get_views
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.console_views import LedgerViews, charted_tables
from healthwall.workflows.credentials import Role, Session

router = APIRouter(prefix="/console")
NAV = (
    NavItem("Transparency", "/console/transparency", frozenset({Role.OFFICER, Role.AUDITOR}), 30),
)
DEFAULT_DAYS = 365
MAX_DAYS = 3660


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period asked for; defaults to the last year through today (UTC)."""
    hi = end or dt.datetime.now(dt.UTC).date()
    lo = start or hi - dt.timedelta(days=DEFAULT_DAYS)
    if hi < lo:
        raise InvalidInput("to: before from", field="to")
    if (hi - lo).days > MAX_DAYS:
        raise InvalidInput("from/to: at most ten years", field="from")
    return lo, hi


@router.get("/transparency")
def transparency(
    request: Request,
    start: dt.date | None = Query(None, alias="from"),
    end: dt.date | None = Query(None, alias="to"),
    session: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
    views: LedgerViews = Depends(get_views),
) -> Response:
    """The dashboard of one period."""
    lo, hi = _period(start, end)
    report = views.transparency(lo, hi)
    return page(
        ctx,
        request,
        "transparency.html",
        session,
        report=report,
        charted=charted_tables(report),
        start=lo.isoformat(),
        end=hi.isoformat(),
    )


@router.get("/transparency/charts/{table_id}.png")
def chart(
    table_id: str = Path(pattern=r"^[a-z_]{1,64}$"),
    start: dt.date | None = Query(None, alias="from"),
    end: dt.date | None = Query(None, alias="to"),
    _: Session = Depends(console_roles(Role.OFFICER, Role.AUDITOR)),
    views: LedgerViews = Depends(get_views),
) -> Response:
    """One table's bar chart (PNG); suppressed cells are not drawn."""
    lo, hi = _period(start, end)
    return Response(views.chart(lo, hi, table_id), media_type="image/png")
