"""Golden tests pinning both ZIP3 tables, and the ZIP3 transform applying them in SQL."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from healthwall.deid.sql import CompileContext, Side, compile_extract
from healthwall.deid.zip3 import zip3_table
from healthwall.errors import ConfigError
from healthwall.model.deid import ColumnTreatment, Treatment

CENSUS_2010 = "036 059 102 202 203 204 205 369 556 692 753 772 821 823 878 879 884 893"
HHS_2000 = "036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893"


def test_census_2010_restricted_list_is_pinned() -> None:
    assert " ".join(sorted(zip3_table("census-2010").restricted)) == CENSUS_2010


def test_hhs_2000_restricted_list_is_pinned() -> None:
    assert " ".join(sorted(zip3_table("hhs-2000").restricted)) == HHS_2000


def test_census_table_matches_the_reference_population(shared_data) -> None:  # type: ignore[no-untyped-def]
    ref = shared_data / "zip3_population_2010.csv"
    rows = duckdb.sql(
        f"SELECT zip3, population FROM read_csv('{ref}', types={{'zip3': 'VARCHAR'}})"
    ).fetchall()
    table = zip3_table("census-2010")
    assert table.known == {z for z, _ in rows}
    assert table.restricted == {z for z, n in rows if n <= 20_000}


def test_unknown_table_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="zip table"):
        zip3_table("census-1990")


def _treat(column: str, treatment: Treatment) -> ColumnTreatment:
    return ColumnTreatment(
        column=column,
        role="quasi-identifier",
        kind=None,
        treatment=treatment,
        rule="-",
        citation="",
        reason="",
    )


@pytest.mark.parametrize("name", ["census-2010", "hhs-2000"])
def test_zip3_transform_in_sql(name: str) -> None:
    table = zip3_table(name)
    restricted = sorted(table.restricted)
    absent = sorted({f"{i:03d}" for i in range(1000)} - table.known)
    allowed = sorted(table.allowed)
    values = [z + "12" for z in restricted + absent + allowed] + ["1234", "abcde", " 02139-4307"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (orig VARCHAR, zip VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[v, v] for v in values] + [["null", None]])
    plan = [_treat("orig", Treatment.KEEP), _treat("zip", Treatment.ZIP3)]
    ctx = CompileContext({"orig": "VARCHAR", "zip": "VARCHAR"}, table, date(2026, 1, 1))
    compiled = compile_extract(Side("SELECT * FROM t", ["orig", "zip"]), plan, ctx)
    out = dict(con.execute(compiled.select_sql, compiled.params).fetchall())
    assert len(out) == len(values) + 1
    for z in restricted + absent:
        assert out[z + "12"] == "000"
    for z in allowed:
        assert out[z + "12"] == z
    assert out["1234"] == "000" and out["abcde"] == "000" and out["null"] is None
    assert out[" 02139-4307"] == "021"
