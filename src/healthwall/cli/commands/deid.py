"""``healthwall deidentify`` and ``verify-safe-harbor``: parse, call a workflow, render."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from healthwall.errors import InvalidInput, Refused
from healthwall.workflows import deidentify as wf


def _reference(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("--reference-date must be YYYY-MM-DD", field="reference_date") from None


def _key_ref(key_file: Path | None, key_env: str | None) -> str | None:
    if key_file is not None and key_env is not None:
        raise InvalidInput("give --key-file or --key-env, not both", field="key")
    if key_file is not None:
        return f"file:{key_file}"
    return f"env:{key_env}" if key_env is not None else None


def register(app: typer.Typer) -> None:
    @app.command()
    def deidentify(
        input: str = typer.Argument(..., help="CSV/Parquet file, or store:PATH#table"),
        out: Path = typer.Option(..., "--out", help="output file (.parquet or .csv)"),
        profile: str = typer.Option("safe-harbor", help="safe-harbor, limited-data-set or expert"),
        recipient: str | None = typer.Option(
            None, help="recipient name (pseudonyms per recipient)"
        ),
        key_file: Path | None = typer.Option(None, help="file holding the master pseudonym key"),
        key_env: str | None = typer.Option(
            None, help="environment variable holding the master key"
        ),
        report: Path | None = typer.Option(
            None, help="report file (.json or .html; both are written)"
        ),
        spec: Path | None = typer.Option(
            None, help="column roles (YAML/JSON), over the known schema"
        ),
        zip_table: str = typer.Option("census-2010", help="census-2010 or hhs-2000"),
        join_patients: str | None = typer.Option(
            None, help="patients file/table joined on the patient key"
        ),
        date_shift_days: int | None = typer.Option(
            None, help="limited data set: shift dates within +-N days"
        ),
        reference_date: str | None = typer.Option(
            None, help="date at which ages are computed (default today)"
        ),
        max_risk: float | None = typer.Option(
            None, help="expert: highest prosecutor risk (default 0.05; 0.09 under a DUA)"
        ),
        suppression: float | None = typer.Option(
            None, help="expert: largest fraction of patients suppressed (default 0.04)"
        ),
        k: int | None = typer.Option(None, "--k", help="expert: also k-anonymity (risk <= 1/k)"),
        hierarchies: Path | None = typer.Option(
            None, help="expert: directory of ARX hierarchy CSVs (else built from kinds)"
        ),
    ) -> None:
        """De-identify a file or store table into a Parquet/CSV extract with a report."""
        request = wf.DeidRequest(
            input=input,
            output=out,
            profile=profile,
            recipient=recipient,
            key_ref=_key_ref(key_file, key_env),
            report=report,
            spec=spec,
            zip_table=zip_table,
            join_patients=join_patients,
            date_shift_days=date_shift_days,
            reference_date=_reference(reference_date),
            max_risk=max_risk,
            suppression=suppression,
            k=k,
            hierarchies=hierarchies,
        )
        console = Console(stderr=True)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("starting", total=None)
            result = wf.deidentify(
                request, progress=lambda step: bar.update(task, description=step)
            )
        typer.echo(
            f"{result.profile}: {result.rows_in} rows -> {result.rows_out} rows in {out} "
            f"({len(result.columns)} columns, verification passed)"
        )
        if result.expert is not None:
            e = result.expert
            levels = ", ".join(f"{q}={lv}" for q, lv in zip(e["qi"], e["levels"], strict=True))
            typer.echo(
                f"levels: {levels}; highest risk {e['risk_before']['prosecutor_highest']:.4g}"
                f" -> {e['risk_after']['prosecutor_highest']:.4g} (threshold {e['threshold']:g});"
                f" {e['suppressed']} {e['risk_unit']} suppressed"
            )

    @app.command("verify-safe-harbor")
    def verify_safe_harbor(
        file: Path = typer.Argument(..., help="CSV or Parquet file to scan"),
        spec: Path | None = typer.Option(
            None, help="column roles (YAML/JSON) to know declared columns"
        ),
        zip_table: str = typer.Option("census-2010", help="census-2010 or hhs-2000"),
        reference_date: str | None = typer.Option(None, help="date at which ages are computed"),
        limited_data_set: bool = typer.Option(False, help="check only the 16 direct identifiers"),
    ) -> None:
        """Scan a file for surviving identifiers; exit non-zero naming column and rule."""
        ruleset = "limited-data-set" if limited_data_set else "safe-harbor"
        result = wf.verify(file, spec, ruleset, zip_table, _reference(reference_date))
        if not result.passed:
            for line in wf.describe_findings(result):
                typer.echo(line, err=True)
            raise Refused(f"{file.name}: {len(result.findings)} surviving identifier finding(s)")
        typer.echo(f"{file.name}: {result.rows} rows, {result.columns_checked} columns: passed")
