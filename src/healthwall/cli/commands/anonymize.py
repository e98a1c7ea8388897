"""``healthwall anonymize``: optimal generalization under k / l / t / risk models (ARX-style).

Thin: parse the options into an :class:`AnonymizeSpec`, call
:func:`healthwall.workflows.anonymize.anonymize`, render JSON or a short text summary. The
workflow (numpy, DuckDB) is imported only when the command runs, so the CLI starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def _render(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary, indent=2, sort_keys=False))
        return
    levels = ", ".join(f"{q}={lv}" for q, lv in zip(summary["qi"], summary["levels"], strict=True))
    typer.echo(f"levels: {levels}")
    typer.echo(f"score ({summary['metric']}): {summary['score']}")
    typer.echo(
        f"suppressed: {summary['suppressed']} of {summary['records']} records;"
        f" classes: {summary['classes']}"
    )
    before, after = summary["risk_before"], summary["risk_after"]
    typer.echo(
        "prosecutor risk (average / highest): "
        f"before {before['prosecutor_average']:.4f} / {before['prosecutor_highest']:.4f}, "
        f"after {after['prosecutor_average']:.4f} / {after['prosecutor_highest']:.4f}"
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def anonymize(
        input_path: str = typer.Argument(
            ..., metavar="INPUT", help="CSV (; or , detected), Parquet, or store:PATH#table."
        ),
        qi: str = typer.Option(..., "--qi", help="Quasi-identifiers, comma-separated."),
        sensitive: str | None = typer.Option(None, help="Sensitive attribute (l / t models)."),
        hierarchies: Path = typer.Option(..., help="Directory of ARX hierarchy CSVs."),
        k: int | None = typer.Option(None, "--k", help="k-anonymity."),
        l_diversity: str | None = typer.Option(None, help="distinct:L | entropy:L | recursive:C,L"),
        t_closeness: str | None = typer.Option(
            None, help="T[:equal|hierarchical|ordered] (default equal)."
        ),
        max_risk: float | None = typer.Option(None, help="Highest prosecutor risk."),
        avg_risk: float | None = typer.Option(None, help="Average prosecutor risk."),
        k_map: int | None = typer.Option(None, help="k-map against a population table."),
        population: str | None = typer.Option(
            None, help="Population table for k-map: zip3[:COLUMN] (ZIP column, default zip)."
        ),
        suppression: float = typer.Option(0.0, help="Record suppression limit (fraction)."),
        metric: str = typer.Option(
            "entropy", help="entropy | loss | discernibility | aecs | precision | height"
        ),
        gs_factor: float = typer.Option(0.5, help="Generalization/suppression factor (ARX)."),
        local_recoding: bool = typer.Option(
            False, help="Re-anonymize suppressed records to cut suppression."
        ),
        out: Path | None = typer.Option(None, "--out", help="Output .csv or .parquet."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Generalize quasi-identifiers optimally until the privacy models hold, or refuse."""
        from healthwall.model.anonymize import AnonymizeSpec
        from healthwall.workflows.anonymize import anonymize as run

        spec = AnonymizeSpec.build(
            qi=qi.split(","),
            sensitive=sensitive,
            k=k,
            l_diversity=l_diversity,
            t_closeness=t_closeness,
            max_risk=max_risk,
            avg_risk=avg_risk,
            k_map=k_map,
            population=population,
            suppression=suppression,
            metric=metric,
            gs_factor=gs_factor,
            local_recoding=local_recoding,
        )
        _render(run(input_path, spec, hierarchies, out), as_json)

    @app.command("expert-determination")
    def expert_determination(
        input_path: str = typer.Argument(
            ..., metavar="INPUT", help="CSV (; or , detected), Parquet, or store:PATH#table."
        ),
        out: Path = typer.Option(..., "--out", help="Output .csv or .parquet."),
        spec: Path | None = typer.Option(
            None, help="Column roles (YAML/JSON), over the known custodian schema."
        ),
        max_risk: float = typer.Option(
            0.05, help="Highest prosecutor risk (0.05 public, 0.09 under a DUA)."
        ),
        suppression: float = typer.Option(0.04, help="Record suppression limit (fraction)."),
        hierarchies: Path | None = typer.Option(
            None, help="ARX hierarchy CSVs; columns without one are built from their kind."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Safe Harbor for direct identifiers, then generalize quasi-identifiers to a risk."""
        from healthwall.model.dataset import DatasetSpec, default_spec
        from healthwall.workflows.anonymize import expert_determination as run

        roles = default_spec().merged(DatasetSpec.load(spec)) if spec else default_spec()
        summary = run(
            input_path,
            out,
            dataset_spec=roles,
            threshold=max_risk,
            suppression=suppression,
            hierarchy_dir=hierarchies,
        )
        _render(summary, as_json)
