"""healthwall.ledger layer: the tamper-evident disclosure ledger (see docs/ledger.md).

RFC 9162 Merkle log of RFC 8785 canonical entries over SQLAlchemy (SQLite, PostgreSQL), C2SP
signed-note checkpoints with Ed25519, inclusion/consistency proofs, full verification and the FHIR
AuditEvent (IHE BALP) export.

Exports are resolved lazily (PEP 562) so ``python -m healthwall.ledger.verifier`` runs the
standalone verifier without importing the rest of the package first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from healthwall.ledger.audit import VerifyResult as VerifyResult
    from healthwall.ledger.checkpoint import SigningKey as SigningKey
    from healthwall.ledger.checkpoint import generate_key as generate_key
    from healthwall.ledger.checkpoint import parse_signing_key as parse_signing_key
    from healthwall.ledger.log import Ledger as Ledger
    from healthwall.ledger.writer import ConsistencyProof as ConsistencyProof
    from healthwall.ledger.writer import InclusionProof as InclusionProof
    from healthwall.ledger.writer import Receipt as Receipt
    from healthwall.ledger.writer import Writer as Writer

_EXPORTS = {
    "VerifyResult": "audit",
    "SigningKey": "checkpoint",
    "generate_key": "checkpoint",
    "parse_signing_key": "checkpoint",
    "ConsistencyProof": "writer",
    "InclusionProof": "writer",
    "Ledger": "log",
    "Receipt": "writer",
    "Writer": "writer",
}

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "Ledger",
    "Receipt",
    "SigningKey",
    "VerifyResult",
    "Writer",
    "generate_key",
    "parse_signing_key",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"healthwall.ledger.{module}"), name)
