"""Loading relations into the custodian store: the known tables with their types, any other
table as it comes, and every column's role recorded in the roles table (``schema.ROLES_TABLE``).

Everything is set-based SQL: type checks count the values that do not cast (and name the column,
never a value); sensitivity labels of claims are derived by joining each diagnosis column to a
table of the distinct codes' labels.
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from healthwall.data.icd10 import labels_of_code
from healthwall.engine.duckdb import DuckDBEngine, temp_name
from healthwall.engine.schema import (
    KNOWN_TABLES,
    ROLES_DDL,
    ROLES_TABLE,
    create_sql,
    sql_type,
)
from healthwall.errors import InvalidInput
from healthwall.model.codes import Label
from healthwall.model.dataset import DatasetSpec

REQUIRED = {"patients": ("patient_id",), "claims": ("claim_id", "patient_id", "service_date")}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_table_name(table: str) -> str:
    """A table name must be a plain identifier (it becomes SQL)."""
    if not _IDENT.match(table) or table == ROLES_TABLE:
        raise InvalidInput(
            "table name must be letters, digits and _ (not a reserved name)", field="table"
        )
    return table


def infer_table(columns: list[str], stem: str) -> str:
    """The known table a file's columns belong to, else a name from the file's stem."""
    if stem in KNOWN_TABLES:
        return stem
    cols = set(columns)
    for table in ("claims", "patients"):
        if set(REQUIRED[table]) <= cols and cols <= set(KNOWN_TABLES[table]):
            return table
    return check_table_name(re.sub(r"[^A-Za-z0-9_]", "_", stem) or "data")


def check_roles(columns: list[str], spec: DatasetSpec, source: str) -> None:
    """Every column must have a role; a column without one is an error naming it."""
    missing = [c for c in columns if spec.role_of(c) is None]
    if missing:
        raise InvalidInput(
            f"{source}: column(s) without a role: {', '.join(missing)} "
            "(declare them in a spec file: --spec roles.yaml)",
            field=missing[0],
        )


def _check_known_columns(table: str, columns: list[str], source: str) -> None:
    unknown = [c for c in columns if c not in KNOWN_TABLES[table]]
    if unknown:
        raise InvalidInput(
            f"{source}: column(s) not in the {table} table: {', '.join(unknown)}", field=unknown[0]
        )
    absent = [c for c in REQUIRED[table] if c not in columns]
    if absent:
        raise InvalidInput(
            f"{source}: required column(s) missing: {', '.join(absent)}", field=absent[0]
        )


def _check_casts(engine: DuckDBEngine, view: str, columns: list[str], source: str) -> None:
    described = engine.query_arrow(f"DESCRIBE SELECT * FROM {q(view)}").to_pylist()
    current = {str(r["column_name"]): str(r["column_type"]) for r in described}
    # columns already of their type (typed Parquet) need no check: only text or other types do
    typed = [c for c in columns if sql_type(c) not in ("VARCHAR", current.get(c))]
    if not typed:
        return
    counts = ", ".join(
        f"count(*) FILTER (WHERE {q(c)} IS NOT NULL AND TRY_CAST({q(c)} AS {sql_type(c)}) IS NULL)"
        for c in typed
    )
    row = _run(engine, f"SELECT {counts} FROM {q(view)}", source).to_pylist()[0]
    bad = [(c, n) for c, n in zip(typed, row.values(), strict=True) if n]
    if bad:
        detail = "; ".join(f"{c}: {n} value(s) not of type {sql_type(c)}" for c, n in bad)
        raise InvalidInput(f"{source}: wrong types: {detail}", field=bad[0][0])


def _run(engine: DuckDBEngine, sql: str, source: str) -> pa.Table:
    """Run a query over an input, turning engine errors into messages without data values."""
    try:
        return engine.query_arrow(sql)
    except duckdb.Error as exc:
        raise InvalidInput(f"{source}: {_describe(exc)}") from None


def _describe(exc: duckdb.Error) -> str:
    line = re.search(r"[Ll]ine:? (\d+)", str(exc))
    where = f" at line {line.group(1)}" if line else ""
    return f"cannot be read{where} ({type(exc).__name__})"


#: Bit i of a label mask <-> LABEL_ORDER[i]; sorted, so the joined string comes out sorted.
LABEL_ORDER: tuple[str, ...] = tuple(sorted(v.value for v in Label))


def _mask(labels: set[str] | frozenset[str]) -> int:
    return sum(1 << LABEL_ORDER.index(lb) for lb in labels)


def _distinct(engine: DuckDBEngine, sql: str, source: str) -> list[str]:
    return [str(x) for x in _run(engine, sql, source).column(0).to_pylist() if x is not None]


def _code_masks(engine: DuckDBEngine, view: str, dx: list[str], source: str) -> str:
    """Register (code, mask) for the distinct diagnosis codes of the input; return its name."""
    union = " UNION ".join(f"SELECT CAST({q(c)} AS VARCHAR) AS code FROM {q(view)}" for c in dx)
    codes = _distinct(engine, f"SELECT DISTINCT code FROM ({union})", source) if dx else []
    masks = [_mask(labels_of_code(c)) for c in codes]  # one per distinct code, not per row
    name = temp_name("code_masks")
    engine.register_arrow(name, pa.table({"code": pa.array(codes, pa.string()), "mask": masks}))
    return name


def _given_masks(engine: DuckDBEngine, view: str, source: str) -> str:
    """Register (given, mask) for the distinct label strings the input brings. A label that is
    not a known code cannot be honoured, so it is an error (fail closed)."""
    given = _distinct(engine, f"SELECT DISTINCT sensitivity_labels FROM {q(view)}", source)
    sets = [{x for x in g.split(";") if x} for g in given]
    unknown = set().union(*sets) - set(LABEL_ORDER) if sets else set()
    if unknown:
        raise InvalidInput(
            f"{source}: sensitivity_labels holds {len(unknown)} unknown label code(s)",
            field="sensitivity_labels",
        )
    name = temp_name("given_masks")
    masks = [_mask(s) for s in sets]
    engine.register_arrow(name, pa.table({"given": pa.array(given, pa.string()), "mask": masks}))
    return name


def _labelled_source(engine: DuckDBEngine, view: str, columns: list[str], source: str) -> str:
    """A subquery of the input with ``_mask``: the OR of its codes' and given labels' masks."""
    dx: list[str] = [c for c in ("dx1", "dx2", "dx3") if c in columns]
    codes = _code_masks(engine, view, dx, source)
    parts = [f"coalesce(c_{c}.mask, 0)" for c in dx]
    joins = [f"LEFT JOIN {codes} c_{c} ON c_{c}.code = CAST(v.{q(c)} AS VARCHAR)" for c in dx]
    if "sensitivity_labels" in columns:
        given = _given_masks(engine, view, source)
        parts.append("coalesce(g.mask, 0)")
        joins.append(f"LEFT JOIN {given} g ON g.given = v.sensitivity_labels")
    mask = " | ".join(parts) or "0"
    return f"(SELECT v.*, CAST({mask} AS BIGINT) AS _mask FROM {q(view)} v {' '.join(joins)})"


def labels_sql() -> str:
    """SQL turning ``_mask`` into the sorted, ';'-joined label string."""
    cases = [
        f"CASE WHEN (_mask >> {i}) & 1 = 1 THEN '{lb}' END" for i, lb in enumerate(LABEL_ORDER)
    ]
    return f"concat_ws(';', {', '.join(cases)})"


def _column_expr(col: str, columns: list[str], table: str) -> str:
    if col == "sensitivity_labels" and table == "claims":
        return labels_sql()
    if col in columns:
        return f"CAST(v.{q(col)} AS {sql_type(col)})"
    if col == "line_number":
        return "CAST(1 AS INTEGER)"
    return f"CAST(NULL AS {sql_type(col)})"


def _select_known(engine: DuckDBEngine, table: str, view: str, source: str) -> str:
    """SELECT of a known table's columns from the input (claims: labels derived, set-based)."""
    columns = engine.columns(view)
    exprs = [f"{_column_expr(c, columns, table)} AS {q(c)}" for c in KNOWN_TABLES[table]]
    relation = _labelled_source(engine, view, columns, source) if table == "claims" else q(view)
    return f"SELECT {', '.join(exprs)} FROM {relation} v"


def load_known(engine: DuckDBEngine, view: str, table: str, source: str) -> int:
    """Append a relation to a known table, casting each column to its type. Returns rows added."""
    columns = engine.columns(view)
    _check_known_columns(table, columns, source)
    _check_casts(engine, view, columns, source)
    engine.execute(create_sql(table))
    select = _select_known(engine, table, view, source)
    before = _count(engine, table)
    try:
        engine.execute(f"INSERT INTO {q(table)} {select}")
    except duckdb.Error as exc:
        raise InvalidInput(f"{source}: {_describe(exc)}") from None
    return _count(engine, table) - before


def load_other(engine: DuckDBEngine, view: str, table: str, source: str) -> int:
    """Append a relation to a table of any other name, created with the input's columns."""
    before = _count(engine, table) if table in engine.tables() else 0
    try:
        engine.execute(
            f"CREATE TABLE IF NOT EXISTS {q(table)} AS SELECT * FROM {q(view)} WITH NO DATA"
        )
        engine.execute(f"INSERT INTO {q(table)} BY NAME SELECT * FROM {q(view)}")
    except duckdb.Error as exc:
        raise InvalidInput(f"{source}: does not fit table {table} ({type(exc).__name__})") from None
    return _count(engine, table) - before


def _count(engine: DuckDBEngine, table: str) -> int:
    return int(engine.query_arrow(f"SELECT count(*) AS n FROM {q(table)}").column("n")[0].as_py())


def save_roles(engine: DuckDBEngine, table: str, spec: DatasetSpec) -> None:
    """Record the role of every column of ``table`` (replacing earlier records for the table)."""
    engine.execute(ROLES_DDL)
    engine.execute(f"DELETE FROM {ROLES_TABLE} WHERE table_name = ?", [table])
    for column in engine.columns(table):
        col = spec.columns.get(column)
        if col is None:
            continue
        engine.execute(
            f"INSERT INTO {ROLES_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [table, column, col.role.value, col.kind.value if col.kind else None,
             col.patient_key, col.free_text, col.safe_text],
        )  # fmt: skip


def stored_roles(engine: DuckDBEngine, table: str) -> DatasetSpec:
    """The roles recorded for a table of the store."""
    if ROLES_TABLE not in engine.tables():
        return DatasetSpec(columns={})
    rows = engine.query_arrow(
        f"SELECT column_name, role, kind, patient_key, free_text, safe_text FROM {ROLES_TABLE} "
        "WHERE table_name = ?",
        [table],
    ).to_pylist()
    cols = {r.pop("column_name"): {k: v for k, v in r.items() if v is not None} for r in rows}
    return DatasetSpec.parse({"columns": cols}, source=f"roles of {table}")
