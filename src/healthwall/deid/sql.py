"""Compile a plan of column treatments into ONE DuckDB statement (and one count query).

The extract is a single ``SELECT``. For one input, keyed tokens (and date shifts) are computed
once per distinct patient key (``tok``) and joined back. For claims joined to their patients,
the patient columns are transformed on the patient side first -- once per patient, not once per
claim line -- together with the patient's token and shift, and only then joined to the claims.
ZIP3 prefixes are checked by joining a one-column table of the allowed prefixes (a hash join is
an order of magnitude faster than an 880-item ``IN`` list). Keys and the prefix list travel as
parameters, never in the SQL text. The count query applies the same expressions to the input
to tell what each treatment changed: claim columns per claim line, patient columns per patient
record (one cheap scan of each input; no second join).
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
class Side:
    """One base relation of the extract and the columns it contributes."""

    relation: str
    columns: list[str]


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
    #: (column, measure) of each value of the count row; ROWS starts the next input's counts
    count_columns: list[tuple[str, str]] = field(default_factory=list)


ROWS = ("*", "rows")


class _Builder:
    """Expressions and count predicates for the columns of one side, read as ``src``."""

    def __init__(self, ctx: CompileContext, params: SqlParams) -> None:
        self.ctx = ctx
        self.params = params
        self.selects: list[str] = []
        self.kept: list[str] = []  # columns that are in the output, in order
        self.counts: list[tuple[str, str, str]] = []  # column, measure, aggregate SQL
        self.zip_joins: list[str] = []
        self.token_expr = "tok.t"
        self.shift_expr = "tok.s"
        self.uses_key = False

    def ref(self, column: str) -> str:
        return f"src.{q(column)}"

    def zip_join(self, column: str) -> str:
        alias = f"z{len(self.zip_joins)}"
        z5 = zip5_sql(self.ref(column), self.ctx.types[column])
        self.zip_joins.append(f"LEFT JOIN zip_ok AS {alias} ON left({z5}, 3) = {alias}.z")
        return f"{alias}.z"

    def count(self, column: str, measure: str, predicate: str) -> None:
        self.counts.append((column, measure, f"count(*) FILTER (WHERE {predicate})"))

    def add(self, t: ColumnTreatment) -> None:
        col, ref = t.column, self.ref(t.column)
        self.count(col, "non_null_in", f"{ref} IS NOT NULL")
        expr = self.expression(t, ref)
        if expr is None:
            self.count(col, "dropped", f"{ref} IS NOT NULL")
            return
        self.selects.append(f"{expr} AS {q(col)}")
        self.kept.append(col)

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
        self.count(column, "transformed", f"{ref} IS NOT NULL")
        return self.token_expr

    def _zip3(self, column: str, ref: str, typ: str) -> str:
        allowed = self.zip_join(column)
        kept = f"WHEN {allowed} IS NOT NULL THEN {allowed}"
        expr = f"CASE WHEN {ref} IS NULL THEN NULL {kept} ELSE '000' END"
        self.count(column, "suppressed", f"{expr} = '000'")
        self.count(column, "transformed", f"{expr} <> '000'")
        return expr

    def _nulled(self, column: str, ref: str, expr: str) -> None:
        self.count(column, "nulled", f"{ref} IS NOT NULL AND {expr} IS NULL")

    def _zip5(self, column: str, ref: str, typ: str) -> str:
        expr = zip5_sql(ref, typ)
        self._nulled(column, ref, expr)
        self.count(column, "transformed", f"{expr} <> CAST({ref} AS VARCHAR)")
        return expr

    def _year(self, column: str, ref: str, typ: str) -> str:
        expr = year_sql(ref, typ)
        self._nulled(column, ref, expr)
        self.count(column, "transformed", f"{expr} IS NOT NULL")
        return expr

    def _birth_year(self, column: str, ref: str, typ: str) -> str:
        year = year_sql(ref, typ)
        cutoff = self.ctx.reference_date.year - 90
        expr = f"CASE WHEN {year} > {cutoff} THEN {year} END"
        self._nulled(column, ref, expr)
        self.count(column, "transformed", f"{expr} IS NOT NULL")
        return expr

    def _age_90(self, column: str, ref: str, typ: str) -> str:
        expr = age_sql(ref)
        self._nulled(column, ref, expr)
        self.count(column, "suppressed", f"{expr} = '90+'")
        self.count(column, "transformed", f"{expr} <> '90+' AND {expr} <> CAST({ref} AS VARCHAR)")
        return expr

    def _date_shift(self, column: str, ref: str, typ: str) -> str:
        self._need_key("date shift", column)
        pk = self.ref(self.ctx.patient_key or "")
        shiftable = f"{pk} IS NOT NULL AND {date_sql(ref, typ)} IS NOT NULL"
        self.count(column, "nulled", f"{ref} IS NOT NULL AND NOT ({shiftable})")
        self.count(column, "transformed", shiftable)
        days = f"CAST({self.shift_expr} AS INTEGER)"
        if typ.upper().startswith("TIMESTAMP"):
            return f"{ref} + to_days({days})"
        return f"{date_sql(ref, typ)} + {days}"

    def _need_key(self, what: str, column: str) -> None:
        if self.ctx.key is None or self.ctx.patient_key is None:
            raise ConfigError(f"column {column}: {what} needs a recipient key and a patient key")
        self.uses_key = True

    def token_of(self, ref: str) -> str:
        assert self.ctx.key is not None
        return token_sql(self.ctx.key, ref, self.params)

    def shift_of(self, ref: str) -> str:
        assert self.ctx.key is not None and self.ctx.date_shift_days is not None
        return shift_days_sql(self.ctx.key, ref, self.ctx.date_shift_days, self.params)

    def aggregates(self) -> list[str]:
        return [agg for _, _, agg in self.counts]


ZIP_CTE = "zip_ok AS (SELECT unnest($zip_allowed) AS z)"


def _build(ctx: CompileContext, plan: list[ColumnTreatment], b: _Builder) -> _Builder:
    for treatment in plan:
        b.add(treatment)
    return b


def _with(zip_used: bool, extra: list[str] | None = None) -> str:
    ctes = ([ZIP_CTE] if zip_used else []) + (extra or [])
    return f"WITH {', '.join(ctes)} " if ctes else ""


def _compile_single(main: Side, plan: list[ColumnTreatment], ctx: CompileContext) -> Compiled:
    params = SqlParams()
    b = _build(ctx, plan, _Builder(ctx, params))
    joins = list(b.zip_joins)
    extra: list[str] = []
    if b.uses_key:
        pk = q(ctx.patient_key or "")
        k = "d.k"
        cols = [f"{k} AS k", f"{b.token_of(k)} AS t"]
        if ctx.date_shift_days is not None:
            cols.append(f"{b.shift_of(k)} AS s")
        keys = f"SELECT DISTINCT CAST({pk} AS VARCHAR) AS k FROM ({main.relation}) AS kr"
        extra.append(f"tok AS NOT MATERIALIZED (SELECT {', '.join(cols)} FROM ({keys}) AS d)")
        joins.insert(0, f"LEFT JOIN tok ON CAST(src.{pk} AS VARCHAR) = tok.k")
    src = f"({main.relation}) AS src"
    head = f"{_with(bool(b.zip_joins), extra)}SELECT {', '.join(b.selects)}"
    select_sql = f"{head} FROM {src} {' '.join(joins)}"
    aggs = ", ".join(["count(*)", *b.aggregates()])
    count_sql = f"{_with(bool(b.zip_joins))}SELECT {aggs} FROM {src} {' '.join(b.zip_joins)}"
    return _compiled(select_sql, count_sql, params, [b], bool(b.zip_joins), ctx)


def _compile_joined(
    main: Side, patients: Side, plan: list[ColumnTreatment], ctx: CompileContext
) -> Compiled:
    params = SqlParams()
    pk = q(ctx.patient_key or "")
    on_patient = {t.column for t in plan} & set(patients.columns)
    claim_plan = [t for t in plan if t.column not in on_patient]
    patient_plan = [t for t in plan if t.column in on_patient]
    pb = _Builder(ctx, params)
    cb = _Builder(ctx, params)
    if ctx.key is not None:
        cb.token_expr = (
            f"CASE WHEN p.__hw_k IS NOT NULL THEN p.__hw_t ELSE {cb.token_of(f'src.{pk}')} END"
        )
        if ctx.date_shift_days is not None:
            inline = cb.shift_of(f"src.{pk}")
            cb.shift_expr = f"CASE WHEN p.__hw_k IS NOT NULL THEN p.__hw_s ELSE {inline} END"
            pb.shift_expr = pb.shift_of(f"src.{pk}")
    _build(ctx, patient_plan, pb)
    _build(ctx, claim_plan, cb)
    side = [f"src.{pk} AS __hw_k", *pb.selects]
    if ctx.key is not None:
        side.append(f"{pb.token_of(f'src.{pk}')} AS __hw_t")
        if ctx.date_shift_days is not None:
            side.append(f"{pb.shift_of(f'src.{pk}')} AS __hw_s")
    p_sql = f"SELECT {', '.join(side)} FROM ({patients.relation}) AS src {' '.join(pb.zip_joins)}"
    on = f"CAST(src.{pk} AS VARCHAR) = CAST(p.__hw_k AS VARCHAR)"
    outs = cb.selects + [f"p.{q(c)}" for c in pb.kept]
    zip_used = bool(pb.zip_joins or cb.zip_joins)
    select_sql = (
        f"{_with(zip_used)}SELECT {', '.join(outs)} FROM ({main.relation}) AS src"
        f" {' '.join(cb.zip_joins)} LEFT JOIN ({p_sql}) AS p ON {on}"
    )
    claim_aggs = ", ".join(["count(*)", *cb.aggregates()])
    claim_part = f"SELECT {claim_aggs} FROM ({main.relation}) AS src {' '.join(cb.zip_joins)}"
    patient_aggs = ", ".join(["count(*)", *pb.aggregates()])
    patient_part = (
        f"SELECT {patient_aggs} FROM ({patients.relation}) AS src {' '.join(pb.zip_joins)}"
    )
    count_sql = f"{_with(zip_used)}SELECT * FROM ({claim_part}) AS cc, ({patient_part}) AS pc"
    return _compiled(select_sql, count_sql, params, [cb, pb], zip_used, ctx)


def _compiled(
    select_sql: str,
    count_sql: str,
    params: SqlParams,
    builders: list[_Builder],
    zip_used: bool,
    ctx: CompileContext,
) -> Compiled:
    zip_params: dict[str, object] = {}
    if zip_used:
        zip_params["zip_allowed"] = sorted(ctx.zip_table.allowed)
    return Compiled(
        select_sql=select_sql,
        count_sql=count_sql,
        params={**params.values, **zip_params},
        count_params=zip_params,
        count_columns=[
            pair for b in builders for pair in [ROWS, *((c, m) for c, m, _ in b.counts)]
        ],
    )


def compile_extract(
    main: Side, plan: list[ColumnTreatment], ctx: CompileContext, patients: Side | None = None
) -> Compiled:
    """The one extract statement for ``plan`` and its count query."""
    if all(t.treatment is Treatment.DROP for t in plan):
        raise ConfigError("every column would be dropped: the extract would be empty")
    if patients is None:
        return _compile_single(main, plan, ctx)
    return _compile_joined(main, patients, plan, ctx)
