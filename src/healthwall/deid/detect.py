"""Identifier-pattern detection: columns that look like identifiers must be declared as such.

Two checks, both before any output exists:

* every input column must be declared in the spec (an undeclared column is an error naming it);
* every column the profile would release unchanged without a declared identifier kind is checked
  by its name and by regular expressions over a sample of its values, counted in one SQL query.
  A hit is :class:`UndeclaredIdentifier` naming the column and the pattern, never the value.
"""

from __future__ import annotations

import re

import duckdb

from healthwall.deid.sql import is_numeric, is_temporal, q
from healthwall.errors import InvalidInput, UndeclaredIdentifier
from healthwall.model.dataset import DatasetSpec
from healthwall.model.deid import ColumnTreatment, Treatment

SAMPLE_ROWS = 50_000
SCAN_ROWS = 1_000_000  # the sample is drawn from the first rows (the verifier reads them all)

#: Value patterns (RE2, partial match) -> (Safe Harbor letter, regex).
PATTERNS: dict[str, tuple[str, str]] = {
    "ssn": ("G", r"(^|[^0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}([^0-9]|$)"),
    "phone": ("D", r"(^|[^0-9])(\+?1[ .-]?)?\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}([^0-9]|$)"),
    "email": ("F", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "url": ("N", r"(?i)((https?|ftp)://|www\.[a-z0-9-]+\.)"),
    "ip": (
        "O",
        r"(^|[^0-9.])([0-9]{1,3}\.){3}[0-9]{1,3}([^0-9.]|$)|([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}",
    ),
    "mrn": ("H", r"(?i)\bMRN\b|medical record|^[A-Z]{1,3}-?[0-9]{6,10}$"),
}

#: "Last, First" anywhere is a name; "First Last" counts only when most values look like it.
NAME_COMMA = r"^[A-Z][a-z]+(-[A-Z][a-z]+)?, [A-Z][a-z]+$"
NAME_PLAIN = r"^[A-Z][a-z]+( [A-Z]\.?)? [A-Z][a-z]+(-[A-Z][a-z]+)?$"
NAME_SHARE = 0.8
NAME_DISTINCT = 0.5

#: Column names that announce an identifier (matched case-insensitively on the whole name).
NAME_HINTS: dict[str, str] = {
    "ssn": r"ssn|social_?security.*",
    "phone": r".*(phone|mobile|cell|telephone|fax).*",
    "email": r".*e_?mail.*",
    "url": r".*(url|website|web_?site|homepage).*",
    "ip": r"ip|ip_?addr(ess)?|.*_ip|ipv[46]",
    "mrn": r"mrn|.*medical_?record.*|.*_mrn",
    "name": r"(first|last|middle|given|family|full|patient|maiden|sur)_?name|name|surname",
    "street": r".*(street|address).*",
    "birth-date": r"dob|.*birth_?(date|day)",
    "health-plan-id": r".*(medicaid|medicare|member|beneficiary|subscriber)_?(id|number|no)",
}


def check_declared(columns: list[str], spec: DatasetSpec, label: str) -> None:
    """Every column of the input must be declared in the spec."""
    missing = [c for c in columns if c not in spec.columns]
    if missing:
        raise InvalidInput(
            f"{label}: column(s) not declared in the spec: {', '.join(missing)}", field=missing[0]
        )


def name_hint(column: str) -> str | None:
    """The identifier kind a column's name announces, if any."""
    lowered = column.lower()
    for kind, pattern in NAME_HINTS.items():
        if re.fullmatch(pattern, lowered):
            return kind
    return None


def _candidates(plan: list[ColumnTreatment]) -> list[str]:
    """Columns released unchanged without a declared identifier kind."""
    return [t.column for t in plan if t.treatment is Treatment.KEEP and t.kind is None]


def _value_aggregates(columns: list[str]) -> list[tuple[str, str, str]]:
    aggs: list[tuple[str, str, str]] = []
    for col in columns:
        v = f"CAST({q(col)} AS VARCHAR)"
        for rule, (_, regex) in PATTERNS.items():
            aggs.append((col, rule, f"count_if(regexp_matches({v}, '{regex}'))"))
        comma = f"count_if(regexp_matches({v}, '{NAME_COMMA}'))"
        plain = f"count_if(regexp_matches({v}, '{NAME_PLAIN}'))"
        share = f"{plain} >= {NAME_SHARE} * count({v})"
        varied = f"approx_count_distinct({v}) >= {NAME_DISTINCT} * count({v})"
        many = f"count({v}) >= 20"
        aggs.append(
            (col, "name", f"{comma} + CASE WHEN {share} AND {varied} AND {many} THEN 1 ELSE 0 END")
        )
    return aggs


def find_undeclared(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    types: dict[str, str],
    plan: list[ColumnTreatment],
) -> list[tuple[str, str]]:
    """(column, pattern) pairs of kept, kind-less columns that look like identifiers."""
    found: list[tuple[str, str]] = []
    columns = _candidates(plan)
    for col in columns:
        hint = name_hint(col)
        if hint is not None:
            found.append((col, f"column name suggests {hint}"))
    text_cols = [c for c in columns if not is_numeric(types[c]) and not is_temporal(types[c])]
    if not text_cols:
        return found
    aggs = _value_aggregates(text_cols)
    projection = ", ".join(q(c) for c in text_cols)
    sampling = f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)"
    head = f"SELECT {projection} FROM ({relation}) LIMIT {SCAN_ROWS}"
    sample = f"SELECT * FROM ({head}) {sampling}"
    sql = f"SELECT {', '.join(agg for _, _, agg in aggs)} FROM ({sample})"
    try:
        row = con.execute(sql).fetchone()
    except duckdb.Error as exc:
        raise InvalidInput(f"input cannot be scanned ({type(exc).__name__})") from None
    assert row is not None
    for (col, rule, _), hits in zip(aggs, row, strict=True):
        if hits:
            found.append((col, f"values match the {rule} pattern"))
    return found


def reject_undeclared(found: list[tuple[str, str]]) -> None:
    """Raise :class:`UndeclaredIdentifier` naming every offending column and pattern."""
    if found:
        detail = "; ".join(f"{col}: {why}" for col, why in found)
        raise UndeclaredIdentifier(
            "column(s) look like identifiers but are not declared as such in the spec"
            f" (declare their kind, or drop them): {detail}",
            field=found[0][0],
        )
