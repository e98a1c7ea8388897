"""Full verification of a stored ledger: recompute every hash, check every checkpoint.

Checks, in order, and reports the first failure with the lowest index it implicates:

1. entries: indexes are 0..n-1 with no gap; each body's ``seq`` equals its row's index (a swapped
   or reordered row fails here); SHA-256(0x00 || body) equals the stored leaf hash; the indexed
   ``kind``/``patient`` columns agree with the body;
2. the tree nodes stored with each leaf (the complete subtrees it closes) equal the nodes
   recomputed from the leaves; the tree's levels are built as the rows stream in;
3. every stored checkpoint: its size is within the ledger, its note's signature verifies (when a
   public key is known) and names that size and root, and the root equals the recomputed root.

Reading is streamed in chunks; hashing is ``hashlib`` over bytes (about 1M entries in seconds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from healthwall.ledger import store
from healthwall.ledger.checkpoint import checkpoint_body
from healthwall.ledger.hashing import EMPTY_ROOT, leaf_hash, root_from_levels
from healthwall.ledger.verifier import (
    PublicKey,
    VerificationError,
    open_note,
    parse_public_key,
)

CHUNK = 20_000
_DECODER = json.JSONDecoder()
_SHA256 = hashlib.sha256


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
    levels: list[list[bytes]] = [[]]
    leaves = levels[0]
    checked = 0
    try:
        with engine.connect() as conn:
            _check_entries(conn, levels)
            checked = _check_checkpoints(conn, levels, len(leaves), public_keys)
    except _Bad as bad:
        return VerifyResult(
            False, bad.index, bad.reason, len(leaves), "", checked, bool(public_keys)
        )
    root = root_from_levels(levels, len(leaves)) if leaves else EMPTY_ROOT
    return VerifyResult(True, None, "ok", len(leaves), root.hex(), checked, bool(public_keys))


def _check_entries(conn: Connection, levels: list[list[bytes]]) -> None:
    """Stream every entry in index order (chunks, straight from the DB-API cursor), building the
    tree level by level and checking the nodes each row stores against it."""
    leaves = levels[0]
    for rows in store.scan_entries(conn, CHUNK):
        for seq, kind, patient, body, stored, closed in rows:
            index = _as_int(seq, len(leaves))
            raw, leaf = _as_bytes(body, index), _as_bytes(stored, index)
            _check_entry(len(leaves), index, kind, patient, raw, leaf)
            leaves.append(leaf)
            _check_closed(levels, index, _as_bytes(closed, index))


def _check_closed(levels: list[list[bytes]], seq: int, stored: bytes) -> None:
    """Append the subtrees leaf ``seq`` completes to ``levels``; they must be what it stores."""
    level, i, expected = 0, seq, b""
    while i & 1:
        below = levels[level]
        node = _SHA256(b"\x01" + below[-2] + below[-1]).digest()
        level += 1
        i >>= 1
        if level == len(levels):
            levels.append([])
        levels[level].append(node)
        expected += node
    if stored != expected:
        raise _Bad(seq, f"entry {seq}: stored tree nodes do not match the entries")


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
