"""RFC 9162 hashing and proofs: against a direct recursive MTH, with hypothesis."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.ledger.hashing import (
    EMPTY_ROOT,
    VerificationError,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    ranges_to_hashes,
    root_from_levels,
    tree_levels,
    verify_consistency,
    verify_inclusion,
)


def mth(data: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 section 2.1.1 (the reference the stored tree must match)."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return leaf_hash(data[0])
    k = 1 << ((len(data) - 1).bit_length() - 1)
    return node_hash(mth(data[:k]), mth(data[k:]))


def _tree(n: int) -> tuple[list[bytes], list[list[bytes]]]:
    data = [f"entry-{i}".encode() for i in range(n)]
    return data, tree_levels([leaf_hash(d) for d in data])


def _path(levels: list[list[bytes]], ranges: list[tuple[int, int]]) -> list[bytes]:
    return ranges_to_hashes(ranges, lambda wanted: {n: levels[n[0]][n[1]] for n in wanted})


def test_leaf_and_node_hashes_follow_rfc9162() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


@given(st.integers(min_value=1, max_value=300), st.data())
@settings(max_examples=60, deadline=None)
def test_roots_match_the_recursive_definition(n: int, data: st.DataObject) -> None:
    leaves, levels = _tree(n)
    m = data.draw(st.integers(min_value=1, max_value=n))
    assert root_from_levels(levels, m) == mth(leaves[:m])


@given(st.integers(min_value=1, max_value=300), st.data())
@settings(max_examples=80, deadline=None)
def test_inclusion_proofs_verify_and_reject_edits(n: int, data: st.DataObject) -> None:
    leaves, levels = _tree(n)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    root = mth(leaves)
    path = _path(levels, inclusion_ranges(index, n))
    verify_inclusion(index, n, leaf_hash(leaves[index]), path, root)
    # a one-byte edit of the entry fails
    edited = bytearray(leaves[index])
    pos = data.draw(st.integers(min_value=0, max_value=len(edited) - 1))
    edited[pos] ^= data.draw(st.integers(min_value=1, max_value=255))
    with pytest.raises(VerificationError):
        verify_inclusion(index, n, leaf_hash(bytes(edited)), path, root)
    # so does a one-byte edit of any proof hash
    if path:
        which = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        bad = [bytearray(h) for h in path]
        bad[which][0] ^= 1
        with pytest.raises(VerificationError):
            verify_inclusion(index, n, leaf_hash(leaves[index]), [bytes(b) for b in bad], root)
    # and the proof does not prove another index
    if n > 1:
        other = (index + 1) % n
        with pytest.raises(VerificationError):
            verify_inclusion(other, n, leaf_hash(leaves[index]), path, root)


@given(st.integers(min_value=1, max_value=300), st.data())
@settings(max_examples=80, deadline=None)
def test_consistency_proofs_verify_and_reject_edits(n: int, data: st.DataObject) -> None:
    leaves, levels = _tree(n)
    m = data.draw(st.integers(min_value=0, max_value=n))
    old_root, new_root = mth(leaves[:m]), mth(leaves)
    path = _path(levels, consistency_ranges(m, n))
    verify_consistency(m, n, old_root, new_root, path)
    if 0 < m < n:
        forked = [*leaves[: m - 1], b"rewritten", *leaves[m:]]
        with pytest.raises(VerificationError):
            verify_consistency(m, n, old_root, mth(forked), path)
        which = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        bad = list(path)
        bad[which] = bytes([bad[which][0] ^ 1]) + bad[which][1:]
        with pytest.raises(VerificationError):
            verify_consistency(m, n, old_root, new_root, bad)


def test_inclusion_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        inclusion_ranges(5, 5)
    with pytest.raises(VerificationError):
        verify_inclusion(5, 5, b"\x00" * 32, [], b"\x00" * 32)
