"""The ``healthwall`` entry point: exit codes and the no-PHI error contract."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from healthwall.cli import main as cli_main
from healthwall.errors import InvalidInput


def _run(app: typer.Typer, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> int:
    monkeypatch.setattr(cli_main, "build_app", lambda modules=None: app)
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


def _registered_names(module: str) -> set[str]:
    app = cli_main.build_app([module])
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    return {n.replace("_", "-") for n in names} | {g.name or "" for g in app.registered_groups}


def test_command_module_index_matches_what_modules_register() -> None:
    registered = {
        name: module
        for module in cli_main.command_module_names()
        for name in _registered_names(module)
    }
    assert registered == cli_main.COMMAND_MODULES


def test_a_command_run_imports_only_its_module() -> None:
    code = (
        "import sys; from healthwall.cli import main as m;"
        "m.build_app(m.command_module_names(['version']));"
        "print(sorted(k for k in sys.modules if k.startswith('healthwall.cli.commands.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['healthwall.cli.commands.version']"
