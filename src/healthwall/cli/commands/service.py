"""Service commands: ``serve``, ``demo``, ``apikey create``, ``officer create``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from healthwall.model.codes import RequesterKind
from healthwall.workflows import credentials, demo
from healthwall.workflows.serve import ServeOptions, serve

DB_HELP = "SQLAlchemy URL of the ledger and service database."


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("demo")(demo_command)
    apikey = typer.Typer(help="API keys for requesters (shown once, stored as SHA-256 hashes).")
    apikey.command("create")(apikey_create)
    app.add_typer(apikey, name="apikey")
    officer = typer.Typer(help="Console users: privacy officers and auditors.")
    officer.command("create")(officer_create)
    app.add_typer(officer, name="officer")


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    db: str = typer.Option("sqlite:///healthwall.db", help=DB_HELP),
    store: Path = typer.Option(Path("healthwall-store.duckdb"), help="DuckDB custodian store."),
    jurisdiction: str = typer.Option("US-CA", help="Custodian's jurisdiction (chooses packs)."),
    packs: str | None = typer.Option(None, help="Comma-separated packs overriding the default."),
    workers: int = typer.Option(1, min=1, max=32, help="Worker processes (uvicorn)."),
) -> None:
    """Start the HTTP API and console (OpenAPI at /docs, console at /console/)."""
    serve(ServeOptions(host, port, db, store, jurisdiction, packs, workers=workers))


def demo_command(
    workdir: Path = typer.Option(Path("healthwall-demo"), help="Where the demo's files go."),
    patients: int = typer.Option(2000, min=50, help="Synthetic patients to generate."),
    port: int = typer.Option(8000, help="TCP port of the demo service (0: a free port)."),
    jurisdiction: str = typer.Option("US-CA", help="Jurisdiction of the demo custodian."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Replay, print, stop (for CI)."),
) -> None:
    """Set up synthetic data, the ledger and logins, start the service and replay requests."""
    demo.run(
        demo.DemoOptions(
            workdir=workdir,
            patients=patients,
            port=port,
            jurisdiction=jurisdiction,
            keep_serving=not no_serve,
        ),
        out=sys.stdout,
    )


def apikey_create(
    requester_id: str = typer.Argument(..., help="Requester id (must match requester.id)."),
    name: str = typer.Option(..., help="Requester's name (recorded as the recipient)."),
    kind: RequesterKind = typer.Option(..., help="Requester kind."),
    db: str = typer.Option("sqlite:///healthwall.db", help=DB_HELP),
) -> None:
    """Create an API key for a requester and print it (it is shown only this once)."""
    key = credentials.create_requester_key(db, requester_id, name, kind.value)
    typer.echo(key)


def officer_create(
    user_id: str = typer.Argument(..., help="Sign-in id."),
    name: str = typer.Option(..., help="Display name."),
    auditor: bool = typer.Option(False, "--auditor", help="An auditor (read-only) instead."),
    password_stdin: bool = typer.Option(False, help="Read the password from standard input."),
    db: str = typer.Option("sqlite:///healthwall.db", help=DB_HELP),
) -> None:
    """Create a privacy officer (or auditor) who signs in to the console."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    role = credentials.Role.AUDITOR if auditor else credentials.Role.OFFICER
    credentials.create_console_user(db, user_id, name, role, password)
    typer.echo(f"created {role.value} {user_id}")
