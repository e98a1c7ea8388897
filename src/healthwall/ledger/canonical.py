"""Canonical JSON (RFC 8785, via the ``rfc8785`` package) for ledger leaves.

A leaf's bytes are the canonical JSON of the entry's ``to_json()`` plus ``seq``, its index in the
log. Binding the index into the hashed bytes means a swapped or reordered row is caught at the
exact index, and an auditor's standalone check can confirm an entry sits where its proof says.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import rfc8785
from pydantic import BaseModel

from healthwall.errors import IntegrityError
from healthwall.model.entries import LedgerEntry, parse_entry

SEQ = "seq"

#: Entry kinds whose JSON holds only strings, small integers, booleans, nulls, lists and objects
#: with fixed ASCII keys (no floats, no caller-chosen keys). For these, ``orjson`` with sorted keys
#: is byte-identical to RFC 8785 (same escapes, same key order, UTF-8 output), and about ten times
#: faster than Python's ``json`` and far faster than the general serializer; tests/ledger checks
#: the identity with hypothesis against the ``rfc8785`` package.
FAST_KINDS = frozenset(
    {
        "request-received",
        "decision-made",
        "released",
        "accounting-suspended",
        "accounting-requested",
        "accounting-provided",
        "key-rotated",
    }
)


def canonical(obj: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of plain JSON data."""
    return rfc8785.dumps(obj)


#: Sorted keys; integers beyond 2**53 - 1 rejected (RFC 8785 numbers are IEEE doubles);
#: datetimes, dataclasses and subclasses of str/int/dict/list not serialized by orjson itself.
_FAST_OPTS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def fast_canonical(obj: Any) -> bytes:
    """RFC 8785 bytes for JSON without floats and with BMP-only keys (see ``FAST_KINDS``).

    ``obj`` must be plain JSON types (dict, list, str, int, bool, None), as pydantic's
    ``mode="json"`` serializer produces for ledger entries. Values orjson refuses (lone
    surrogates, integers outside the exact double range, non-string keys, datetimes, dataclasses,
    subclasses of the JSON types) go to the general serializer, which raises or encodes them
    exactly as RFC 8785 says.
    """
    try:
        return orjson.dumps(obj, option=_FAST_OPTS)
    except orjson.JSONEncodeError:
        return canonical(obj)


#: The kinds of the gateway's hot path, whose fields (and their nested models' fields) are all
#: ``str``, ``bool``, ``None`` or lists of them: for these a model's ``__dict__`` holds exactly
#: what pydantic's ``mode="json"`` serializer would produce, so the leaf is encoded straight from
#: it (about a third of the cost). Anything else met on the way (a ``str`` subclass, a float, a
#: date) makes orjson call ``_plain_fields``, which refuses it, and the entry takes the general
#: path; tests/ledger checks the bytes are identical with hypothesis.
DICT_KINDS = frozenset({"request-received", "decision-made", "released"})


def _plain_fields(obj: Any) -> dict[str, Any]:
    """orjson's ``default``: a nested model as its field dict; anything else is refused."""
    if isinstance(obj, BaseModel) and not obj.__pydantic_extra__:
        return obj.__dict__
    raise TypeError


def leaf_bytes(entry: LedgerEntry, seq: int) -> bytes:
    """The exact bytes stored and hashed for ``entry`` at index ``seq``."""
    if entry.kind in DICT_KINDS:
        try:
            return orjson.dumps(
                {**entry.__dict__, SEQ: seq}, default=_plain_fields, option=_FAST_OPTS
            )
        except orjson.JSONEncodeError:
            pass  # something not plain: the serializer below decides
    # the serializer directly: same output as ``entry.to_json()``, less per-call overhead
    body: dict[str, Any] = type(entry).__pydantic_serializer__.to_python(entry, mode="json")
    body[SEQ] = seq
    if entry.kind in FAST_KINDS:
        return fast_canonical(body)
    return canonical(body)


def read_leaf(data: bytes) -> tuple[int, dict[str, Any]]:
    """Split stored leaf bytes into (seq, entry JSON without seq); no validation of the kind."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses and ``json`` reads (integers beyond 64 bits): as before
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
