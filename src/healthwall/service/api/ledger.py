"""``GET /v1/ledger/checkpoint`` and ``GET /v1/ledger/proof/{index}`` for auditors (and officers).

The checkpoint is the signed tree head (C2SP signed note); a proof shows that entry ``index`` is
in the tree the checkpoint commits to (RFC 9162 inclusion proof).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from healthwall.service.api.render import as_json
from healthwall.service.auth import require_roles
from healthwall.service.context import AppContext, get_context
from healthwall.workflows.credentials import Principal, Role

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

_READERS = require_roles(Role.AUDITOR, Role.OFFICER)


@router.get("/checkpoint")
def get_checkpoint(_: Principal = Depends(_READERS), ctx: AppContext = Depends(get_context)) -> Any:
    """The current signed checkpoint of the ledger."""
    return as_json(ctx.runtime.checkpoint())


@router.get("/proof/{index}")
def get_proof(
    index: int = Path(ge=0),
    _: Principal = Depends(_READERS),
    ctx: AppContext = Depends(get_context),
) -> Any:
    """The inclusion proof of entry ``index`` against the current tree."""
    return as_json(ctx.runtime.proof(index))
