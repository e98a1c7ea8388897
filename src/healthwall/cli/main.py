"""Entry point of the ``healthwall`` command.

Commands live in ``healthwall.cli.commands.<module>``; each module's ``register(app)`` adds its
commands. Errors derived from :class:`HealthwallError` print their message (which never carries
patient data) and exit with their own code; anything unexpected prints a generic message with a
correlation id, and the traceback only when ``HEALTHWALL_DEBUG=1``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
import uuid

import typer

from healthwall.cli import commands as _commands
from healthwall.errors import HealthwallError

#: Which module under ``healthwall.cli.commands`` registers each top-level command, so a run
#: imports only the module it needs (start-up time is part of every command's wall time).
#: ``--help`` and unknown names import every module; tests/cli/test_cli_main.py keeps this true.
COMMAND_MODULES: dict[str, str] = {
    "aggregate": "aggregate",
    "budget": "aggregate",
    "anonymize": "anonymize",
    "expert-determination": "anonymize",
    "synth": "data",
    "ingest": "data",
    "export-fhir": "data",
    "deidentify": "deid",
    "verify-safe-harbor": "deid",
    "accounting": "ledger",
    "accounting-suspend": "ledger",
    "transparency": "ledger",
    "ledger": "ledger",
    "decide": "policy",
    "policy": "policy",
    "risk": "risk",
    "serve": "service",
    "demo": "service",
    "apikey": "service",
    "officer": "service",
    "version": "version",
}


def command_module_names(argv: list[str] | None = None) -> list[str]:
    """The command modules a run with these arguments needs (all of them for help or typos)."""
    every = sorted(info.name for info in pkgutil.iter_modules(_commands.__path__))
    first = argv[0] if argv else None
    module = COMMAND_MODULES.get(first) if first else None
    return [module] if module in every else every


def build_app(modules: list[str] | None = None) -> typer.Typer:
    app = typer.Typer(
        name="healthwall",
        help="A firewall for health data: every disclosure decided, minimized and recorded.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """A firewall for health data: every disclosure decided, minimized and recorded."""

    for name in modules if modules is not None else command_module_names():
        module = importlib.import_module(f"{_commands.__name__}.{name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    app = build_app(command_module_names(args))
    try:
        # With standalone_mode=False click *returns* the code of ``typer.Exit(n)``.
        code = app(args=args, standalone_mode=False)
    except HealthwallError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", None)
        if code is None:
            code = getattr(exc, "code", 0)
        sys.exit(code if isinstance(code, int) else 1)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # last line of defence: never echo PHI
        _report_unexpected(exc)
        sys.exit(1)
    if isinstance(code, int) and code != 0:
        sys.exit(code)


def _report_unexpected(exc: BaseException) -> None:
    import click

    if isinstance(exc, click.ClickException):
        exc.show()
        sys.exit(exc.exit_code)
    correlation = uuid.uuid4().hex[:12]
    typer.echo(
        f"error: internal error ({type(exc).__name__}); correlation id {correlation}", err=True
    )
    if os.environ.get("HEALTHWALL_DEBUG") == "1":
        traceback.print_exception(exc)


if __name__ == "__main__":
    main()
