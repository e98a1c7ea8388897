"""``healthwall aggregate`` and ``healthwall budget``: differentially private counts and budgets.

Thin: parse the options, call :mod:`healthwall.workflows.aggregates`, render JSON or CSV. The
workflow is imported when a command runs, so the rest of the CLI starts without OpenDP.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

from healthwall.errors import InvalidInput


def _default_range(today: date) -> tuple[date, date]:
    """The twelve full calendar months before ``today``'s month."""
    end = date(today.year, today.month, 1)
    start = date(end.year - 1, end.month, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def _write(text: str, out: Path | None) -> None:
    """Print, or write ``out`` atomically (temp file in the same directory, then rename)."""
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _settings(store: Path | None, db: str, pseudonym_key: str | None) -> Any:
    from healthwall.workflows.aggregates import AggregateSettings

    return AggregateSettings(
        store=store or Path("store.duckdb"), ledger_url=db, pseudonym_key=pseudonym_key
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def aggregate(
        template: str = typer.Argument(..., help="Template: patients | diagnosed."),
        by: str = typer.Option(
            ..., "--by", help="Dimensions, e.g. zip3,month or state,quarter,sex."
        ),
        date_from: str | None = typer.Option(
            None, "--from", help="First service date (YYYY-MM-DD)."
        ),
        date_to: str | None = typer.Option(None, "--to", help="Last service date (YYYY-MM-DD)."),
        chapter: str | None = typer.Option(
            None, help="ICD-10 chapter 01..22 (template diagnosed)."
        ),
        requester: str = typer.Option(..., "--requester", help="Requester id (budget owner)."),
        requester_name: str | None = typer.Option(None, help="Requester name (default: the id)."),
        requester_kind: str = typer.Option("public-health", help="Requester kind code."),
        jurisdiction: str | None = typer.Option(None, help="Requester jurisdiction, e.g. US-CA."),
        purpose: str | None = typer.Option(None, help="Purpose code (default from the kind)."),
        epsilon: float | None = typer.Option(None, help="Laplace, pure epsilon-DP."),
        rho: float | None = typer.Option(None, help="Discrete Gaussian, rho-zCDP."),
        max_contributions: int = typer.Option(4, help="Cells one patient may count in (C)."),
        alpha: float = typer.Option(0.05, help="CIs cover the true count with 1 - alpha."),
        suppress_below: int = typer.Option(11, help="Released counts below this are suppressed."),
        store: Path = typer.Option(..., "--store", help="DuckDB custodian store."),
        db: str = typer.Option(..., "--db", help="Ledger database URL (budgets live there)."),
        pseudonym_key: str | None = typer.Option(
            None, envvar="HEALTHWALL_PSEUDONYM_KEY", help="Ledger pseudonym key reference."
        ),
        fmt: str = typer.Option("json", "--format", help="json or csv."),
        out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    ) -> None:
        """Answer a fixed aggregate template with differential privacy, within the budget."""
        from healthwall.workflows import aggregates

        if fmt not in ("json", "csv"):
            raise InvalidInput("--format must be json or csv", field="format")
        start, end = _default_range(datetime.now(UTC).date())
        query: dict[str, Any] = {
            "template": template,
            "by": [d.strip() for d in by.split(",") if d.strip()],
            "date_from": date_from or start.isoformat(),
            "date_to": date_to or end.isoformat(),
            "max_contributions": max_contributions,
            "alpha": alpha,
            "suppress_below": suppress_below,
        }
        if epsilon is None and rho is None:
            epsilon = 0.5
        for name, value in (("epsilon", epsilon), ("rho", rho), ("chapter", chapter)):
            if value is not None:
                query[name] = value
        body: dict[str, Any] = {
            "requester": {
                "id": requester,
                "name": requester_name or requester,
                "kind": requester_kind,
                "jurisdiction": jurisdiction,
            },
            "query": query,
        }
        if purpose is not None:
            body["purpose"] = purpose
        result = aggregates.answer(body, _settings(store, db, pseudonym_key))
        text = aggregates.to_csv(result) if fmt == "csv" else aggregates.to_json(result)
        _write(text, out)

    @app.command()
    def budget(
        db: str = typer.Option(..., "--db", help="Ledger database URL."),
        requester: str | None = typer.Option(None, "--requester", help="Only this requester."),
        grant_epsilon: float | None = typer.Option(None, help="Set this period's epsilon total."),
        grant_rho: float | None = typer.Option(None, help="Set this period's rho total."),
        delta_total: float = typer.Option(1e-5, help="Delta allowance when granting."),
        pseudonym_key: str | None = typer.Option(
            None, envvar="HEALTHWALL_PSEUDONYM_KEY", help="Ledger pseudonym key reference."
        ),
    ) -> None:
        """Show privacy budgets (total, spent, remaining); with --grant-*, set a total."""
        from healthwall.model.aggregate import BudgetMeasure
        from healthwall.workflows import aggregates

        settings = _settings(None, db, pseudonym_key)
        if grant_epsilon is not None or grant_rho is not None:
            if requester is None or (grant_epsilon is not None and grant_rho is not None):
                raise InvalidInput("grant needs --requester and one of --grant-*", field="grant")
            measure = BudgetMeasure.EPSILON if grant_epsilon is not None else BudgetMeasure.RHO
            total = grant_epsilon if grant_epsilon is not None else grant_rho
            assert total is not None
            aggregates.grant_budget(
                settings, requester, measure=measure, total=total, delta_total=delta_total
            )
        rows = [
            {**state.model_dump(mode="json"), "remaining": state.remaining}
            for state in aggregates.budgets(settings, requester)
        ]
        typer.echo(json.dumps(rows, indent=2))
