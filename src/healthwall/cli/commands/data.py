"""``healthwall synth``, ``healthwall ingest`` and ``healthwall export-fhir``: custodian data in.

Thin: parse the options, call :mod:`healthwall.workflows.synth` / ``ingest``, draw a Rich
progress bar, print a summary (counts only, never row values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

Step = Callable[[str, int, int], None]


@contextmanager
def _progress() -> Iterator[Step]:
    """A Rich progress bar on stderr, driven by (description, done, total) callbacks."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task("starting", total=1)

        def step(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        yield step


def register(app: typer.Typer) -> None:
    @app.command()
    def synth(
        patients: int = typer.Option(1000, "--patients", "-n", help="Number of patients."),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same data)."),
        out: Path = typer.Option(Path("synth"), "--out", help="Output directory."),
    ) -> None:
        """Generate realistic synthetic patients.parquet and claims.parquet (deterministic)."""
        from healthwall.workflows.synth import run_synth

        with _progress() as step:
            result = run_synth(patients, seed, out, step)
        typer.echo(
            f"wrote {result.patients} patients to {result.patients_path} and "
            f"{result.claim_lines} claim lines to {result.claims_path} (seed {result.seed})"
        )

    @app.command()
    def ingest(
        inputs: list[Path] = typer.Argument(..., help="CSV, Parquet, FHIR Bundle JSON or NDJSON."),
        store: Path = typer.Option(..., "--store", help="DuckDB custodian store (created if new)."),
        spec: Path | None = typer.Option(None, "--spec", help="Column roles (YAML or JSON)."),
        table: str | None = typer.Option(None, "--table", help="Target table (default: inferred)."),
        fhir_validation: str = typer.Option(
            "full", "--fhir-validation", help="full (fhir.resources) or structure (fast, bulk)."
        ),
        replace: bool = typer.Option(
            False, "--replace", help="Replace the rows of the tables loaded (default: append)."
        ),
    ) -> None:
        """Load files into the custodian store in one transaction (all or nothing)."""
        from healthwall.workflows.ingest import run_ingest

        with _progress() as step:
            result = run_ingest(inputs, store, spec, table, step, fhir_validation, replace)
        for name, rows in sorted(result.rows.items()):
            typer.echo(f"{name}: {rows} rows added")
        for kind, count in sorted(result.resources.items()):
            typer.echo(f"FHIR {kind}: {count} resources read")

    @app.command("export-fhir")
    def export_fhir(
        patients: Path = typer.Argument(..., help="patients.parquet (or .csv)."),
        claims: Path = typer.Argument(..., help="claims.parquet (or .csv)."),
        out: Path = typer.Option(..., "--out", help="Output directory."),
        bundle: bool = typer.Option(False, "--bundle", help="Also write one Bundle JSON."),
    ) -> None:
        """Write patients and claims as FHIR R4 NDJSON (Patient, Claim), optionally a Bundle."""
        from healthwall.workflows.ingest import export_to_fhir

        for kind, path in export_to_fhir(patients, claims, out, bundle=bundle).items():
            typer.echo(f"{kind}: {path}")
