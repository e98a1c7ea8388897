"""The ``healthwall`` entry point: exit codes and the no-PHI error contract."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from healthwall.cli import main as cli_main
from healthwall.errors import InvalidInput


def _run(app: typer.Typer, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> int:
    monkeypatch.setattr(cli_main, "build_app", lambda: app)
    with pytest.raises(SystemExit) as exc:
        cli_main.main(args)
        raise SystemExit(0)
    return int(exc.value.code or 0)


def test_typer_exit_code_is_propagated(monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()

    @app.command()
    def fail() -> None:
        raise typer.Exit(3)

    @app.command()
    def ok() -> None:
        pass

    assert _run(app, monkeypatch, ["fail"]) == 3
    assert _run(app, monkeypatch, ["ok"]) == 0


def test_healthwall_error_prints_message_and_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = typer.Typer()

    @app.command()
    def bad() -> None:
        raise InvalidInput("column 'x' is not declared", field="x")

    @app.command()
    def other() -> None:
        pass

    assert _run(app, monkeypatch, ["bad"]) == InvalidInput.exit_code
    assert "column 'x' is not declared" in capsys.readouterr().err


def test_unexpected_error_is_generic(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise ValueError("SSN 900-12-3456 leaked")

    @app.command()
    def other() -> None:
        pass

    assert _run(app, monkeypatch, ["boom"]) == 1
    err = capsys.readouterr().err
    assert "correlation id" in err
    assert "900-12-3456" not in err


def test_every_command_group_registers() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "healthwall.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("synth", "ingest", "deidentify", "anonymize", "risk", "decide", "ledger"):
        assert command in out
