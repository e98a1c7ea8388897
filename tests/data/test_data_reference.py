"""Packaged reference tables: ICD-10-CM hierarchy and labels, ZIP tables, census names."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.data import icd10
from healthwall.data._tables import arrow
from healthwall.data.zip import counties, states, zip3_population, zip5_index, zip5_table
from healthwall.errors import UnknownCode

BILLABLE = sorted(icd10.billable_codes())


@pytest.mark.parametrize(
    ("code", "category", "block", "chapter"),
    [
        ("F11.20", "F11", "F10-F19", "5"),
        ("f1120", "F11", "F10-F19", "5"),
        ("B20", "B20", "B20", "1"),
        ("O09.A0", "O09", "O09", "15"),
        ("Z3A.01", "Z3A", "Z30-Z39", "21"),
        ("U07.1", "U07", "U00-U49", "22"),
        ("C50.911", "C50", "C50", "2"),
    ],
)
def test_hierarchy(code: str, category: str, block: str, chapter: str) -> None:
    assert icd10.category_of(code) == category
    assert icd10.block_of(code) == block
    assert icd10.chapter_of(code) == chapter


def test_unknown_code_is_rejected_without_echoing_it() -> None:
    with pytest.raises(UnknownCode) as err:
        icd10.chapter_of("QQ9.99")
    assert "QQ9" not in err.value.message


def test_tables_are_complete_and_consistent() -> None:
    chapters, blocks, codes = icd10.chapters_table(), icd10.blocks_table(), icd10.codes_table()
    assert chapters.num_rows == 22
    assert set(blocks.column("chapter").to_pylist()) == set(chapters.column("chapter").to_pylist())
    assert set(codes.column("block").to_pylist()) <= set(blocks.column("block").to_pylist())
    assert len(BILLABLE) > 70_000
    assert codes.num_rows == len(set(codes.column("code").to_pylist()))
    assert pacsv.read_csv(icd10.table_file("chapters")).num_rows == 22


@pytest.mark.parametrize(
    ("code", "labels"),
    [
        ("F10.20", {"SUD"}),
        ("F19.20", {"SUD"}),
        ("F09", {"MH"}),
        ("F20.9", {"MH"}),
        ("B20", {"HIV"}),
        ("Z21", {"HIV"}),
        ("O98.72", {"HIV", "REPRO"}),
        ("O00.101", {"REPRO"}),
        ("O9A.111", {"REPRO"}),
        ("Z30.011", {"REPRO"}),
        ("Z3A.20", {"REPRO"}),
        ("N97.9", {"REPRO"}),
        ("A54.00", {"STD"}),
        ("T74.11XA", {"SDV"}),
        ("J45.909", set()),
        ("G20.A1", set()),
    ],
)
def test_labels_of_code(code: str, labels: set[str]) -> None:
    assert set(icd10.labels_of_code(code)) == labels


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BILLABLE))
def test_labels_agree_with_the_hierarchy(code: str) -> None:
    """SUD is exactly block F10-F19; MH exactly the rest of chapter 5 (F01-F99); chapter 15 and
    block Z30-Z39 are always REPRO; no label outside its rule's chapters."""
    labels = icd10.labels_of_code(code)
    chapter, block = icd10.chapter_of(code), icd10.block_of(code)
    assert ("SUD" in labels) == (block == "F10-F19")
    assert ("MH" in labels) == (chapter == "5" and block != "F10-F19")
    if chapter == "15" or block == "Z30-Z39":
        assert "REPRO" in labels
    if "STD" in labels:
        assert block == "A50-A64"
    if labels - {"REPRO", "HIV"} == set() and "HIV" in labels:
        assert icd10.category_of(code) in {"B20", "Z21", "O98", "Z71", "R75"}


def test_sensitivity_labels_joins_sorted() -> None:
    assert icd10.sensitivity_labels(["F11.20", None, "B20"]) == "HIV;SUD"
    assert icd10.sensitivity_labels([None, "J45.909"]) == ""


def test_zip3_population_matches_the_reference(shared_data: Path) -> None:
    pop = zip3_population()
    assert len(pop) == 894
    assert sum(pop.values()) == 312_447_629
    ref = pacsv.read_csv(
        shared_data / "zip3_population_2010.csv",
        convert_options=pacsv.ConvertOptions(column_types={"zip3": "string"}),
    )
    assert (
        dict(zip(ref.column("zip3").to_pylist(), ref.column("population").to_pylist(), strict=True))
        == pop
    )


def test_zip5_table_covers_every_populated_prefix() -> None:
    table = zip5_table()
    assert table.column_names == ["zip", "city", "county", "state", "zip3", "zip_type"]
    assert set(zip3_population()) <= set(table.column("zip3").to_pylist())
    assert all(len(z) == 5 and z.isdigit() for z in table.column("zip").to_pylist())
    assert zip5_index()["10001"] == ("New York", "New York County", "NY")
    assert len(states()) == 52
    assert ("IL", "Cook County") in counties()
    assert len(counties()) > 3000


def test_names_tables() -> None:
    first, last = arrow("names_first.csv.gz"), arrow("names_last.csv.gz")
    assert set(first.column("sex").to_pylist()) == {"F", "M"}
    assert last.column("name")[0].as_py() == "Smith"
