"""``healthwall version``."""

from __future__ import annotations

import typer

import healthwall


def register(app: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print the healthwall version."""
        typer.echo(healthwall.__version__)
