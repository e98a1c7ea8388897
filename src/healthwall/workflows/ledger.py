"""Ledger use cases: open from settings, keygen, verify, checkpoint, proofs, AuditEvent export.

Settings follow the deployment's environment (``HEALTHWALL_DB`` for the database URL,
``HEALTHWALL_PSEUDONYM_KEY`` and ``HEALTHWALL_SIGNING_KEY`` as *references*, ``env:NAME`` or
``file:PATH``); keys are resolved through :func:`healthwall.secrets.resolve_secret` only.
Every output file is written to a temporary file in the same directory and renamed into place.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthwall.errors import ConfigError, InvalidInput, NotFound
from healthwall.ledger import Ledger, VerifyResult, generate_key
from healthwall.ledger.audit_event import audit_events
from healthwall.model.entries import format_utc
from healthwall.secrets import resolve_secret

DEFAULT_DB = "sqlite:///healthwall-ledger.db"


@dataclass(frozen=True)
class LedgerSettings:
    """Where the ledger is and which keys (by reference) it uses."""

    db: str = DEFAULT_DB
    pseudonym_key: str | None = None
    signing_key: str | None = None

    @classmethod
    def from_env(
        cls, db: str | None = None, pseudonym_key: str | None = None, signing_key: str | None = None
    ) -> LedgerSettings:
        """Explicit values first, then ``HEALTHWALL_DB`` / ``_PSEUDONYM_KEY`` / ``_SIGNING_KEY``."""
        return cls(
            db=db or os.environ.get("HEALTHWALL_DB") or DEFAULT_DB,
            pseudonym_key=pseudonym_key or os.environ.get("HEALTHWALL_PSEUDONYM_KEY"),
            signing_key=signing_key or os.environ.get("HEALTHWALL_SIGNING_KEY"),
        )


def open_ledger(settings: LedgerSettings, *, need_pseudonyms: bool = True) -> Ledger:
    """Open the ledger; without ``need_pseudonyms`` a missing pseudonym key is allowed (an
    auditor verifying or proving needs none) and a throwaway key stands in."""
    if settings.pseudonym_key:
        pkey = resolve_secret(settings.pseudonym_key, what="pseudonym_key")
    elif need_pseudonyms:
        raise ConfigError(
            "pseudonym_key: give a reference (env:NAME or file:PATH), or HEALTHWALL_PSEUDONYM_KEY",
            field="pseudonym_key",
        )
    else:
        pkey = secrets.token_bytes(32)
    skey = (
        resolve_secret(settings.signing_key, what="signing_key") if settings.signing_key else None
    )
    return Ledger.open(settings.db, pseudonym_key=pkey, signing_key=skey)


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to a temp file beside ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def keygen(name: str, out: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write a new Ed25519 signer key to ``out`` (mode 0600) and its verifier key to ``out.pub``."""
    pub = out.with_name(out.name + ".pub")
    if not force and (out.exists() or pub.exists()):
        raise InvalidInput(f"key file {out} exists (use --force to replace it)", field="out")
    key = generate_key(name)
    write_atomic(out, (key.private_text() + "\n").encode(), mode=0o600)
    write_atomic(pub, (key.public_text() + "\n").encode(), mode=0o644)
    return out, pub


def verify(settings: LedgerSettings, public_keys: Sequence[Path] = ()) -> VerifyResult:
    """Recompute the whole tree and check every checkpoint; signatures must be by one of the
    given verifier keys (after a rotation, give the earlier ``.pub`` files too) or by the
    configured signing key."""
    keys = [p.read_text(encoding="utf-8").strip() for p in public_keys]
    with open_ledger(settings, need_pseudonyms=False) as ledger:
        return ledger.verify(public_key=keys)


def checkpoint(settings: LedgerSettings) -> str:
    """Sign and store a checkpoint of the current tree; returns the note. A signing key not yet
    recorded (first use, or after a rotation) is first recorded as a ``KeyRotated`` entry."""
    with open_ledger(settings, need_pseudonyms=False) as ledger:
        ledger.record_signing_key()
        return ledger.checkpoint()


def _checkpoint_covering(ledger: Ledger, index: int) -> tuple[int, str]:
    """A signed checkpoint whose tree includes ``index``: a fresh one if we can sign."""
    if ledger.signer is not None:
        note = ledger.checkpoint()
        return int(note.split("\n")[1]), note
    for size, _, note in reversed(ledger.stored_checkpoints()):
        if size > index:
            return size, note
    raise NotFound("no signed checkpoint covers this index yet", field="index")


def proof_bundle(settings: LedgerSettings, index: int, out_dir: Path | None) -> dict[str, Any]:
    """Inclusion proof of ``index`` against a signed checkpoint; with ``out_dir``, write the
    auditor's files ``proof.json``, ``entry.json`` (the exact hashed bytes), ``checkpoint.txt``."""
    with open_ledger(settings, need_pseudonyms=False) as ledger:
        if not 0 <= index < ledger.size():
            raise NotFound(f"ledger entry {index} does not exist", field="index")
        size, note = _checkpoint_covering(ledger, index)
        proof = ledger.inclusion_proof(index, size).to_json()
        entry = ledger.entry_bytes(index)
    if out_dir is not None:
        write_atomic(out_dir / "proof.json", json.dumps(proof, indent=2).encode())
        write_atomic(out_dir / "entry.json", entry)
        write_atomic(out_dir / "checkpoint.txt", note.encode())
    return {"proof": proof, "checkpoint": note}


def consistency_bundle(settings: LedgerSettings, old: int, new: int | None) -> dict[str, Any]:
    """Consistency proof between two tree sizes (default new: the current size)."""
    with open_ledger(settings, need_pseudonyms=False) as ledger:
        return ledger.consistency_proof(old, new).to_json()


def export_audit_events(
    settings: LedgerSettings, out: Path, since: str | None = None, until: str | None = None
) -> int:
    """Write FHIR R4 AuditEvent NDJSON (BALP) for releases and decisions; returns the count."""
    with open_ledger(settings, need_pseudonyms=False) as ledger:
        rows = ledger.find_with_hashes(
            kinds=["released", "decision-made"], since=since, until=until
        )
        origin = ledger.origin
    events = audit_events(
        ((seq, entry) for seq, _, entry in rows),
        origin=origin,
        leaf_hashes={seq: leaf for seq, leaf, _ in rows},
    )
    lines = _ndjson(events)
    write_atomic(out, "".join(lines).encode())
    return len(lines)


def _ndjson(events: Iterable[dict[str, Any]]) -> list[str]:
    return [json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in events]


def utc_bound(value: str | None, *, what: str) -> str | None:
    """A CLI date/time bound (``YYYY-MM-DD`` or ISO 8601) as the ledger's UTC string."""
    if value is None:
        return None
    import datetime as dt

    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{what}: not an ISO 8601 date or time", field=what) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return format_utc(parsed)
