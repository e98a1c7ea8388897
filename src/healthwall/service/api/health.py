"""``GET /v1/health``: liveness, version and jurisdiction (no authentication, no data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

import healthwall
from healthwall.service.context import AppContext, get_context

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health")
async def health(ctx: AppContext = Depends(get_context)) -> dict[str, Any]:
    """The service is up."""
    return {
        "status": "ok",
        "version": healthwall.__version__,
        "jurisdiction": ctx.runtime.jurisdiction,
    }
