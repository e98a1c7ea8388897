"""``GET /v1/accounting/{patient}``: a patient's accounting of disclosures (45 CFR 164.528).

Officers and auditors only. The patient id is in the path, so the access log records only the
route template, never the path (see :mod:`healthwall.service.middleware`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Query

from healthwall.service.api.render import as_json
from healthwall.service.auth import require_roles
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Principal, Role

router = APIRouter(prefix="/v1", tags=["accounting"])


@router.get("/accounting/{patient}")
def get_accounting(
    patient: str = Path(min_length=1, max_length=200),
    start: dt.date | None = Query(default=None, description="first day (default: 6 years back)"),
    end: dt.date | None = Query(default=None, description="last day (default: today)"),
    _: Principal = Depends(require_roles(Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """Every accountable disclosure of one patient's information in the window."""
    return as_json(ctx.runtime.accounting(patient, start, end))
