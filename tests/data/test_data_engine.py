"""The DuckDB engine seam: reading files, atomic writes, transactions, catalog."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from healthwall.engine import FileFormat, open_store
from healthwall.errors import InvalidInput, NotFound


def test_query_execute_and_catalog() -> None:
    with open_store(None) as eng:
        eng.execute("CREATE TABLE t AS SELECT range AS i, range % 3 AS g FROM range(10)")
        assert eng.tables() == ["t"]
        assert eng.columns("t") == ["i", "g"]
        got = eng.query_arrow(
            "SELECT g, count(*) AS n FROM t WHERE i >= ? GROUP BY g ORDER BY g", [3]
        )
        assert got.column("n").to_pylist() == [3, 2, 2]


def test_read_csv_and_parquet_and_copy_roundtrip(tmp_path: Path) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    with open_store(None) as eng:
        view = eng.read(csv)
        assert eng.columns(view) == ["a", "b"]
        out = tmp_path / "sub" / "out.parquet"
        assert eng.copy_to(f"SELECT * FROM {view}", out) == 2
        back = eng.read(out, "back")
        assert eng.query_arrow(f"SELECT a, b FROM {back} ORDER BY a").to_pylist() == [
            {"a": 1, "b": "x"},
            {"a": 2, "b": "y"},
        ]
        assert eng.copy_to(f"SELECT * FROM {back}", tmp_path / "o.csv") == 2
    assert (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()[0] == "a,b"


def test_copy_to_failure_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous")
    with open_store(None) as eng, pytest.raises(duckdb.Error):
        eng.copy_to("SELECT 1/0::INTEGER AS x, error('boom')", out)
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_transaction_rolls_back(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    with open_store(store) as eng:
        eng.execute("CREATE TABLE t (x INTEGER)")
        with pytest.raises(RuntimeError), eng.transaction():
            eng.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("fail")
        assert eng.query_arrow("SELECT count(*) AS n FROM t").column("n")[0].as_py() == 0
    with open_store(store, read_only=True) as eng:
        assert eng.tables() == ["t"]


def test_errors_name_the_file_not_content(tmp_path: Path) -> None:
    with open_store(None) as eng:
        with pytest.raises(NotFound, match=r"missing\.csv"):
            eng.read(tmp_path / "missing.csv")
        with pytest.raises(NotFound):
            eng.columns("nope")
    with pytest.raises(InvalidInput, match="unknown file format"):
        FileFormat.of("x.xlsx")
    with pytest.raises(NotFound):
        open_store(tmp_path / "absent.duckdb", read_only=True)


def test_unreadable_file_is_an_invalid_input_without_content(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"SECRETVALUE not parquet")
    with open_store(None) as eng, pytest.raises(InvalidInput) as err:
        eng.read(bad)
    assert "broken.parquet" in err.value.message
    assert "SECRETVALUE" not in err.value.message
