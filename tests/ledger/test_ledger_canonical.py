"""The fast canonical path is byte-identical to RFC 8785 for the kinds it serves."""

from __future__ import annotations

from typing import get_args

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import release

from healthwall.ledger.canonical import FAST_KINDS, decode_leaf, fast_canonical, leaf_bytes
from healthwall.model.entries import LedgerEntry, Recipient, Released

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
PSEUDO = "ab" * 32


@given(TEXT, TEXT, st.lists(TEXT, max_size=4), st.booleans(), st.integers(0, 2**40))
@settings(max_examples=150, deadline=None)
def test_fast_path_equals_rfc8785(
    name: str, desc: str, elems: list[str], acc: bool, seq: int
) -> None:
    entry = release(
        PSEUDO,
        1,
        recipient=Recipient(name=name or "x", address=desc),
        description=desc,
        elements=elems,
        accountable=acc,
    )
    body = entry.to_json()
    body["seq"] = seq
    assert fast_canonical(body) == rfc8785.dumps(body)
    assert leaf_bytes(entry, seq) == rfc8785.dumps(body)


def test_every_fast_kind_is_an_entry_kind_without_floats() -> None:
    union = get_args(LedgerEntry)[0]
    kinds = {model.model_fields["kind"].default for model in get_args(union)}
    assert kinds >= FAST_KINDS
    assert "extract-made" not in FAST_KINDS and "aggregate-answered" not in FAST_KINDS


def test_leaf_round_trips() -> None:
    entry = release(PSEUDO, 3)
    seq, back = decode_leaf(leaf_bytes(entry, 7))
    assert seq == 7
    assert isinstance(back, Released)
    assert back == entry
