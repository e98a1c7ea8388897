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


def build_app() -> typer.Typer:
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

    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    app = build_app()
    try:
        # With standalone_mode=False click *returns* the code of ``typer.Exit(n)``.
        code = app(args=argv, standalone_mode=False)
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
