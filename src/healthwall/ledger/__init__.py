"""healthwall.ledger layer: the tamper-evident disclosure ledger (see docs/ledger.md).

RFC 9162 Merkle log of RFC 8785 canonical entries over SQLAlchemy (SQLite, PostgreSQL), C2SP
signed-note checkpoints with Ed25519, inclusion/consistency proofs, full verification and the FHIR
AuditEvent (IHE BALP) export.
"""

from __future__ import annotations

from healthwall.ledger.audit import VerifyResult
from healthwall.ledger.checkpoint import SigningKey, generate_key, parse_signing_key
from healthwall.ledger.log import ConsistencyProof, InclusionProof, Ledger, Receipt, Writer

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
