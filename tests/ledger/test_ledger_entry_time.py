"""An entry's ``at``: the fast path for strings already in the ledger's form changes nothing.

Reference: the full normalization (parse as ISO 8601, convert to UTC, format). For any string,
the entry must accept exactly what the reference accepts, and store exactly what it gives.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from healthwall.model.entries import KeyRotated, format_utc


def _reference(value: str) -> str | None:
    try:
        return format_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _stored(value: str) -> str | None:
    try:
        return KeyRotated(at=value, key_kind="signing", key_id="k").at
    except ValidationError:
        return None


AWARE = st.datetimes(
    min_value=dt.datetime(1000, 1, 1),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.just(dt.UTC),
)
DIGITS = st.text("0123456789", min_size=1, max_size=2)
SHAPED = st.builds(
    "{}-{}-{}T{}:{}:{}.{}Z".format,
    st.text("0123456789", min_size=4, max_size=4),
    DIGITS,
    DIGITS,
    DIGITS,
    DIGITS,
    DIGITS,
    st.text("0123456789", min_size=6, max_size=6),
)


@given(AWARE.map(format_utc) | SHAPED | st.text(max_size=30))
@example("2026-02-29T00:00:00.000000Z")  # not a leap year
@example("2026-02-28T23:59:59.999999Z")
@example("0000-01-01T00:00:00.000000Z")
@example("0999-01-01T00:00:00.000000Z")
@example("2026-01-01T00:00:00.000000+00:00")
@example("٢٠٢٦-01-01T00:00:00.000000Z")  # Arabic-Indic digits
@settings(max_examples=400, deadline=None)
def test_at_normalizes_exactly_as_the_full_parse(value: str) -> None:
    assert _stored(value) == _reference(value)


def test_impossible_day_is_refused() -> None:
    with pytest.raises(ValidationError):
        KeyRotated(at="2026-02-30T00:00:00.000000Z", key_kind="signing", key_id="k")
