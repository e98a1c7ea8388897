"""The writer's side of the ledger: receipts, proofs as returned, the tree frontier, ``Writer``.

The frontier is the hash of the rightmost complete subtree at each level; appending a leaf
combines it with the frontier (O(log n)) and yields the new complete subtrees, stored in the
leaf's own row (see :mod:`.store`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from healthwall.ledger import store
from healthwall.ledger.canonical import leaf_bytes
from healthwall.ledger.hashing import fold_nodes
from healthwall.model.entries import LedgerEntry


@dataclass(slots=True)
class Receipt:
    """Where an appended entry sits: its index and hex leaf hash (valid once committed).

    Not frozen: one is made per appended entry, and a frozen dataclass's ``__init__`` costs three
    times as much; nothing reads a receipt back from the ledger, so changing one changes nothing.
    """

    index: int
    leaf_hash: str


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: str
    path: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "inclusion", **self.__dict__}


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    path: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "consistency", **self.__dict__}


@dataclass
class Frontier:
    """Tree size and the hash of each complete subtree on the right edge, by level."""

    size: int
    by_level: dict[int, bytes]

    def root(self) -> bytes:
        return fold_nodes([self.by_level[lvl] for lvl in sorted(self.by_level, reverse=True)])


class Writer:
    """The single writer's transaction: ``conn`` for the caller's writes, ``append`` for entries."""

    def __init__(self, conn: Connection, frontier: Frontier) -> None:
        self.conn = conn
        self._frontier = frontier

    def append(self, entry: LedgerEntry) -> Receipt:
        """Append one entry in this transaction."""
        return self.append_many([entry])[0]

    def append_many(self, batch: Sequence[LedgerEntry]) -> list[Receipt]:
        """Append entries in order in this transaction (one executemany).

        The hot path of batched appends: hashing and the frontier update are inlined (RFC 9162
        leaf = SHA-256(0x00 || bytes), node = SHA-256(0x01 || left || right)), rows are built
        as tuples for the DB-API ``executemany``. The frontier advances only after the insert,
        so a failed batch leaves the writer's view of the tree unchanged.
        """
        rows: list[tuple[Any, ...]] = []
        receipts: list[Receipt] = []
        sha256 = hashlib.sha256
        frontier = self._frontier
        by_level = dict(frontier.by_level)  # the frontier moves only once the rows are in
        seq = frontier.size
        for entry in batch:
            body = leaf_bytes(entry, seq)
            leaf = sha256(b"\x00" + body).digest()
            closed = b""  # the complete subtrees this leaf finishes, level 1 upwards
            node, level, i = leaf, 0, seq
            while i & 1:
                node = sha256(b"\x01" + by_level.pop(level) + node).digest()
                closed += node
                level += 1
                i >>= 1
            by_level[level] = node
            rows.append(
                (seq, entry.kind, entry.at, getattr(entry, "patient", None), body, leaf, closed)
            )
            receipts.append(Receipt(seq, leaf.hex()))
            seq += 1
        store.insert_raw(self.conn, rows)
        frontier.size, frontier.by_level = seq, by_level
        return receipts
