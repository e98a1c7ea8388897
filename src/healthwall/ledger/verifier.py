"""A standalone verifier for the healthwall ledger, for an outside auditor.

It imports nothing from healthwall (tests/test_layers.py checks that): only the standard library
and ``cryptography`` for Ed25519. An auditor holding the custodian's public key checks that

* a checkpoint (a C2SP signed note) carries a valid Ed25519 signature of that key;
* an entry (its exact canonical bytes) is included in the tree the checkpoint commits to
  (RFC 9162 section 2.1.3.2), and that its ``seq`` is the index the proof claims;
* optionally, that an older checkpoint's tree is a prefix of the newer one (consistency,
  RFC 9162 section 2.1.4.2).

Usage::

    python -m healthwall.ledger.verifier --checkpoint note.txt --proof proof.json \\
        --entry entry.json --public-key ledger.pub [--old-checkpoint old.txt --consistency c.json]

Exit status 0 and ``OK`` when everything verifies; 1 and ``FAIL: <reason>`` otherwise.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIG_PREFIX = "\u2014 "
ALG_ED25519 = 0x01


class VerificationError(Exception):
    """A proof, signature or checkpoint did not verify."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _shift_until_odd(fn: int, sn: int) -> tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion path implies (RFC 9162 2.1.3.2); raises when it is malformed."""
    if not 0 <= index < size:
        raise VerificationError("inclusion: index outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise VerificationError("inclusion: path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_until_odd(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion: path too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`VerificationError` unless ``leaf`` sits at ``index`` of the tree ``root``."""
    if root_from_inclusion(index, size, leaf, path) != root:
        raise VerificationError("inclusion: root mismatch")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> None:
    """Raise unless the tree ``old_root`` is a prefix of ``new_root`` (RFC 9162 2.1.4.2)."""
    if not 0 <= old_size <= new_size:
        raise VerificationError("consistency: sizes out of order")
    if old_size == new_size:
        if path or old_root != new_root:
            raise VerificationError("consistency: equal sizes need equal roots and no path")
        return
    if old_size == 0:
        if path:
            raise VerificationError("consistency: an empty tree needs no path")
        return
    if not path:
        raise VerificationError("consistency: empty path")
    nodes = list(path)
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise VerificationError("consistency: path too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_until_odd(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise VerificationError("consistency: root mismatch")


@dataclass(frozen=True)
class Checkpoint:
    """The body of a signed checkpoint: origin, tree size, root hash."""

    origin: str
    size: int
    root: bytes


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 verifier key in the signed-note ``name+hash+base64`` form."""

    name: str
    key_hash: bytes
    key: Ed25519PublicKey


def key_hash(name: str, raw_public: bytes) -> bytes:
    """The 4-byte key hash of the signed-note spec: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + raw_public).digest()[:4]


def parse_public_key(text: str) -> PublicKey:
    """Parse a verifier key ``<name>+<hex hash>+<base64(0x01 || key)>``."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise VerificationError("public key: expected name+hash+key")
    name, hash_hex, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
        claimed = bytes.fromhex(hash_hex)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("public key: bad encoding") from exc
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise VerificationError("public key: not an Ed25519 key")
    if key_hash(name, raw[1:]) != claimed:
        raise VerificationError("public key: key hash does not match")
    return PublicKey(name, claimed, Ed25519PublicKey.from_public_bytes(raw[1:]))


def open_note(note: str, key: PublicKey) -> Checkpoint:
    """Verify a signed note's signature by ``key`` and parse its checkpoint body."""
    body, sep, sigs = note.partition("\n\n")
    if not sep or not body:
        raise VerificationError("checkpoint: no signature block")
    text = body + "\n"
    for line in sigs.splitlines():
        if not line.startswith(SIG_PREFIX):
            continue
        name, _, b64 = line[len(SIG_PREFIX) :].rpartition(" ")
        try:
            sig = base64.b64decode(b64, validate=True)
        except binascii.Error:
            continue
        if name != key.name or len(sig) != 68 or sig[:4] != key.key_hash:
            continue
        try:
            key.key.verify(sig[4:], text.encode())
        except InvalidSignature as exc:
            raise VerificationError("checkpoint: bad signature") from exc
        return parse_checkpoint_body(text)
    raise VerificationError("checkpoint: no signature by the given key")


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse ``origin\\nsize\\nbase64(root)\\n`` (extension lines are allowed and ignored)."""
    lines = text.split("\n")
    if len(lines) < 4 or not lines[0] or not lines[1].isdigit():
        raise VerificationError("checkpoint: malformed body")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise VerificationError("checkpoint: bad root encoding") from exc
    if len(root) != 32:
        raise VerificationError("checkpoint: root is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)


def _hashes(values: list[str]) -> list[bytes]:
    try:
        out = [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise VerificationError("proof: hashes must be hex") from exc
    if any(len(h) != 32 for h in out):
        raise VerificationError("proof: hashes must be 32 bytes")
    return out


def verify_entry(checkpoint: Checkpoint, proof: dict[str, object], entry: bytes) -> None:
    """Check an entry's bytes against an inclusion proof and a (verified) checkpoint."""
    index, size = proof.get("index"), proof.get("tree_size")
    path = proof.get("path")
    if not isinstance(index, int) or not isinstance(size, int) or not isinstance(path, list):
        raise VerificationError("proof: needs integer index, tree_size and a path list")
    if size != checkpoint.size:
        raise VerificationError("proof: tree_size differs from the checkpoint's")
    try:
        seq = json.loads(entry).get("seq")
    except (ValueError, AttributeError) as exc:
        raise VerificationError("entry: not a JSON object") from exc
    if seq != index:
        raise VerificationError("entry: its seq differs from the proof's index")
    verify_inclusion(index, size, leaf_hash(entry), _hashes(path), checkpoint.root)


def verify_checkpoints(old: Checkpoint, new: Checkpoint, proof: dict[str, object]) -> None:
    """Check that ``old`` is a prefix of ``new`` with a consistency proof."""
    path = proof.get("path")
    if not isinstance(path, list) or old.origin != new.origin:
        raise VerificationError("consistency: needs a path list and checkpoints of one log")
    if proof.get("old_size") != old.size or proof.get("new_size") != new.size:
        raise VerificationError("consistency: sizes differ from the checkpoints'")
    verify_consistency(old.size, new.size, old.root, new.root, _hashes(path))


def _run(args: argparse.Namespace) -> None:
    if bool(args.proof) != bool(args.entry):
        raise VerificationError("--proof and --entry go together")
    if bool(args.old_checkpoint) != bool(args.consistency):
        raise VerificationError("--old-checkpoint and --consistency go together")
    key = parse_public_key(Path(args.public_key).read_text(encoding="utf-8"))
    checkpoint = open_note(Path(args.checkpoint).read_text(encoding="utf-8"), key)
    if args.proof and args.entry:
        proof = json.loads(Path(args.proof).read_text(encoding="utf-8"))
        verify_entry(checkpoint, proof, Path(args.entry).read_bytes())
    if args.old_checkpoint and args.consistency:
        old = open_note(Path(args.old_checkpoint).read_text(encoding="utf-8"), key)
        verify_checkpoints(old, checkpoint, json.loads(Path(args.consistency).read_text("utf-8")))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="signed note (checkpoint) file")
    parser.add_argument("--public-key", required=True, help="verifier key file (name+hash+key)")
    parser.add_argument("--proof", help="inclusion proof JSON")
    parser.add_argument("--entry", help="the entry's exact canonical bytes")
    parser.add_argument("--old-checkpoint", help="an older signed checkpoint")
    parser.add_argument("--consistency", help="consistency proof JSON from old to new")
    args = parser.parse_args(argv)
    try:
        _run(args)
    except (VerificationError, OSError, ValueError) as exc:
        print(f"FAIL: {exc}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
