"""The hot kinds' leaves are encoded from the models' field dicts: byte-identical to RFC 8785.

``leaf_bytes`` skips pydantic's serializer for request-received, decision-made and released
entries; whatever the fields hold, the bytes must equal RFC 8785 over ``to_json()`` plus ``seq``
(the ledger's definition of a leaf), or every proof and verification would break.
"""

from __future__ import annotations

import enum
import types
from typing import Literal, Union, get_args, get_origin

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from healthwall.ledger.canonical import DICT_KINDS, leaf_bytes
from healthwall.model.entries import (
    DecisionMade,
    LedgerEntry,
    LegalBasisRef,
    Party,
    ReasonRef,
    Recipient,
    Released,
    RequestReceived,
)

#: Any text, lone surrogates included (RFC 8785 refuses them; the leaf must refuse them too).
TEXT = st.text(max_size=30)
NAME = st.text(min_size=1, max_size=30)
PSEUDO = st.text("0123456789abcdef", min_size=16, max_size=64)
DIGEST = st.text("0123456789abcdef", min_size=64, max_size=64)
SEQ = st.integers(0, 2**53 - 1)


class Code(enum.StrEnum):
    """A str subclass, as a caller might pass for a code."""

    NAME = "name"
    ADDRESS = "address"


def _expected(entry: LedgerEntry, seq: int) -> bytes:
    body = entry.to_json()
    body["seq"] = seq
    return rfc8785.dumps(body)


def _same(entry: LedgerEntry, seq: int) -> None:
    try:
        expected = _expected(entry, seq)
    except Exception:  # RFC 8785 refuses it (a lone surrogate): so must the leaf
        with pytest.raises(Exception):  # noqa: B017 -- whichever error RFC 8785 gives
            leaf_bytes(entry, seq)
        return
    assert leaf_bytes(entry, seq) == expected


@given(
    NAME,
    NAME,
    st.none() | TEXT,
    st.lists(TEXT | st.sampled_from(list(Code)), max_size=4),
    st.booleans(),
    PSEUDO,
    DIGEST,
    SEQ,
    TEXT,
)
@settings(max_examples=200, deadline=None)
def test_released_leaf_equals_rfc8785(
    name: str,
    instrument: str,
    address: str | None,
    elements: list[str],
    accountable: bool,
    patient: str,
    digest: str,
    seq: int,
    description: str,
) -> None:
    entry = Released(
        request_id="r",
        patient=patient,
        recipient=Recipient(name=name, address=address),
        elements=elements,
        content_digest=digest,
        purpose=description or "p",
        legal_basis=LegalBasisRef(instrument=instrument, citation=description),
        accountable=accountable,
        description=description,
    )
    _same(entry, seq)


@given(NAME, NAME, st.none() | PSEUDO, st.lists(TEXT, max_size=3), DIGEST, SEQ, st.none() | TEXT)
@settings(max_examples=200, deadline=None)
def test_request_received_leaf_equals_rfc8785(
    rid: str,
    kind: str,
    patient: str | None,
    elements: list[str],
    digest: str,
    seq: int,
    jurisdiction: str | None,
) -> None:
    entry = RequestReceived(
        request_id=rid,
        requester=Party(id=rid, name=kind, kind=kind[:64], jurisdiction=(jurisdiction or "")[:20]),
        purpose=kind,
        instrument=rid,
        scope_kind="patient",
        elements=elements,
        patient=patient,
        request_digest=digest,
    )
    _same(entry, seq)


@given(
    NAME,
    st.sampled_from(["permit", "deny", "review"]),
    st.lists(st.tuples(TEXT, TEXT, TEXT), max_size=3),
    st.lists(TEXT, max_size=3),
    TEXT,
    SEQ,
)
@settings(max_examples=200, deadline=None)
def test_decision_leaf_equals_rfc8785(
    rid: str,
    outcome: str,
    reasons: list[tuple[str, str, str]],
    codes: list[str],
    note: str,
    seq: int,
) -> None:
    entry = DecisionMade(
        request_id=rid,
        decision=outcome,  # type: ignore[arg-type]
        reasons=[ReasonRef(policy=p, citation=c, text=t) for p, c, t in reasons],
        released=codes,
        withheld=codes[::-1],
        obligations=codes[:1],
        note=note,
    )
    _same(entry, seq)


def _plain(annotation: object) -> bool:
    """Only str, bool, None, literals of str, lists of those and models made of those."""
    if annotation in (str, bool, type(None)):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return all(_plain(f.annotation) for f in annotation.model_fields.values())
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return all(isinstance(a, str) for a in args)
    return origin in (list, Union, types.UnionType) and all(_plain(a) for a in args)


def test_dict_kinds_hold_only_plain_fields() -> None:
    """A float or date field added to a hot kind would need the serializer: caught here."""
    models = {m.model_fields["kind"].default: m for m in get_args(get_args(LedgerEntry)[0])}
    assert models.keys() >= DICT_KINDS
    for kind in DICT_KINDS:
        assert _plain(models[kind]), kind
    assert not _plain(models["extract-made"])  # floats: the check itself can fail


def test_str_subclass_codes_encode_as_their_value() -> None:
    entry = Released(
        request_id="r",
        patient="ab" * 32,
        recipient=Recipient(name="Clinic"),
        elements=[Code.NAME, Code.ADDRESS],
        content_digest="0" * 64,
        purpose="treatment",
        legal_basis=LegalBasisRef(instrument="authorization"),
        accountable=False,
    )
    assert b'"elements":["name","address"]' in leaf_bytes(entry, 1)
    assert leaf_bytes(entry, 1) == _expected(entry, 1)
