"""``healthwall synth``, ``export-fhir`` and ``ingest`` through Typer, with exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from healthwall.cli.commands import data
from healthwall.cli.main import main
from healthwall.engine import open_store


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    data.register(app)
    return app


def test_synth_export_ingest(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "synth"
    res = runner.invoke(_app(), ["synth", "--patients", "50", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "wrote 50 patients" in res.output
    res = runner.invoke(
        _app(),
        ["export-fhir", str(out / "patients.parquet"), str(out / "claims.parquet"),
         "--out", str(tmp_path / "fhir")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    store = tmp_path / "store.duckdb"
    res = runner.invoke(
        _app(), ["ingest", str(tmp_path / "fhir" / "Patient.ndjson"), "--store", str(store)]
    )
    assert res.exit_code == 0, res.output
    assert "patients: 50 rows added" in res.output
    with open_store(store, read_only=True) as eng:
        assert "patients" in eng.tables()


@pytest.mark.slow  # builds the whole CLI (every area's commands)
def test_bad_input_exits_2_with_a_named_error(tmp_path: Path, capsys: object) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text("{oops\n", encoding="utf-8")
    try:
        main(["ingest", str(bad), "--store", str(tmp_path / "s.duckdb")])
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - main always exits on error
        code = 0
    assert code == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "bad.ndjson: line 1: not valid JSON" in err
