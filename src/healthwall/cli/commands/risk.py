"""``healthwall risk``: re-identification risk analysis. Parse, call the workflow, render."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from healthwall.model.risk import RiskReport
from healthwall.workflows import risk as wf


def _columns(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _render(report: RiskReport) -> None:
    data = report.as_dict()
    console = Console()
    head = Table(
        title=f"Re-identification risk ({data['records']} records, {data['classes']} classes)"
    )
    for name in ("attacker", "average", "highest", f"records at risk (> {data['threshold']})"):
        head.add_column(name)
    for who in ("prosecutor", "journalist"):
        row = data[who]
        head.add_row(who, *(f"{row[k]:.6f}" for k in ("average", "highest", "records_at_risk")))
    head.add_row("marketer", f"{data['marketer']['average']:.6f}", "", "")
    console.print(head)
    uniq = data["sample_uniques"]
    console.print(f"sample uniques: {uniq['records']} ({uniq['fraction']:.4%})")
    pop = data["population_uniques"]
    if pop is not None:
        dankar = pop["dankar"]
        console.print(
            f"population uniques (Dankar: {dankar['model']}): {dankar['uniques']:.1f}"
            f" of {pop['population_size']:.0f} ({dankar['fraction']:.4%})"
        )
    if data["attributes"]:
        table = Table(title="Attribute combinations")
        for name in ("columns", "distinction", "separation"):
            table.add_column(name)
        for item in data["attributes"]:
            table.add_row(
                ", ".join(item["columns"]),
                f"{item['distinction']:.6f}",
                f"{item['separation']:.6f}",
            )
        console.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def risk(
        input: str = typer.Argument(..., help="CSV/Parquet file, or store:PATH#table"),
        qi: str = typer.Option(..., "--qi", help="quasi-identifier columns, comma-separated"),
        population_size: float | None = typer.Option(
            None, "--population-size", help="size of the population the data was drawn from"
        ),
        sampling_fraction: float | None = typer.Option(
            None, "--sampling-fraction", help="share of the population in the data, (0, 1]"
        ),
        population: str | None = typer.Option(
            None,
            "--population",
            help="population table the data was drawn from (file or store:PATH#table)",
        ),
        threshold: float = typer.Option(
            wf.DEFAULT_THRESHOLD, "--threshold", help="a record is at risk above this probability"
        ),
        max_combination: int | None = typer.Option(
            None,
            "--max-combination",
            help="largest attribute combination analysed (0: none; default: automatic)",
        ),
        as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    ) -> None:
        """Prosecutor, journalist and marketer risk, uniques, and attribute analysis."""
        request = wf.RiskRequest(
            input=input,
            quasi_identifiers=_columns(qi),
            population_size=population_size,
            sampling_fraction=sampling_fraction,
            threshold=threshold,
            max_combination=max_combination,
            population=population,
        )
        report = wf.analyze(request)
        if as_json:
            typer.echo(json.dumps(report.as_dict(), indent=2))
        else:
            _render(report)
