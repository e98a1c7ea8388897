"""The batched-append fast paths stay exact: orjson canonical JSON equals RFC 8785, the inlined
frontier update equals a from-scratch RFC 9162 tree, and a failed batch moves nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import PSEUDONYM_KEY, key_entry, release
from pydantic_core import PydanticSerializationError

from healthwall.ledger import Ledger
from healthwall.ledger.canonical import fast_canonical
from healthwall.ledger.hashing import root_from_levels, tree_levels
from healthwall.model.entries import Released, format_utc, utc_now

SAFE = 2**53 - 1
#: Strings as entries hold them: any code point but lone surrogates (which cannot be UTF-8).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
#: Keys within the BMP: UTF-16 order (RFC 8785) and code point order (orjson) agree there.
BMP_KEYS = st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=8)
JSON_NO_FLOATS = st.recursive(
    st.none() | st.booleans() | st.integers(-SAFE, SAFE) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(BMP_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(JSON_NO_FLOATS)
@settings(max_examples=300, deadline=None)
def test_fast_canonical_equals_rfc8785_for_json_without_floats(value: Any) -> None:
    assert fast_canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("big", [SAFE + 1, -SAFE - 1, 2**64, -(2**70)])
def test_fast_canonical_refuses_integers_rfc8785_refuses(big: int) -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps({"n": big})
    with pytest.raises(rfc8785.IntegerDomainError):
        fast_canonical({"n": big})


def test_fast_canonical_falls_back_on_lone_surrogates() -> None:
    value = {"s": "a\ud800b"}
    try:
        expected: bytes | type[Exception] = rfc8785.dumps(value)
    except Exception as exc:  # whatever RFC 8785's reference does, the fast path does too
        expected = type(exc)
    if isinstance(expected, bytes):
        assert fast_canonical(value) == expected
    else:
        with pytest.raises(expected):
            fast_canonical(value)


class _Tag(str):
    """A str subclass: orjson passes it through, the reference serializer decides."""


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [{"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, {"p": _Point(1)}, {"t": _Tag("x")}, {1: "a"}],
)
def test_fast_canonical_defers_non_plain_values_to_rfc8785(value: dict[Any, Any]) -> None:
    try:
        expected: bytes | type[Exception] = rfc8785.dumps(value)
    except Exception as exc:
        expected = type(exc)
    if isinstance(expected, bytes):
        assert fast_canonical(value) == expected
    else:
        with pytest.raises(expected):
            fast_canonical(value)


def _leaf(entry_json: dict[str, Any], seq: int) -> bytes:
    """An independent leaf hash: RFC 8785 reference serializer, then SHA-256(0x00 || bytes)."""
    return hashlib.sha256(b"\x00" + rfc8785.dumps({**entry_json, "seq": seq})).digest()


@given(st.lists(st.integers(1, 9), min_size=1, max_size=6))
@settings(max_examples=15, deadline=None)
def test_batches_build_the_rfc9162_tree(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int]
) -> None:
    path = tmp_path_factory.mktemp("fast") / "ledger.db"
    pseudo = "ab" * 32
    expected: list[bytes] = []
    with Ledger.open(f"sqlite:///{path}", pseudonym_key=PSEUDONYM_KEY) as led:
        for b, size in enumerate(sizes):
            batch = [release(pseudo, b * 10 + i) for i in range(size)]
            with led.writer() as tx:
                receipts = tx.append_many(batch)
            for r, e in zip(receipts, batch, strict=True):
                leaf = _leaf(e.to_json(), len(expected))
                assert r.index == len(expected) and r.leaf_hash == leaf.hex()
                expected.append(leaf)
        levels = tree_levels(expected)
        for n in {1, len(expected) // 2 or 1, len(expected)}:
            assert led.root(n) == root_from_levels(levels, n)
        assert led.verify().ok


def test_a_failed_batch_inside_a_transaction_moves_nothing(tmp_path: Path) -> None:
    bad = Released.model_construct(**{**release("ab" * 32, 0).__dict__, "elements": [object()]})
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", pseudonym_key=PSEUDONYM_KEY) as led:
        led.append(key_entry(0))
        with led.writer() as tx:
            with pytest.raises(PydanticSerializationError):
                tx.append_many([key_entry(1), bad])
            receipt = tx.append(key_entry(2))
        assert receipt.index == 1
        assert led.size() == 2
        assert led.verify().ok


def test_utc_now_matches_format_utc() -> None:
    before = format_utc(dt.datetime.now(dt.UTC))
    now = utc_now()
    after = format_utc(dt.datetime.now(dt.UTC))
    assert before <= now <= after
    assert format_utc(dt.datetime.fromisoformat(now.replace("Z", "+00:00"))) == now
