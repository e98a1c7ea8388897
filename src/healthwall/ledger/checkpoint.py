"""Signed checkpoints in the C2SP signed-note format, with Ed25519 (``cryptography``).

A checkpoint (C2SP tlog-checkpoint) is the note body::

    <origin>
    <tree size, decimal>
    <base64 root hash>

followed by a blank line and one signature line per signer::

    — <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>

The key hash is SHA-256(name || "\\n" || 0x01 || public key)[:4] (C2SP signed-note). Keys are
text in the Go ``note`` package's forms: the signer key ``PRIVATE+KEY+<name>+<hash>+<base64(0x01
|| seed)>`` (kept in a 0600 file, given by reference) and the verifier key
``<name>+<hash>+<base64(0x01 || public key)>`` handed to auditors.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from healthwall.errors import ConfigError
from healthwall.ledger.verifier import ALG_ED25519, SIG_PREFIX, key_hash

PRIVATE_PREFIX = "PRIVATE+KEY+"
_NAME = re.compile(r"^[^\s+]+$")


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 signer with its signed-note key name."""

    name: str
    private: Ed25519PrivateKey

    @property
    def raw_public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.raw_public)

    @property
    def key_id(self) -> str:
        """Hex key hash: the fingerprint recorded in ``KeyRotated`` entries."""
        return self.key_hash.hex()

    def public_text(self) -> str:
        """The verifier key, ``<name>+<hash>+<base64(0x01 || key)>``."""
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self.raw_public).decode()
        return f"{self.name}+{self.key_hash.hex()}+{b64}"

    def private_text(self) -> str:
        """The signer key, ``PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>``."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        b64 = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"{PRIVATE_PREFIX}{self.name}+{self.key_hash.hex()}+{b64}"

    def sign_note(self, body: str) -> str:
        """Sign a note body (which must end in a newline) and return the whole note."""
        if not body.endswith("\n"):
            raise ValueError("note body must end with a newline")
        sig = self.private.sign(body.encode())
        line = base64.b64encode(self.key_hash + sig).decode()
        return f"{body}\n{SIG_PREFIX}{self.name} {line}\n"


def generate_key(name: str) -> SigningKey:
    """A fresh Ed25519 signing key named ``name`` (the log's origin, by convention)."""
    _check_name(name)
    return SigningKey(name, Ed25519PrivateKey.generate())


def parse_signing_key(data: bytes) -> SigningKey:
    """Parse a signer key in ``PRIVATE+KEY+...`` form; errors never echo the key."""
    text = data.decode("ascii", errors="replace").strip()
    if not text.startswith(PRIVATE_PREFIX):
        raise ConfigError("signing key: expected a PRIVATE+KEY+<name>+<hash>+<key> key file")
    parts = text[len(PRIVATE_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise ConfigError("signing key: malformed key")
    name, hash_hex, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error as exc:
        raise ConfigError("signing key: bad base64") from exc
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise ConfigError("signing key: not an Ed25519 key")
    key = SigningKey(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if key.key_hash.hex() != hash_hex.lower():
        raise ConfigError("signing key: key hash does not match the key")
    return key


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The checkpoint note body: origin, size, base64 root, each on its own line."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConfigError("key name: must be non-empty without spaces or '+'", field="name")
