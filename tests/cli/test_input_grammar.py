"""The one input grammar (``PATH`` or ``store:PATH#table``) shared by deid, anonymize and risk."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthwall.errors import InvalidInput
from healthwall.model.inputs import InputFormat, parse_input


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("a.csv", InputFormat.CSV),
        ("dir/a.CSV.gz", InputFormat.CSV),
        ("a.tsv", InputFormat.CSV),
        ("a.parquet", InputFormat.PARQUET),
        ("a.pq", InputFormat.PARQUET),
    ],
)
def test_files_by_suffix(text: str, fmt: InputFormat) -> None:
    ref = parse_input(text)
    assert (ref.fmt, ref.path, ref.table) == (fmt, Path(text), None)


def test_store_table() -> None:
    ref = parse_input("store:/x/custodian.duckdb#main.claims")
    assert ref.fmt is InputFormat.STORE
    assert ref.path == Path("/x/custodian.duckdb")
    assert ref.table_parts() == ["main", "claims"]


@pytest.mark.parametrize("text", ["store:", "store:x.duckdb", "store:#t", "a.json", "a"])
def test_malformed_names_the_form_and_field(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_input(text)
    assert err.value.field == "input"
    assert "store:PATH#table" in err.value.message


@given(st.text(min_size=1))
def test_parse_never_fails_other_than_invalid_input(text: str) -> None:
    try:
        ref = parse_input(text)
    except InvalidInput:
        return
    assert ref.text == text
