"""``healthwall ledger ...``, ``healthwall accounting``, ``healthwall transparency``.

``ledger``: keygen, verify, checkpoint, proof, consistency, export (FHIR AuditEvent NDJSON).
``accounting``: a patient's accounting of disclosures (164.528) and request deadlines;
``accounting-suspend``: record an agency's suspension. ``transparency``: the public report.

Thin: parse options, call :mod:`healthwall.workflows.ledger`, render. Keys are given by reference
(``env:NAME`` / ``file:PATH``) through ``--pseudonym-key`` / ``--signing-key`` or the
``HEALTHWALL_PSEUDONYM_KEY`` / ``HEALTHWALL_SIGNING_KEY`` environment variables.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer

from healthwall.errors import IntegrityError, InvalidInput
from healthwall.workflows import accounting as acc_wf
from healthwall.workflows import ledger as wf

DB_OPT = typer.Option(None, "--db", envvar="HEALTHWALL_DB", help="Ledger database URL.")
PKEY_OPT = typer.Option(
    None, "--pseudonym-key", envvar="HEALTHWALL_PSEUDONYM_KEY", help="Pseudonym key reference."
)
SIGN_OPT = typer.Option(
    None, "--signing-key", envvar="HEALTHWALL_SIGNING_KEY", help="Signing key reference."
)


def _settings(db: str | None, signing_key: str | None = None) -> wf.LedgerSettings:
    return wf.LedgerSettings.from_env(db=db, signing_key=signing_key)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def _date(value: str | None, what: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{what}: not a date (YYYY-MM-DD)", field=what) from exc


def _echo(data: object) -> None:
    typer.echo(json.dumps(data, indent=2))


def register(app: typer.Typer) -> None:
    _register_ledger(app)
    _register_accounting(app)
    _register_transparency(app)


def _register_accounting(app: typer.Typer) -> None:
    @app.command()
    def accounting(
        patient: str | None = typer.Option(None, "--patient", help="Patient id."),
        date_from: str | None = typer.Option(None, "--from", help="First date (YYYY-MM-DD)."),
        date_to: str | None = typer.Option(None, "--to", help="Last date (YYYY-MM-DD)."),
        html: Path | None = typer.Option(None, "--html", help="Write a printable HTML page."),
        out: Path | None = typer.Option(None, "--json", help="Write the JSON to a file."),
        record_request: bool = typer.Option(
            False, "--record-request", help="Record the patient's request (due in 60 days)."
        ),
        deliver: bool = typer.Option(
            False, "--deliver", help="Mark the patient's open requests as answered."
        ),
        open_list: bool = typer.Option(False, "--open", help="List open/overdue requests."),
        extend: str | None = typer.Option(None, "--extend", help="Extend request ID by 30 days."),
        reason: str | None = typer.Option(None, "--reason", help="Written reason (--extend)."),
        custodian: str = typer.Option("healthwall", help="Custodian name on the HTML page."),
        db: str | None = DB_OPT,
        pseudonym_key: str | None = PKEY_OPT,
    ) -> None:
        """A patient's accounting of disclosures, and the 60 (+30) day request deadlines."""
        settings = wf.LedgerSettings.from_env(db=db, pseudonym_key=pseudonym_key)
        with wf.open_ledger(settings) as ledger:
            if open_list:
                _echo([r.to_json() for r in acc_wf.open_requests(ledger)])
                return
            if extend is not None:
                if not reason:
                    raise InvalidInput("--reason: an extension needs a written reason")
                _echo(acc_wf.extend_request(ledger, extend, reason).to_json())
                return
            if patient is None:
                raise InvalidInput("--patient: required", field="patient")
            if record_request:
                entry, receipt = acc_wf.record_request(ledger, patient)
                _echo({**entry.to_json(), "ledger_index": receipt.index})
                return
            result = acc_wf.accounting_for(
                ledger, patient, _date(date_from, "from"), _date(date_to, "to")
            )
            acc_wf.write_accounting(result, json_path=out, html_path=html, custodian=custodian)
            if deliver:
                acc_wf.mark_provided(ledger, patient, result)
            if out is None:
                _echo(result.to_json())

    @app.command("accounting-suspend")
    def accounting_suspend(
        patient: str = typer.Option(..., "--patient", help="Patient id."),
        agency: str = typer.Option(..., "--agency", help="Agency asking for the suspension."),
        form: str = typer.Option(..., "--form", help="written | oral (oral: at most 30 days)."),
        start: str = typer.Option(..., "--start", help="First day (YYYY-MM-DD)."),
        end: str = typer.Option(..., "--end", help="Last day (YYYY-MM-DD)."),
        statement_ref: str = typer.Option("", "--statement", help="Reference to the statement."),
        db: str | None = DB_OPT,
        pseudonym_key: str | None = PKEY_OPT,
    ) -> None:
        """Record an agency's suspension of a patient's accounting (164.528(a)(2))."""
        first, last = _date(start, "start"), _date(end, "end")
        assert first is not None and last is not None
        settings = wf.LedgerSettings.from_env(db=db, pseudonym_key=pseudonym_key)
        with wf.open_ledger(settings) as ledger:
            receipt = acc_wf.suspend(
                ledger,
                patient,
                agency=agency,
                form=form,
                start=first,
                end=last,
                statement_ref=statement_ref,
            )
        typer.echo(f"suspension recorded at ledger index {receipt.index}")


def _register_transparency(app: typer.Typer) -> None:
    @app.command()
    def transparency(
        date_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
        date_to: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD)."),
        out: Path = typer.Option(..., "--out", help="Directory for HTML, JSON and PNG charts."),
        charts: bool = typer.Option(True, "--charts/--no-charts", help="Render PNG charts."),
        db: str | None = DB_OPT,
    ) -> None:
        """The public transparency report (counts under 11 suppressed)."""
        from healthwall.workflows import transparency as tr

        first, last = _date(date_from, "from"), _date(date_to, "to")
        assert first is not None and last is not None
        with wf.open_ledger(_settings(db), need_pseudonyms=False) as ledger:
            report = tr.build_report(ledger, first, last)
        paths = tr.write_report(report, out, charts=charts)
        typer.echo(f"transparency report: {len(paths)} files written to {out}")


def _register_ledger(app: typer.Typer) -> None:
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
        public_key: list[Path] = typer.Option(
            [], "--public-key", help="Verifier key file(s); repeat for earlier keys."
        ),
    ) -> None:
        """Recompute the whole tree, check every checkpoint; name the first bad index."""
        result = wf.verify(_settings(db, signing_key), public_key)
        _echo_json(result.to_json())
        if not result.ok:
            raise IntegrityError(
                f"ledger verification failed at index {result.first_bad_index}: {result.reason}"
            )

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
