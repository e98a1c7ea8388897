"""Full verification of a stored ledger: recompute every hash, check every checkpoint.

Checks, in order, and reports the first failure with the lowest index it implicates:

1. entries: indexes are 0..n-1 with no gap; each body's ``seq`` equals its row's index (a swapped
   or reordered row fails here); SHA-256(0x00 || body) equals the stored leaf hash; the indexed
   ``kind``/``patient`` columns agree with the body;
2. stored tree nodes equal the nodes recomputed from the leaves (levels >= 1);
3. every stored checkpoint: its size is within the ledger, its note's signature verifies (when a
   public key is known) and names that size and root, and the root equals the recomputed root.

Reading is streamed in chunks; hashing is ``hashlib`` over bytes (about 1M entries in seconds).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from healthwall.ledger import store
from healthwall.ledger.checkpoint import checkpoint_body
from healthwall.ledger.hashing import EMPTY_ROOT, leaf_hash, root_from_levels, tree_levels
from healthwall.ledger.verifier import (
    PublicKey,
    VerificationError,
    open_note,
    parse_public_key,
)

CHUNK = 20_000
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_ledger`; ``first_bad_index`` is None when ``ok``."""

    ok: bool
    first_bad_index: int | None
    reason: str
    size: int
    root: str
    checkpoints_checked: int = 0
    signatures_checked: bool = False
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Bad(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def verify_ledger(engine: Engine, *, public_keys: Sequence[str] = ()) -> VerifyResult:
    """Verify everything stored in the ledger database behind ``engine``."""
    leaves: list[bytes] = []
    checked = 0
    try:
        with engine.connect() as conn:
            _check_entries(conn, leaves)
            levels = tree_levels(leaves) if leaves else [[]]
            _check_nodes(conn, levels)
            checked = _check_checkpoints(conn, levels, len(leaves), public_keys)
    except _Bad as bad:
        return VerifyResult(
            False, bad.index, bad.reason, len(leaves), "", checked, bool(public_keys)
        )
    root = root_from_levels(levels, len(leaves)) if leaves else EMPTY_ROOT
    return VerifyResult(True, None, "ok", len(leaves), root.hex(), checked, bool(public_keys))


def _check_entries(conn: Connection, leaves: list[bytes]) -> None:
    """Stream every entry in index order (chunks, straight from the DB-API cursor)."""
    for rows in store.scan_entries(conn, CHUNK):
        for seq, kind, patient, body, stored in rows:
            index = _as_int(seq, len(leaves))
            raw, leaf = _as_bytes(body, index), _as_bytes(stored, index)
            _check_entry(len(leaves), index, kind, patient, raw, leaf)
            leaves.append(leaf)


def _as_int(value: Any, expected: int) -> int:
    """A stored index; anything but an integer (a retyped column) is tampering."""
    if isinstance(value, int):
        return value
    raise _Bad(expected, f"entry {expected}: index column holds a non-integer")


def _as_bytes(value: Any, seq: int) -> bytes:
    """A stored blob; text or any other type (a retyped column) is tampering."""
    if type(value) is bytes:
        return value
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    raise _Bad(seq, f"entry {seq}: stored value is not binary (column retyped)")


def _check_entry(
    expected: int, seq: int, kind: str, patient: Any, body: bytes, stored: bytes
) -> None:
    if seq != expected:
        raise _Bad(expected, f"entry {expected} is missing (next stored index is {seq})")
    if leaf_hash(body) != stored:
        raise _Bad(seq, f"entry {seq}: content does not match its leaf hash")
    try:
        text = body.decode("utf-8")
        data, end = _DECODER.raw_decode(text)
        if end != len(text):
            raise ValueError("trailing bytes")
    except ValueError:
        raise _Bad(seq, f"entry {seq}: not valid JSON") from None
    if not isinstance(data, dict) or data.get("seq") != seq:
        raise _Bad(seq, f"entry {seq}: recorded at a different index (moved or swapped)")
    if data.get("kind") != kind or data.get("patient") != patient:
        raise _Bad(seq, f"entry {seq}: indexed columns disagree with the entry")


def _check_nodes(conn: Connection, levels: list[list[bytes]]) -> None:
    seen = 0
    for lvl, idx, h in store.scan_nodes(conn):
        if lvl >= len(levels) or idx >= len(levels[lvl]):
            raise _Bad(len(levels[0]), f"tree node ({lvl}, {idx}) lies beyond the entries")
        if levels[lvl][idx] != h:
            raise _Bad(idx << lvl, f"tree node ({lvl}, {idx}) does not match the entries")
        seen += 1
    expected = sum(len(level) for level in levels[1:])
    if seen != expected:
        raise _Bad(_first_missing_node(conn, levels), "stored tree nodes are missing")


def _first_missing_node(conn: Connection, levels: list[list[bytes]]) -> int:
    n = store.nodes.c
    have = {(int(a), int(b)) for a, b in conn.execute(select(n.level, n.idx))}
    missing = [
        i << lvl
        for lvl in range(1, len(levels))
        for i in range(len(levels[lvl]))
        if (lvl, i) not in have
    ]
    return min(missing) if missing else 0


def _check_checkpoints(
    conn: Connection, levels: list[list[bytes]], size: int, public_keys: Sequence[str]
) -> int:
    keys = [parse_public_key(k) for k in public_keys]
    c = store.checkpoints.c
    checked, good_size = 0, 0
    for cp_size, cp_root, note in conn.execute(select(c.size, c.root, c.note).order_by(c.size)):
        cp_size, cp_root = int(cp_size), bytes(cp_root)
        if cp_size > size:
            raise _Bad(size, f"checkpoint at size {cp_size} but only {size} entries remain")
        origin = note.split("\n", 1)[0]
        if not note.startswith(checkpoint_body(origin, cp_size, cp_root)):
            raise _Bad(good_size, f"checkpoint {cp_size}: note disagrees with its stored root")
        if keys and not _signed_by_any(note, keys):
            raise _Bad(good_size, f"checkpoint {cp_size}: no valid signature by a trusted key")
        root = root_from_levels(levels, cp_size) if cp_size else EMPTY_ROOT
        if root != cp_root:
            raise _Bad(good_size, f"checkpoint {cp_size}: root differs; entries from here changed")
        good_size = cp_size
        checked += 1
    return checked


def _signed_by_any(note: str, keys: Sequence[PublicKey]) -> bool:
    """True when one of ``keys`` (current and, after rotations, earlier ones) signed ``note``."""
    for key in keys:
        try:
            open_note(note, key)
        except VerificationError:
            continue
        return True
    return False
