"""Keyed pseudonyms: the SQL HMAC equals Python's hmac; tokens are per recipient."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthwall.deid import pseudonym
from healthwall.errors import ConfigError

_CON = duckdb.connect()
ROWS = "(SELECT unnest($vals) AS v, generate_subscripts($vals, 1) AS i)"


def sql_tokens(key: bytes, values: list[str]) -> list[str]:
    params = pseudonym.SqlParams()
    expr = pseudonym.token_sql(key, "v", params)
    sql = f"SELECT {expr} FROM {ROWS} ORDER BY i"
    return [r[0] for r in _CON.execute(sql, {**params.values, "vals": values}).fetchall()]


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=100),
    values=st.lists(st.text(max_size=40), min_size=1, max_size=20),
)
def test_sql_hmac_equals_python_hmac(key: bytes, values: list[str]) -> None:
    # keys longer than the 64-byte block are hashed first, as RFC 2104 says
    values = [v.replace("\x00", "") for v in values]
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:32] for v in values]
    assert sql_tokens(key, values) == expected


@settings(max_examples=40, deadline=None)
@given(
    master=st.binary(min_size=16, max_size=64),
    ids=st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=15, unique=True),
)
def test_tokens_deterministic_within_recipient_and_differ_across(
    master: bytes, ids: list[str]
) -> None:
    ids = [i.replace("\x00", "") or "x" for i in ids]
    ids = list(dict.fromkeys(ids))
    a = pseudonym.recipient_key(master, "clearinghouse-a")
    b = pseudonym.recipient_key(master, "research-b")
    tokens_a = sql_tokens(a, ids)
    assert tokens_a == sql_tokens(a, ids)  # one patient, one token, every run
    assert len(set(tokens_a)) == len(ids)  # distinct patients, distinct tokens
    tokens_b = sql_tokens(b, ids)
    assert set(tokens_a).isdisjoint(tokens_b)  # recipients' tokens do not coincide
    assert all(len(t) == pseudonym.TOKEN_HEX for t in tokens_a)


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=10), n=st.integers(1, 400)
)
def test_sql_shift_equals_reference_and_stays_in_range(ids: list[str], n: int) -> None:
    ids = [i.replace("\x00", "") or "x" for i in ids]
    key = pseudonym.recipient_key(b"k" * 32, "r")
    params = pseudonym.SqlParams()
    expr = pseudonym.shift_days_sql(key, "v", n, params)
    sql = f"SELECT {expr} FROM {ROWS} ORDER BY i"
    got = [r[0] for r in _CON.execute(sql, {**params.values, "vals": ids}).fetchall()]
    assert got == [pseudonym.shift_days(key, i, n) for i in ids]
    assert all(-n <= s <= n for s in got)


def test_key_by_reference_only(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="inline"):
        pseudonym.load_master_key("this-is-an-inline-secret")
    with pytest.raises(ConfigError, match="does not exist"):
        pseudonym.load_master_key(f"file:{tmp_path / 'missing.key'}")
    short = tmp_path / "short.key"
    short.write_bytes(b"short")
    with pytest.raises(ConfigError, match="at least"):
        pseudonym.load_master_key(f"file:{short}")
    monkeypatch.setenv("HW_TEST_KEY", "k" * 20)
    assert pseudonym.load_master_key("env:HW_TEST_KEY") == b"k" * 20
