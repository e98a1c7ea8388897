"""``healthwall ledger ...``: keygen, verify, checkpoint, proof, consistency, export.

Thin: parse options, call :mod:`healthwall.workflows.ledger`, render. Keys are given by reference
(``env:NAME`` / ``file:PATH``) through ``--pseudonym-key`` / ``--signing-key`` or the
``HEALTHWALL_PSEUDONYM_KEY`` / ``HEALTHWALL_SIGNING_KEY`` environment variables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from healthwall.workflows import ledger as wf

DB_OPT = typer.Option(None, "--db", envvar="HEALTHWALL_DB", help="Ledger database URL.")
SIGN_OPT = typer.Option(
    None, "--signing-key", envvar="HEALTHWALL_SIGNING_KEY", help="Signing key reference."
)


def _settings(db: str | None, signing_key: str | None = None) -> wf.LedgerSettings:
    return wf.LedgerSettings.from_env(db=db, signing_key=signing_key)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="The tamper-evident disclosure ledger: verify, checkpoints, proofs, export.",
        no_args_is_help=True,
    )

    @group.command()
    def keygen(
        out: Path = typer.Option(..., "--out", help="Signer key file to write (mode 0600)."),
        name: str = typer.Option("healthwall", "--name", help="Key name (the log's origin)."),
        force: bool = typer.Option(False, "--force", help="Replace existing key files."),
    ) -> None:
        """Create an Ed25519 signing key (OUT, 0600) and its verifier key (OUT.pub)."""
        private, public = wf.keygen(name, out, force=force)
        typer.echo(f"signing key: {private}\nverifier key: {public}")

    @group.command()
    def verify(
        db: str | None = DB_OPT,
        signing_key: str | None = SIGN_OPT,
        public_key: Path | None = typer.Option(None, help="Verifier key file for signatures."),
    ) -> None:
        """Recompute the whole tree, check every checkpoint; name the first bad index."""
        result = wf.verify(_settings(db, signing_key), public_key)
        _echo_json(result.to_json())
        if not result.ok:
            raise typer.Exit(7)

    @group.command()
    def checkpoint(db: str | None = DB_OPT, signing_key: str | None = SIGN_OPT) -> None:
        """Sign and store a checkpoint of the current tree; print the signed note."""
        typer.echo(wf.checkpoint(_settings(db, signing_key)), nl=False)

    @group.command()
    def proof(
        index: int = typer.Option(..., "--index", help="Ledger index of the entry."),
        out: Path | None = typer.Option(None, "--out", help="Directory for the auditor files."),
        db: str | None = DB_OPT,
        signing_key: str | None = SIGN_OPT,
    ) -> None:
        """Inclusion proof of one entry against a signed checkpoint."""
        _echo_json(wf.proof_bundle(_settings(db, signing_key), index, out))

    @group.command()
    def consistency(
        old: int = typer.Option(..., "--old", help="Older tree size."),
        new: int | None = typer.Option(None, "--new", help="Newer tree size (default: now)."),
        db: str | None = DB_OPT,
    ) -> None:
        """Consistency proof that the tree of OLD entries is a prefix of NEW."""
        _echo_json(wf.consistency_bundle(_settings(db), old, new))

    @group.command()
    def export(
        out: Path = typer.Option(..., "--out", help="NDJSON file to write."),
        date_from: str | None = typer.Option(None, "--from", help="From (ISO date, UTC)."),
        date_to: str | None = typer.Option(None, "--to", help="Before (ISO date, UTC)."),
        db: str | None = DB_OPT,
    ) -> None:
        """FHIR R4 AuditEvent NDJSON (IHE BALP) of releases and decisions."""
        since = wf.utc_bound(date_from, what="from")
        until = wf.utc_bound(date_to, what="to")
        count = wf.export_audit_events(_settings(db), out, since, until)
        typer.echo(f"{count} AuditEvent resources written to {out}")

    app.add_typer(group, name="ledger")
