"""Keyed pseudonyms: HMAC-SHA256 per recipient, computed inside DuckDB.

recipient key = HMAC(master key, recipient name); token = HMAC(recipient key, patient id),
hex-truncated to :data:`TOKEN_HEX` characters. One patient gets one token within a recipient;
two recipients' tokens cannot be linked without the keys (a keyed re-identification code in the
sense of 45 CFR 164.514(c): the key is never disclosed with the data).

HMAC is written in SQL so it stays vectorized::

    HMAC(K, m) = SHA256((K xor opad) || SHA256((K xor ipad) || m))

The padded keys travel as prepared-statement parameters (BLOBs), never in the SQL text.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from healthwall.errors import ConfigError
from healthwall.secrets import resolve_secret

TOKEN_HEX = 32
BLOCK = 64  # SHA-256 block size in bytes
SCHEME = f"HMAC-SHA256(HMAC-SHA256(master, recipient), id), first {TOKEN_HEX} hex"
MIN_MASTER_KEY_BYTES = 16


def recipient_key(master: bytes, recipient: str) -> bytes:
    """The recipient's key, derived from the master key and the recipient's name."""
    if not recipient.strip():
        raise ConfigError("recipient name is empty", field="recipient")
    return hmac.new(master, recipient.encode("utf-8"), hashlib.sha256).digest()


def subkey(key: bytes, label: str) -> bytes:
    """A key for one purpose (``date-shift``, a column), separated from the token key."""
    return hmac.new(key, label.encode("utf-8"), hashlib.sha256).digest()


def token(key: bytes, value: str) -> str:
    """Reference implementation of the token of ``value`` (the SQL must agree with it)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def load_master_key(ref: str) -> bytes:
    """The master pseudonym key from a reference (``env:NAME`` or ``file:PATH``)."""
    master = resolve_secret(ref, what="pseudonym key")
    if len(master) < MIN_MASTER_KEY_BYTES:
        raise ConfigError(
            f"pseudonym key: at least {MIN_MASTER_KEY_BYTES} bytes are required",
            field="pseudonym key",
        )
    return master


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in padded)
    outer = bytes(b ^ 0x5C for b in padded)
    return inner, outer


@dataclass
class SqlParams:
    """Named parameters collected while compiling one statement (keys stay out of SQL text)."""

    values: dict[str, object] = field(default_factory=dict)

    def add(self, stem: str, value: object) -> str:
        name = f"{stem}_{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def hmac_hex_sql(key: bytes, message_sql: str, params: SqlParams) -> str:
    """SQL for the full hex HMAC-SHA256 of ``message_sql`` (cast to text) under ``key``."""
    inner, outer = _pads(key)
    ipad = params.add("ipad", inner)
    opad = params.add("opad", outer)
    msg = f"encode(CAST({message_sql} AS VARCHAR))"
    return f"sha256({opad}::BLOB || unhex(sha256({ipad}::BLOB || {msg})))"


def token_sql(key: bytes, message_sql: str, params: SqlParams) -> str:
    """SQL for the token of ``message_sql``: HMAC hex truncated to :data:`TOKEN_HEX`."""
    return f"substr({hmac_hex_sql(key, message_sql, params)}, 1, {TOKEN_HEX})"


def shift_days_sql(key: bytes, message_sql: str, max_days: int, params: SqlParams) -> str:
    """SQL for a per-patient shift in [-max_days, max_days] from a keyed hash of the id."""
    if max_days < 1:
        raise ConfigError("date shift: the number of days must be at least 1", field="date_shift")
    digest = hmac_hex_sql(subkey(key, "date-shift"), message_sql, params)
    word = f"CAST(('0x' || substr({digest}, 1, 12)) AS BIGINT)"
    return f"(({word} % {2 * max_days + 1}) - {max_days})"


def shift_days(key: bytes, value: str, max_days: int) -> int:
    """Reference implementation of :func:`shift_days_sql`."""
    digest = hmac.new(subkey(key, "date-shift"), value.encode("utf-8"), hashlib.sha256)
    return int(digest.hexdigest()[:12], 16) % (2 * max_days + 1) - max_days
