"""``healthwall decide``, ``healthwall policy check`` and ``healthwall policy list``.

Thin: parse, call :mod:`healthwall.workflows.policy_admin` (imported when a command runs, so
other commands do not pay for loading Cedar packs), render JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from healthwall.errors import ConfigError, InvalidInput

JURISDICTION_OPT = typer.Option(
    None, "--jurisdiction", envvar="HEALTHWALL_JURISDICTION", help="Custodian's jurisdiction."
)
PACKS_OPT = typer.Option(None, "--packs", help="Comma-separated packs (overrides --jurisdiction).")


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError:
        raise InvalidInput("cannot read the request file", field="request") from None


def register(app: typer.Typer) -> None:
    policy = typer.Typer(
        help="Policy packs: list them, prove their invariants.", no_args_is_help=True
    )
    app.add_typer(policy, name="policy")

    @app.command()
    def decide(
        request: str = typer.Argument(..., help="Request JSON file ('-' for stdin)."),
        jurisdiction: str | None = JURISDICTION_OPT,
        packs: str | None = PACKS_OPT,
        db: str | None = typer.Option(None, "--db", help="Record in this ledger database (URL)."),
        store: Path | None = typer.Option(None, "--store", help="Custodian store (with --db)."),
        pseudonym_key: str | None = typer.Option(
            None, "--pseudonym-key", envvar="HEALTHWALL_PSEUDONYM_KEY", help="Key reference."
        ),
        signing_key: str | None = typer.Option(
            None, "--signing-key", envvar="HEALTHWALL_SIGNING_KEY", help="Key reference."
        ),
    ) -> None:
        """Decide a record request; print the decision JSON on stdout."""
        from healthwall.workflows import policy_admin as wf  # lazy: keep CLI start-up fast

        decision = wf.decide_request(
            _read(request),
            jurisdiction=jurisdiction,
            packs=packs,
            db=db,
            pseudonym_key=pseudonym_key,
            signing_key=signing_key,
            store=store,
        )
        typer.echo(json.dumps(decision.to_json(), indent=2, ensure_ascii=False))

    @policy.command("check")
    def check(
        sample: int = typer.Option(300, help="Cells also decided by cedarpy as a cross-check."),
        packs: str | None = PACKS_OPT,
    ) -> None:
        """Check the invariants over every combination of the request attributes."""
        from healthwall.workflows import policy_admin as wf

        report = wf.check_invariants(sample=sample, packs=packs)
        typer.echo(
            f"checked {report.combinations:,} combinations over {len(report.sets)} pack sets in"
            f" {report.seconds:.1f} s; outcomes {report.outcomes};"
            f" {report.sampled} cells cross-checked with cedarpy",
            err=True,
        )
        for mismatch in report.mismatches:
            typer.echo(f"MISMATCH {mismatch}", err=True)
        for v in report.violations:
            typer.echo(
                f"VIOLATION {v.invariant} ({v.jurisdiction}): {v.text} -- {v.count} cells;"
                f" counterexample (outcome {v.outcome}, record label {v.label or 'none'},"
                f" confirmed by cedar: {v.confirmed_by_cedar}):",
                err=True,
            )
            typer.echo(json.dumps(v.request, indent=2))
        if not report.ok:
            # A HealthwallError, not typer.Exit: main() runs click with standalone_mode=False,
            # where Exit(n) is returned rather than raised, and the exit code would be lost.
            raise ConfigError(
                f"{len(report.violations)} invariant violation(s),"
                f" {len(report.mismatches)} cedar mismatch(es)",
                field="invariants",
            )
        typer.echo("all invariants hold", err=True)

    @policy.command("list")
    def list_packs() -> None:
        """List the packs, their rules with citations, and jurisdictions."""
        from healthwall.workflows import policy_admin as wf

        typer.echo(json.dumps(wf.pack_listing(), indent=2, ensure_ascii=False))
