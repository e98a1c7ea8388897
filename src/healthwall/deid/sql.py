"""Compile a plan of column treatments into ONE DuckDB statement (and one count query).

The extract is a single ``SELECT`` over the source relation ``src``: keyed tokens (and date
shifts) are computed once per distinct patient key in a ``tok`` CTE and joined back, ZIP3
prefixes are checked by joining a one-column table of the allowed prefixes (a hash join is an
order of magnitude faster than an 880-item ``IN`` list). Keys and the prefix list travel as
parameters, never in the SQL text. The count query applies the same expressions to the input to
tell how many values each treatment changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from healthwall.deid.pseudonym import SqlParams, shift_days_sql, token_sql
from healthwall.deid.zip3 import Zip3Table
from healthwall.errors import ConfigError
from healthwall.model.deid import ColumnTreatment, Treatment

T = Treatment
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip
_ZIP5_RE = "^([0-9]{5})(-?[0-9]{4})?$"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A quoted SQL string literal (paths and labels only, never data values)."""
    return "'" + text.replace("'", "''") + "'"


def is_numeric(sql_type: str) -> bool:
    return sql_type.upper().startswith(_NUMERIC)


def is_temporal(sql_type: str) -> bool:
    return sql_type.upper().startswith(("DATE", "TIMESTAMP"))


def date_sql(ref: str, sql_type: str) -> str:
    """A DATE from a DATE/TIMESTAMP, an ISO or US text date, or a YYYYMMDD number."""
    if is_temporal(sql_type):
        return f"CAST({ref} AS DATE)"
    if is_numeric(sql_type):
        return f"CAST(try_strptime(CAST(TRY_CAST({ref} AS BIGINT) AS VARCHAR), '%Y%m%d') AS DATE)"
    text = f"trim(CAST({ref} AS VARCHAR))"
    return (
        f"coalesce(TRY_CAST({text} AS DATE), CAST(TRY_CAST({text} AS TIMESTAMP) AS DATE),"
        f" CAST(try_strptime({text}, '%m/%d/%Y') AS DATE))"
    )


def year_sql(ref: str, sql_type: str) -> str:
    """The year of a date column; a number between 1000 and 9999 is taken as a year already."""
    if is_numeric(sql_type):
        as_year = f"CASE WHEN {ref} BETWEEN 1000 AND 9999 THEN CAST({ref} AS INTEGER) END"
        return f"coalesce({as_year}, CAST(year({date_sql(ref, sql_type)}) AS INTEGER))"
    return f"CAST(year({date_sql(ref, sql_type)}) AS INTEGER)"


def zip5_sql(ref: str, sql_type: str) -> str:
    """The normalized 5-digit ZIP, or NULL when the value is not a ZIP or ZIP+4."""
    if is_numeric(sql_type):
        digits = f"CAST(TRY_CAST({ref} AS BIGINT) AS VARCHAR)"
        in_range = f"TRY_CAST({ref} AS BIGINT) BETWEEN 0 AND 99999"
        return f"CASE WHEN {in_range} THEN lpad({digits}, 5, '0') END"
    return f"NULLIF(regexp_extract(trim(CAST({ref} AS VARCHAR)), '{_ZIP5_RE}', 1), '')"


def age_sql(ref: str) -> str:
    """Ages as text with everything over 89 aggregated into ``90+``."""
    num = f"TRY_CAST({ref} AS DOUBLE)"
    return (
        f"CASE WHEN {num} IS NULL THEN NULL WHEN {num} > 89 THEN '90+'"
        f" ELSE CAST(CAST(floor({num}) AS INTEGER) AS VARCHAR) END"
    )


@dataclass(frozen=True)
class CompileContext:
    """Everything the compiler needs besides the plan."""

    types: dict[str, str]  # column -> DuckDB type of the source
    zip_table: Zip3Table
    reference_date: date
    key: bytes | None = None  # recipient key: tokens and date shifts
    patient_key: str | None = None
    date_shift_days: int | None = None


@dataclass
class Compiled:
    """The extract SELECT, the count query, and their parameters."""

    select_sql: str
    count_sql: str
    params: dict[str, object]
    count_params: dict[str, object]
    count_columns: list[tuple[str, str]] = field(default_factory=list)  # (column, measure)


class _Builder:
    def __init__(self, ctx: CompileContext) -> None:
        self.ctx = ctx
        self.params = SqlParams()
        self.selects: list[str] = []
        self.counts: list[tuple[str, str, str]] = []  # column, measure, aggregate SQL
        self.zip_joins: list[str] = []
        self.uses_tok = False

    def ref(self, column: str) -> str:
        return f"src.{q(column)}"

    def zip_join(self, column: str) -> str:
        alias = f"z{len(self.zip_joins)}"
        z5 = zip5_sql(self.ref(column), self.ctx.types[column])
        self.zip_joins.append(f"LEFT JOIN zip_ok AS {alias} ON left({z5}, 3) = {alias}.z")
        return f"{alias}.z"

    def count(self, column: str, measure: str, agg: str) -> None:
        self.counts.append((column, measure, agg))

    def add(self, t: ColumnTreatment) -> None:
        col, ref = t.column, self.ref(t.column)
        self.count(col, "non_null_in", f"count({ref})")
        expr = self.expression(t, ref)
        if expr is None:
            self.count(col, "dropped", f"count({ref})")
            return
        self.selects.append(f"{expr} AS {q(col)}")

    def expression(self, t: ColumnTreatment, ref: str) -> str | None:
        typ = self.ctx.types[t.column]
        handler = getattr(self, "_" + t.treatment.value.replace("-", "_"))
        result: str | None = handler(t.column, ref, typ)
        return result

    def _keep(self, column: str, ref: str, typ: str) -> str:
        return ref

    def _drop(self, column: str, ref: str, typ: str) -> None:
        return None

    def _pseudonymize(self, column: str, ref: str, typ: str) -> str:
        self._need_key("pseudonym", column)
        self.uses_tok = True
        self.count(column, "transformed", f"count({ref})")
        return "tok.t"

    def _zip3(self, column: str, ref: str, typ: str) -> str:
        allowed = self.zip_join(column)
        kept = f"WHEN {allowed} IS NOT NULL THEN {allowed}"
        expr = f"CASE WHEN {ref} IS NULL THEN NULL {kept} ELSE '000' END"
        self.count(column, "suppressed", f"count_if({expr} = '000')")
        self.count(column, "transformed", f"count_if({expr} <> '000')")
        return expr

    def _zip5(self, column: str, ref: str, typ: str) -> str:
        expr = zip5_sql(ref, typ)
        self.count(column, "nulled", f"count({ref}) - count({expr})")
        self.count(column, "transformed", f"count_if({expr} <> CAST({ref} AS VARCHAR))")
        return expr

    def _year(self, column: str, ref: str, typ: str) -> str:
        expr = year_sql(ref, typ)
        self.count(column, "nulled", f"count({ref}) - count({expr})")
        self.count(column, "transformed", f"count({expr})")
        return expr

    def _birth_year(self, column: str, ref: str, typ: str) -> str:
        year = year_sql(ref, typ)
        cutoff = self.ctx.reference_date.year - 90
        expr = f"CASE WHEN {year} > {cutoff} THEN {year} END"
        self.count(column, "nulled", f"count({ref}) - count({expr})")
        self.count(column, "transformed", f"count({expr})")
        return expr

    def _age_90(self, column: str, ref: str, typ: str) -> str:
        expr = age_sql(ref)
        self.count(column, "nulled", f"count({ref}) - count({expr})")
        self.count(column, "suppressed", f"count_if({expr} = '90+')")
        changed = f"{expr} <> '90+' AND {expr} <> CAST({ref} AS VARCHAR)"
        self.count(column, "transformed", f"count_if({changed})")
        return expr

    def _date_shift(self, column: str, ref: str, typ: str) -> str:
        self._need_key("date shift", column)
        self.uses_tok = True
        pk = self.ref(self.ctx.patient_key or "")
        shifted = f"CASE WHEN {pk} IS NOT NULL THEN {date_sql(ref, typ)} END"
        self.count(column, "nulled", f"count({ref}) - count({shifted})")
        self.count(column, "transformed", f"count({shifted})")
        if typ.upper().startswith("TIMESTAMP"):
            return f"{ref} + to_days(CAST(tok.s AS INTEGER))"
        return f"{date_sql(ref, typ)} + CAST(tok.s AS INTEGER)"

    def _need_key(self, what: str, column: str) -> None:
        if self.ctx.key is None or self.ctx.patient_key is None:
            raise ConfigError(f"column {column}: {what} needs a recipient key and a patient key")

    def tok_cte(self) -> str:
        key, pk = self.ctx.key, self.ctx.patient_key
        assert key is not None and pk is not None
        k = "d.k"
        cols = [f"{k} AS k", f"{token_sql(key, k, self.params)} AS t"]
        if self.ctx.date_shift_days is not None:
            cols.append(f"{shift_days_sql(key, k, self.ctx.date_shift_days, self.params)} AS s")
        distinct = (
            f"SELECT DISTINCT CAST({q(pk)} AS VARCHAR) AS k FROM src WHERE {q(pk)} IS NOT NULL"
        )
        return f"tok AS (SELECT {', '.join(cols)} FROM ({distinct}) AS d)"


def compile_extract(source_sql: str, plan: list[ColumnTreatment], ctx: CompileContext) -> Compiled:
    """The one extract statement for ``plan`` over ``source_sql`` and its count query."""
    b = _Builder(ctx)
    for treatment in plan:
        b.add(treatment)
    if not b.selects:
        raise ConfigError("every column would be dropped: the extract would be empty")
    ctes = [f"src AS ({source_sql})"]
    count_ctes = list(ctes)
    zip_params: dict[str, object] = {}
    if b.zip_joins:
        zip_params["zip_allowed"] = sorted(ctx.zip_table.allowed)
        zip_cte = "zip_ok AS (SELECT unnest($zip_allowed) AS z)"
        ctes.append(zip_cte)
        count_ctes.append(zip_cte)
    joins = list(b.zip_joins)
    if b.uses_tok:
        ctes.append(b.tok_cte())
        pk = q(ctx.patient_key or "")
        joins.insert(0, f"LEFT JOIN tok ON CAST(src.{pk} AS VARCHAR) = tok.k")
    select_sql = f"WITH {', '.join(ctes)} SELECT {', '.join(b.selects)} FROM src {' '.join(joins)}"
    aggs = ["count(*) AS rows_in"] + [f"{agg} AS m{i}" for i, (_, _, agg) in enumerate(b.counts)]
    count_sql = (
        f"WITH {', '.join(count_ctes)} SELECT {', '.join(aggs)} FROM src {' '.join(b.zip_joins)}"
    )
    return Compiled(
        select_sql=select_sql,
        count_sql=count_sql,
        params={**b.params.values, **zip_params},
        count_params=zip_params,
        count_columns=[(c, m) for c, m, _ in b.counts],
    )
