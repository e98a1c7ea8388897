"""The verifier: scan any CSV/Parquet file for identifiers that survived.

Set-based: each checked column is grouped by value (a columnar scan of that column only; a CSV
is loaded once into a temporary table first), then the rules run once per distinct value,
weighted by its count -- regexes over distinct values, not over rows. Findings name the column, the
rule and the Safe Harbor letter, never a value. Two rulesets:

* ``safe-harbor``: identifier patterns (SSN, phone, email, URL, IP, MRN), declared identifier
  columns and name-like columns still present, 5-digit ZIPs, restricted or unknown ZIP3s not
  zeroed, full dates, ages over 89, birth years revealing an age over 89;
* ``limited-data-set``: the direct identifiers only (dates, city and 5-digit ZIP are allowed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from healthwall.deid.detect import PATTERNS, name_hint
from healthwall.deid.limited_data_set import DIRECT
from healthwall.deid.source import Source, connect, describe, file_format
from healthwall.deid.sql import is_numeric, is_temporal, q, zip5_sql
from healthwall.deid.zip3 import zip3_table
from healthwall.errors import ConfigError, InvalidInput, NotFound
from healthwall.model.dataset import SAFE_HARBOR_LETTER, DatasetSpec, IdentifierKind
from healthwall.model.deid import Finding, VerificationResult

K = IdentifierKind
RULESETS = ("safe-harbor", "limited-data-set")
FULL_DATE = (
    r"(^|[^0-9])[0-9]{4}-[01]?[0-9]-[0-3]?[0-9]([^0-9]|$)"
    r"|(^|[^0-9])[01]?[0-9]/[0-3]?[0-9]/([0-9]{2}|[0-9]{4})([^0-9]|$)"
)
#: Kinds Safe Harbor transforms rather than removes (their output is checked by value rules).
_SH_TRANSFORMED = {K.ZIP, K.BIRTH_DATE, K.DATE, K.AGE, K.RECORD_ID, K.STATE, K.PROVIDER_ID}
_ZIP_NAME = r".*(zip|postal).*"
_AGE_NAME = r"(.*_)?age(_.*)?"
_BIRTH_NAME = r"dob|.*birth_?(year|date|day|yr)|year_of_birth"


@dataclass(frozen=True)
class _Check:
    column: str
    rule: str
    letter: str
    cond: str  # a predicate on the column's value that marks it as offending


def _kind(spec: DatasetSpec | None, column: str) -> IdentifierKind | None:
    if spec is None or column not in spec.columns:
        return None
    return spec.columns[column].kind


def _is(column: str, kind: IdentifierKind | None, want: IdentifierKind, pattern: str) -> bool:
    return kind is want or (kind is None and re.fullmatch(pattern, column.lower()) is not None)


def _removed(kind: IdentifierKind | None, ruleset: str) -> str | None:
    """The letter of a declared kind that must not survive under ``ruleset``."""
    if kind is None:
        return None
    if ruleset == "limited-data-set":
        return "LDS " + DIRECT[kind] if kind in DIRECT else None
    if kind in _SH_TRANSFORMED:
        return None
    return SAFE_HARBOR_LETTER.get(kind)


class _Planner:
    def __init__(self, ruleset: str, zip_table: str, reference: date) -> None:
        self.ruleset = ruleset
        self.table = zip3_table(zip_table)
        self.cutoff = reference.year - 90
        self.checks: list[_Check] = []

    def add(self, column: str, rule: str, letter: str, cond: str) -> None:
        self.checks.append(_Check(column, rule, letter, cond))

    def column(self, column: str, typ: str, kind: IdentifierKind | None) -> None:
        ref = q(column)
        letter = _removed(kind, self.ruleset)
        if letter is not None:
            self.add(column, f"declared-{kind}", letter, f"{ref} IS NOT NULL")
        elif kind is None and name_hint(column) == "name":
            self.add(column, "name-column", "A", f"{ref} IS NOT NULL")
        if not is_numeric(typ) and not is_temporal(typ):
            self._patterns(column, ref)
        if self.ruleset == "safe-harbor":
            self._safe_harbor(column, ref, typ, kind)

    def _patterns(self, column: str, ref: str) -> None:
        v = f"CAST({ref} AS VARCHAR)"
        for rule, (letter, regex) in PATTERNS.items():
            self.add(column, rule, letter, f"regexp_matches({v}, '{regex}')")

    def _safe_harbor(self, column: str, ref: str, typ: str, kind: IdentifierKind | None) -> None:
        v = f"CAST({ref} AS VARCHAR)"
        if is_temporal(typ):
            self.add(column, "full-date", "C", f"{ref} IS NOT NULL")
        elif not is_numeric(typ):
            self.add(column, "full-date", "C", f"regexp_matches({v}, '{FULL_DATE}')")
        if _is(column, kind, K.ZIP, _ZIP_NAME):
            self._zip(column, ref, typ)
        if _is(column, kind, K.AGE, _AGE_NAME):
            self.add(column, "age-over-89", "C", f"TRY_CAST({ref} AS DOUBLE) > 89")
        if _is(column, kind, K.BIRTH_DATE, _BIRTH_NAME) and not is_temporal(typ):
            year = f"TRY_CAST({v} AS INTEGER)"
            self.add(column, "birth-year-over-89", "C", f"{year} <= {self.cutoff}")

    def _zip(self, column: str, ref: str, typ: str) -> None:
        self.add(column, "zip5", "B", f"{zip5_sql(ref, typ)} IS NOT NULL")
        if is_numeric(typ):
            z3 = f"lpad(CAST(TRY_CAST({ref} AS BIGINT) AS VARCHAR), 3, '0')"
        else:
            z3 = f"trim(CAST({ref} AS VARCHAR))"
        restricted = ", ".join(f"'{z}'" for z in sorted(self.table.restricted))
        self.add(column, "zip3-restricted", "B", f"{z3} IN ({restricted})")
        shape = f"regexp_full_match({z3}, '[0-9]{{3}}')"
        unknown = f"{shape} AND {z3} <> '000' AND NOT list_contains($known, {z3})"
        self.add(column, "zip3-unknown", "B", f"{unknown}")


def verify_file(
    path: Path,
    *,
    spec: DatasetSpec | None = None,
    ruleset: str = "safe-harbor",
    zip_table: str = "census-2010",
    reference: date | None = None,
) -> VerificationResult:
    """Scan ``path`` (CSV or Parquet) for surviving identifiers under ``ruleset``."""
    if ruleset not in RULESETS:
        raise ConfigError(f"ruleset {ruleset!r} is unknown", field="ruleset")
    if not path.is_file():
        raise NotFound(f"file {path} does not exist", field="path")
    reference = reference or date.today()
    source = Source(path.name, path, file_format(path))
    con, (relation,) = connect(source)
    try:
        types = describe(con, relation, source.label)
        relation = _materialized(con, relation, source)
        planner = _Planner(ruleset, zip_table, reference)
        for column, typ in types.items():
            planner.column(column, typ, _kind(spec, column))
        rows, counts = _run(con, relation, planner, source.label)
    finally:
        con.close()
    findings = [
        Finding(column=c.column, rule=c.rule, letter=c.letter, count=int(n))
        for c, n in zip(planner.checks, counts, strict=True)
        if n
    ]
    return VerificationResult(
        ruleset=ruleset,
        passed=not findings,
        rows=rows,
        columns_checked=len(types),
        reference_date=reference.isoformat(),
        zip_table=zip_table,
        findings=findings,
    )


def _materialized(con: duckdb.DuckDBPyConnection, relation: str, source: Source) -> str:
    """A CSV is parsed once into a temporary table; Parquet is read column by column."""
    if source.fmt != "csv":
        return relation
    try:
        con.execute(f"CREATE TEMP TABLE __hw_file AS {relation}")
    except duckdb.Error as exc:
        raise InvalidInput(f"{source.label}: cannot be read ({type(exc).__name__})") from None
    return "SELECT * FROM __hw_file"


def _column_query(column: str, checks: list[_Check], relation: str, i: int) -> str:
    """One row: for each check on ``column``, how many of its values break it."""
    ref = q(column)
    grouped = f"SELECT {ref}, count(*) AS __hw_n FROM ({relation}) GROUP BY 1"
    aggs = ", ".join(f"sum(__hw_n) FILTER (WHERE {c.cond}) AS c{j}" for j, c in enumerate(checks))
    return f"(SELECT {aggs} FROM ({grouped})) AS t{i}"


def _run(
    con: duckdb.DuckDBPyConnection, relation: str, planner: _Planner, label: str
) -> tuple[int, list[int]]:
    by_column: dict[str, list[_Check]] = {}
    for check in planner.checks:
        by_column.setdefault(check.column, []).append(check)
    parts = [f"(SELECT count(*) FROM ({relation})) AS t"]
    parts += [_column_query(c, cs, relation, i) for i, (c, cs) in enumerate(by_column.items())]
    sql = f"SELECT * FROM {', '.join(parts)}"
    params: dict[str, object] = {}
    if "$known" in sql:
        params["known"] = sorted(planner.table.known)
    try:
        row = con.execute(sql, params).fetchone()
    except duckdb.Error as exc:
        raise InvalidInput(f"{label}: cannot be scanned ({type(exc).__name__})") from None
    assert row is not None
    values = iter(row[1:])
    counts = {id(c): int(next(values) or 0) for cs in by_column.values() for c in cs}
    return int(row[0] or 0), [counts[id(c)] for c in planner.checks]


def describe_findings(result: VerificationResult) -> list[str]:
    """One line per finding: the column, the rule and its letter, never a value."""
    return [
        f"{f.column}: {f.rule} (45 CFR 164.514, {f.letter}) in {f.count} value(s)"
        for f in result.findings
    ]
