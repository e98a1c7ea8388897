"""``POST /v1/aggregates`` (a differentially private count) and ``GET /v1/budget``.

The body is ``{"requester", "purpose"?, "legal_basis"?, "query", "justification"?}`` (see
docs/dp.md); ``requester.id`` must be the API key's requester. A requester sees its own budget;
officers and auditors see every budget.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from healthwall.errors import Forbidden, InvalidInput
from healthwall.service.api.render import as_json
from healthwall.service.auth import require_roles
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Principal, Role

router = APIRouter(prefix="/v1", tags=["aggregates"])


@router.post("/aggregates")
def post_aggregate(
    body: dict[str, Any] = Body(
        description='{"requester": {...}, "purpose": CODE, "query": {...}} (docs/dp.md)'
    ),
    principal: Principal = Depends(require_roles(Role.REQUESTER)),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """Answer an aggregate from a fixed template, with DP noise, spending the budget."""
    requester = body.get("requester")
    if not isinstance(requester, dict):
        raise InvalidInput("requester: field required", field="requester")
    if requester.get("id") != principal.id:
        raise Forbidden("requester.id must be the API key's requester", field="requester.id")
    return as_json(ctx.runtime.aggregate(body))


@router.get("/budget")
def get_budget(
    principal: Principal = Depends(require_roles(Role.REQUESTER, Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """Privacy budgets: spent and remaining per requester and period."""
    owner = principal.id if principal.role is Role.REQUESTER else None
    return as_json(ctx.runtime.budgets(owner))
