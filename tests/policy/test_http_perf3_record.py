"""What the writer's transaction records is unchanged by the http-perf-3 shortcuts: the sorted
JSON behind both digests is byte for byte ``json.dumps``'s (orjson only where they agree), and a
recorded request's digest, stored request, recipient and content digest are what the original
formulas give."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_fixtures import PATIENTS, build_store, request
from sqlalchemy import select

from healthwall.engine.duckdb import DuckDBEngine
from healthwall.ledger.log import Ledger
from healthwall.model.entries import Released, RequestReceived
from healthwall.model.request import parse_request
from healthwall.workflows import release
from healthwall.workflows.gateway import Gateway, GatewaySettings
from healthwall.workflows.recording import request_digest, without_identifiers
from healthwall.workflows.release import content_digest, sorted_json
from healthwall.workflows.sweep import requests_table

KEY = b"k" * 32

_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),  # anything, incl. controls, DEL and non-ASCII
        st.sampled_from("azAZ09 -_/.:@"),
    ),
    max_size=12,
)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits too
    st.floats(allow_nan=False),
    _TEXT,
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(value=_JSON)
def test_sorted_json_is_byte_for_byte_json_dumps(value: Any) -> None:
    for ascii_only in (True, False):
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ascii_only)
        assert sorted_json(value, ensure_ascii=ascii_only) == expected.encode()


def test_sorted_json_refuses_what_json_refuses() -> None:
    for value in ({"when": dt.date(2020, 1, 2)}, {1: "a", "b": 2}):
        with pytest.raises(TypeError):
            json.dumps(value, sort_keys=True)
        with pytest.raises(TypeError):
            sorted_json(value)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[DuckDBEngine]:
    engine = build_store(tmp_path / "custodian.duckdb")
    yield engine
    engine.close()


def test_recorded_request_matches_the_original_formulas(
    tmp_path: Path, store: DuckDBEngine
) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", pseudonym_key=KEY)
    try:
        gw = Gateway(ledger, store, GatewaySettings("US-TX"))
        mrn = str(PATIENTS[0][1])
        body = request(
            requester={"id": "pd-\u00e9", "name": "Polic\u00eda \u00e9", "kind": "law-enforcement"},
            legal_basis={"instrument": "judicial-warrant", "reference": "W-\u00e9"},
            scope={"kind": "single-patient", "patient": {"mrn": mrn}},
            elements=["name", "diagnoses"],
        )
        req = parse_request(body)
        disclosure = gw.submit_release(req)
        assert disclosure.decision.decision.value == "permit" and disclosure.content
        request_id = disclosure.decision.request_id
        old_digest = hashlib.sha256(
            json.dumps(req.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        old_content = hashlib.sha256(
            json.dumps(
                disclosure.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        ).hexdigest()
        assert request_digest(req) == old_digest
        assert content_digest(disclosure.content) == old_content
        entries = [e for _, e in ledger.entries()]
        received = [e for e in entries if isinstance(e, RequestReceived)]
        released = [e for e in entries if isinstance(e, Released)]
        assert [e.request_digest for e in received] == [old_digest]
        assert [e.content_digest for e in released] == [old_content]
        with ledger.engine.connect() as conn:
            row = conn.execute(
                select(requests_table).where(requests_table.c.request_id == request_id)
            ).one()
        assert json.loads(row.request) == without_identifiers(req, request_id)
        assert "patient" not in json.loads(row.request)["scope"]
        assert mrn not in row.request
        assert json.loads(row.recipient) == {"name": "Polic\u00eda \u00e9", "address": None}
        assert bool(row.accountable) is released[0].accountable
        assert json.loads(row.decision) == disclosure.decision.to_json()
        assert disclosure.decision_json == disclosure.decision.model_dump_json().encode()
        assert row.decision == disclosure.decision.model_dump_json()
    finally:
        ledger.close()


def test_non_finite_store_values_are_released_as_null() -> None:
    """A NaN from a DOUBLE column is null in the content, so the answer (which cannot carry NaN)
    and the content digest recorded in the ledger describe the same value."""
    assert release._plain(float("nan")) is None
    assert release._plain(float("-inf")) is None
    assert release._plain(1.5) == 1.5
    assert release.content_digest({"x": release._plain(float("nan"))}) == release.content_digest(
        {"x": None}
    )
