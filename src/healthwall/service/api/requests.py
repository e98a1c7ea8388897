"""``POST /v1/requests`` (decide a record request), ``GET /v1/requests/{id}``, and
``GET /v1/requests/{id}/release`` (the one-time pickup of an approved review's release).

A requester's API key fixes who it is: ``requester.id`` in the body must be the key's principal,
and a requester reads only its own requests (anyone else's is a 404, never a 403, so the
existence of other requests is not revealed). Officers and auditors read every request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response

from healthwall.errors import Forbidden
from healthwall.model.decision import Decision
from healthwall.model.request import Request as RecordRequest
from healthwall.service.auth import require_roles
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Principal, Role

router = APIRouter(prefix="/v1", tags=["requests"])


class DecisionWithRelease(Decision):
    """The Decision, plus ``release``: the released elements' content when the decision is
    ``permit`` and the patient was matched (``{element: value(s)}``); null otherwise. It is
    given once, in this response, and recorded in the ledger by its SHA-256 only."""

    release: dict[str, Any] | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid API key"},
    403: {"description": "wrong role, or requester.id is not the key's requester"},
    413: {"description": "request body too large"},
    422: {"description": "invalid request: the `field` names what is wrong"},
}


@router.post("/requests", response_model=DecisionWithRelease, responses=_ERRORS)
async def submit_request(
    body: RecordRequest,
    principal: Principal = Depends(require_roles(Role.REQUESTER)),
    ctx: AppContext = Depends(get_context),
) -> Response:
    """Decide a record request: permit, deny or review, with reasons and released elements."""
    if body.requester.id != principal.id:
        raise Forbidden("requester.id must be the API key's requester", field="requester.id")
    disclosure = await ctx.runtime.submit_awaitable(body)
    answer = disclosure.decision.to_json()
    answer["release"] = disclosure.content
    # Already the documented shape (response_model, for OpenAPI): sent without re-validation.
    return JSONResponse(answer)


@router.get("/requests/{request_id}", response_model=Decision, responses=_ERRORS)
async def get_request(
    request_id: str = Path(min_length=1, max_length=200),
    principal: Principal = Depends(require_roles(Role.REQUESTER, Role.OFFICER, Role.AUDITOR)),
    ctx: AppContext = Depends(get_context),
) -> dict[str, Any]:
    """One decision; a requester sees only its own (others: 404)."""
    owner = principal.id if principal.role is Role.REQUESTER else None
    return ctx.runtime.get(request_id, owner).to_json()


@router.get(
    "/requests/{request_id}/release",
    response_model=DecisionWithRelease,
    responses={**_ERRORS, 404: {"description": "nothing to pick up (or not yours)"}},
)
async def pickup_release(
    request_id: str = Path(min_length=1, max_length=200),
    principal: Principal = Depends(require_roles(Role.REQUESTER)),
    ctx: AppContext = Depends(get_context),
) -> dict[str, Any]:
    """The released content of a review a privacy officer approved: once, by the requester that
    made the request, before it expires; recorded in the ledger (Released) before it is sent.
    Anything else -- another requester's request, not approved, already picked up, expired -- is
    a 404 like a missing request."""
    disclosure = await asyncio.to_thread(ctx.runtime.pickup, request_id, principal.id)
    answer = disclosure.decision.to_json()
    answer["release"] = disclosure.content
    return answer
