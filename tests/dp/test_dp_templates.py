"""Templates: contribution bounding on adversarial data, neighbouring datasets, exact counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.dp.release import dense
from healthwall.dp.templates import compile_template, period_keys, zip3_keys
from healthwall.engine import open_store
from healthwall.model.aggregate import AggregateQuery, Period


def _query(by: tuple[str, ...], c: int, **extra: object) -> AggregateQuery:
    return AggregateQuery.parse(
        {
            "template": "patients",
            "by": by,
            "date_from": "2025-01-01",
            "date_to": "2025-12-31",
            "epsilon": 1.0,
            "max_contributions": c,
            **extra,
        }
    )


def _counts(con: duckdb.DuckDBPyConnection, query: AggregateQuery) -> dict[tuple[str, ...], int]:
    compiled = compile_template(query, hash_key="test-key")
    table = con.sql(compiled.sql, params=compiled.params).to_arrow_table()
    width = len(compiled.dimensions)
    keys = zip(*[table.column(f"k{i}").to_pylist() for i in range(width)], strict=True)
    return dict(zip(keys, table.column("n").to_pylist(), strict=True))


def _tables(
    con: duckdb.DuckDBPyConnection,
    patients: list[tuple[str, str]],
    claims: list[tuple[str, date, str]],
) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE patients(patient_id VARCHAR, zip VARCHAR, state VARCHAR,"
        " county VARCHAR, sex VARCHAR, birth_date DATE)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE claims(patient_id VARCHAR, service_date DATE,"
        " dx1 VARCHAR, dx2 VARCHAR, dx3 VARCHAR)"
    )
    if patients:
        con.executemany(
            "INSERT INTO patients VALUES (?, ?, 'NY', 'Kings', 'F', DATE '1980-05-05')", patients
        )
    if claims:
        con.executemany("INSERT INTO claims VALUES (?, ?, ?, NULL, NULL)", claims)


def test_one_patient_with_thousands_of_claims_counts_at_most_c_cells() -> None:
    con = duckdb.connect()
    _tables(con, [("P0", "10001"), ("P1", "10002")], [])
    # the adversarial patient: 5,000 claim lines over every month and many diagnoses
    con.execute(
        """INSERT INTO claims SELECT 'P0', DATE '2025-01-01' + CAST(i % 365 AS INTEGER),
           (['A01', 'C50', 'E11', 'F32', 'I10', 'J18'])[1 + i % 6], NULL, NULL
           FROM range(5000) t(i)"""
    )
    con.execute("INSERT INTO claims VALUES ('P1', DATE '2025-03-03', 'J18', NULL, NULL)")
    for c in (1, 3, 7):
        for by in (("zip3", "month"), ("zip3", "month", "dx_chapter"), ("state", "year")):
            counts = _counts(con, _query(by, c))
            assert all(v in (1, 2) for v in counts.values())  # distinct patients, never claim lines
            total_cells_p0 = sum(counts.values()) - 1  # P1 contributes exactly one cell
            assert total_cells_p0 <= c
            if by == ("state", "year"):
                assert total_cells_p0 == 1


rows = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 11), st.sampled_from(["A01", "E11", "J18", "Z00"])),
    min_size=1,
    max_size=60,
)


@settings(max_examples=25, deadline=None)
@given(claims=rows, c=st.integers(1, 4), victim=st.integers(0, 5))
def test_removing_one_patient_changes_at_most_c_cells_by_one(
    claims: list[tuple[int, int, str]], c: int, victim: int
) -> None:
    """The stated sensitivity holds: neighbours differ by L1 <= C and Linf <= 1."""
    con = duckdb.connect()
    patients = [(f"P{i}", f"{100 + i % 3}01") for i in range(6)]
    lines = [(f"P{p}", date(2025, m + 1, 1), dx) for p, m, dx in claims]
    query = _query(("zip3", "month", "dx_chapter"), c)
    _tables(con, patients, lines)
    full = _counts(con, query)
    _tables(
        con,
        [p for p in patients if p[0] != f"P{victim}"],
        [x for x in lines if x[0] != f"P{victim}"],
    )
    without = _counts(con, query)
    diffs = [full.get(k, 0) - without.get(k, 0) for k in set(full) | set(without)]
    assert all(0 <= d <= 1 for d in diffs)
    assert sum(diffs) <= c


def test_counts_are_distinct_patients_when_c_is_large(small_store: Path) -> None:
    query = _query(("state", "quarter"), 36)
    compiled = compile_template(query, hash_key="k")
    with open_store(small_store, read_only=True) as eng:
        got = eng.query_arrow(compiled.sql, compiled.params)
        naive = eng.query_arrow(
            """SELECT upper(p.state) AS k0, strftime(c.service_date, '%Y') || '-Q' ||
                      CAST(quarter(c.service_date) AS VARCHAR) AS k1,
                      count(DISTINCT c.patient_id) AS n
               FROM claims c JOIN patients p USING (patient_id) GROUP BY ALL"""
        )
    assert got.num_rows == naive.num_rows > 0

    def as_dict(t: pa.Table) -> dict[tuple[str, str], int]:
        cols = (t.column(i).to_pylist() for i in range(3))
        return {(a, b): n for a, b, n in zip(*cols, strict=True)}

    assert as_dict(got) == as_dict(naive)


def test_diagnosed_template_counts_only_its_chapter(small_store: Path) -> None:
    everyone = _query(("state", "year"), 36)
    flu = AggregateQuery.parse({**everyone.model_dump(), "template": "diagnosed", "chapter": "10"})
    with open_store(small_store, read_only=True) as eng:
        a, b = (
            eng.query_arrow(q.sql, q.params)
            for q in (compile_template(everyone, hash_key="k"), compile_template(flu, hash_key="k"))
        )
        j_patients = (
            eng.query_arrow(
                "SELECT count(DISTINCT patient_id) AS n FROM claims WHERE dx1 LIKE 'J%'"
            )
            .column("n")[0]
            .as_py()
        )
    assert sum(b.column("n").to_pylist()) == j_patients < sum(a.column("n").to_pylist())


def test_public_keys_are_filled_with_zero_before_noise() -> None:
    query = _query(("zip3", "month"), 2)
    compiled = compile_template(query, hash_key="k")
    exact = pa.table({"k0": ["100", "999x"], "k1": ["2025-03", "2025-03"], "n": [5, 7]})
    keys, counts = dense(compiled, exact)
    assert len(keys) == len(zip3_keys()) * 12 == len(counts)
    assert counts[keys.index(("100", "2025-03"))] == 5
    assert sum(counts) == 5  # a key outside the public set is dropped, never released


def test_period_keys() -> None:
    assert period_keys(Period.QUARTER, date(2024, 11, 5), date(2025, 2, 1)) == (
        "2024-Q4",
        "2025-Q1",
    )
    assert period_keys(Period.MONTH, date(2024, 12, 31), date(2025, 1, 1)) == ("2024-12", "2025-01")
    assert period_keys(Period.YEAR, date(2023, 6, 1), date(2025, 1, 1)) == ("2023", "2024", "2025")


def test_county_is_a_private_key_set_blocks_are_public() -> None:
    assert not compile_template(_query(("county", "month"), 2), hash_key="k").keys_public
    blocks = compile_template(_query(("state", "year", "dx_block"), 2), hash_key="k")
    assert blocks.keys_public and "J09-J18" in (blocks.public_keys[2] or ())
    assert compile_template(_query(("zip3", "month", "sex"), 2), hash_key="k").keys_public
