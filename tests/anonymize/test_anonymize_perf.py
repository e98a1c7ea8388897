"""The fast paths of anonymize-perf: dense 32-bit roll-ups agree with a plain group-by, and a CSV
parsed once into a temp table gives the same output, in the input's row order, as a streamed one.
Synthetic records only (generated here from fixed seeds)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.deid import hierarchy_builders as hb
from healthwall.deid import histogram
from healthwall.deid.hierarchy import EncodedHierarchy, encode
from healthwall.deid.histogram import Histogram
from healthwall.deid.lattice import NodeTable
from healthwall.model.anonymize import AnonymizeSpec
from healthwall.workflows.anonymize import anonymize

AGES = [str(a) for a in range(40)]
ZIPS = [f"{z:05d}" for z in range(2100, 2140)]
SITES = [f"s{i:02d}" for i in range(30)]


def _encoded() -> list[EncodedHierarchy]:
    return [
        encode(hb.intervals("age", AGES, (5, 10, 20)), AGES),
        encode(hb.digit_mask("zip", ZIPS), ZIPS),
    ]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 39), st.integers(0, 39), st.integers(1, 3)),
        min_size=1,
        max_size=60,
    ),
    age_level=st.integers(0, 3),
    zip_level=st.integers(0, 5),
)
def test_dense_roll_up_matches_a_plain_group_by(
    rows: list[tuple[int, int, int]], age_level: int, zip_level: int
) -> None:
    """Class sizes and labels after a roll-up (dense, compacted or sorted) equal a Counter over
    the generalized labels, for unit-count tables (unweighted bincount) and weighted ones."""
    encoded = _encoded()
    for unit in (True, False):
        counts = np.asarray([1 if unit else n for _, _, n in rows], dtype=np.int64)
        hist = Histogram(
            columns=("age", "zip"),
            values=(AGES, ZIPS),
            codes=np.asarray([(a, z) for a, z, _ in rows], dtype=np.int64),
            counts=counts,
        )
        expected: Counter[tuple[int, int]] = Counter()
        for (a, z, _), n in zip(rows, counts.tolist(), strict=True):
            la = int(encoded[0].up(0, age_level)[encoded[0].level_maps[0][a]])
            lz = int(encoded[1].up(0, zip_level)[encoded[1].level_maps[0][z]])
            expected[(la, lz)] += n
        finest = NodeTable.finest(hist, encoded)
        levels = (age_level, zip_level)
        cols = [finest._mapped(j, enc, levels[j]) for j, enc in enumerate(encoded)]
        radices = [len(enc.labels[levels[j]]) for j, enc in enumerate(encoded)]
        tables = {
            "roll_up": finest.roll_up(levels, encoded, 0),
            "compacted": finest._compacted(levels, cols, radices, 2),
            "sorted": finest._sorted(levels, cols, radices, 2),
        }
        for name, table in tables.items():
            got = Counter(
                {
                    (int(a), int(z)): int(n)
                    for a, z, n in zip(table.column(0), table.column(1), table.counts, strict=True)
                }
            )
            assert got == expected, name


def _records(path: Path, rows: int = 30_000) -> Path:
    rng = np.random.default_rng(11)
    con = duckdb.connect()
    con.register(
        "r",
        {
            "row_no": np.arange(rows),
            "age": rng.choice(AGES, rows),
            "zip": rng.choice(ZIPS, rows),
            "site": rng.choice(SITES, rows),
        },
    )
    con.execute(f"COPY r TO '{path}' (FORMAT csv, HEADER true)")
    hb.intervals("age", AGES, (5, 10, 20)).to_csv(path.parent / "age.csv")
    hb.digit_mask("zip", ZIPS).to_csv(path.parent / "zip.csv")
    hb.grouped("site", SITES, [{s: "any" for s in SITES}]).to_csv(path.parent / "site.csv")
    return path


def test_csv_parsed_once_keeps_row_order_and_matches_streamed_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _records(tmp_path / "records.csv")
    spec = AnonymizeSpec.build(qi=["age", "zip", "site"], k=5, suppression=0.04)
    once = anonymize(str(data), spec, tmp_path, tmp_path / "once.csv")
    monkeypatch.setattr(histogram, "CSV_MATERIALIZE_BYTES", 0)  # stream on every pass
    streamed = anonymize(str(data), spec, tmp_path, tmp_path / "streamed.csv")
    assert once == streamed
    con = duckdb.connect()
    order = [
        r[0]
        for r in con.execute(
            f"SELECT row_no FROM read_csv('{tmp_path / 'once.csv'}', all_varchar = true)"
        ).fetchall()
    ]
    in_input_order = order == [str(i) for i in range(30_000)]
    assert in_input_order  # a bool: a failure shows no row values
    same = con.execute(
        f"SELECT count(*) FROM (SELECT * FROM read_csv('{tmp_path / 'once.csv'}')"
        f" EXCEPT ALL SELECT * FROM read_csv('{tmp_path / 'streamed.csv'}'))"
    ).fetchone()
    assert same == (0,)
