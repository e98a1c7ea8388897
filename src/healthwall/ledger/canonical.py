"""Canonical JSON (RFC 8785, via the ``rfc8785`` package) for ledger leaves.

A leaf's bytes are the canonical JSON of the entry's ``to_json()`` plus ``seq``, its index in the
log. Binding the index into the hashed bytes means a swapped or reordered row is caught at the
exact index, and an auditor's standalone check can confirm an entry sits where its proof says.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from healthwall.errors import IntegrityError
from healthwall.model.entries import LedgerEntry, parse_entry

SEQ = "seq"


def canonical(obj: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of plain JSON data."""
    return rfc8785.dumps(obj)


def leaf_bytes(entry: LedgerEntry, seq: int) -> bytes:
    """The exact bytes stored and hashed for ``entry`` at index ``seq``."""
    body = entry.to_json()
    body[SEQ] = seq
    return canonical(body)


def read_leaf(data: bytes) -> tuple[int, dict[str, Any]]:
    """Split stored leaf bytes into (seq, entry JSON without seq); no validation of the kind."""
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise IntegrityError("ledger entry is not valid JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get(SEQ), int):
        raise IntegrityError("ledger entry has no seq")
    seq = body.pop(SEQ)
    return seq, body


def decode_leaf(data: bytes) -> tuple[int, LedgerEntry]:
    """Stored leaf bytes back to (seq, typed entry)."""
    seq, body = read_leaf(data)
    try:
        return seq, parse_entry(body)
    except ValueError as exc:
        raise IntegrityError(f"ledger entry {seq} does not parse as an entry") from exc
