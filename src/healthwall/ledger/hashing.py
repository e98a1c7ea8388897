"""RFC 9162 Merkle tree hashing and proof construction, pure (no I/O).

The tree is stored as its *complete* subtrees: node ``(level, i)`` is the hash of leaves
``[i * 2**level, (i + 1) * 2**level)``. Level 0 holds the leaf hashes. Every subtree that RFC 9162's
recursive definitions (MTH, PATH, SUBPROOF) ask for is a run of such nodes, so a proof needs only
O(log n) stored nodes, fetched in one query.

Verification algorithms live in :mod:`healthwall.ledger.verifier` (standalone, for auditors) and
are re-exported here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from healthwall.ledger.verifier import (
    VerificationError,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "Node",
    "VerificationError",
    "consistency_ranges",
    "fold_nodes",
    "frontier_nodes",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root_from_inclusion",
    "tree_levels",
    "verify_consistency",
    "verify_inclusion",
]

#: (level, index) of a complete subtree.
Node = tuple[int, int]
#: The root of the empty tree: SHA-256 of the empty string (RFC 9162 2.1.1).
EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, stop: int) -> list[Node]:
    """The complete subtrees that make up leaves ``[start, stop)``, left to right."""
    nodes: list[Node] = []
    while start < stop:
        level = (start & -start).bit_length() - 1 if start else (stop - start).bit_length() - 1
        while (1 << level) > stop - start:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def frontier_nodes(size: int) -> list[Node]:
    """The complete subtrees whose fold is the root of a tree of ``size`` leaves."""
    return range_nodes(0, size)


def fold_nodes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a run of complete subtrees given left to right: fold from the right."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form the inclusion path of ``index`` (RFC 9162 2.1.3.1 PATH)."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    out: list[tuple[int, int]] = []
    start, stop = 0, size
    while stop - start > 1:
        k = _split(stop - start)
        if index - start < k:
            out.append((start + k, stop))
            stop = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form the consistency proof old -> new (RFC 9162 SUBPROOF)."""
    if not 0 <= old <= new:
        raise ValueError("sizes out of order")
    if old in (0, new):
        return []
    out: list[tuple[int, int]] = []
    start, stop, m, whole = 0, new, old, True
    while True:
        n = stop - start
        if m == n:
            if not whole:
                out.append((start, stop))
            break
        k = _split(n)
        if m <= k:
            out.append((start + k, stop))
            stop = start + k
        else:
            out.append((start, start + k))
            start, m, whole = start + k, m - k, False
    out.reverse()
    return out


def ranges_to_hashes(
    ranges: Iterable[tuple[int, int]], fetch: Callable[[set[Node]], Mapping[Node, bytes]]
) -> list[bytes]:
    """Hash each range from stored nodes; ``fetch`` returns the hashes of a set of nodes."""
    ranges = list(ranges)
    parts = [range_nodes(a, b) for a, b in ranges]
    known = fetch({node for nodes in parts for node in nodes})
    return [fold_nodes([known[node] for node in nodes]) for nodes in parts]


def tree_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every complete subtree hash, level by level, computed from the leaf hashes."""
    levels = [leaves]
    sha256 = hashlib.sha256
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [
                sha256(b"\x01" + below[i] + below[i + 1]).digest()
                for i in range(0, len(below) - 1, 2)
            ]
        )
    return levels


def root_from_levels(levels: Sequence[Sequence[bytes]], size: int) -> bytes:
    """The root of the first ``size`` leaves, read from :func:`tree_levels` output."""
    return fold_nodes([levels[lvl][i] for lvl, i in frontier_nodes(size)])
