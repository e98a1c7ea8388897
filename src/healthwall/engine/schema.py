"""The custodian store's known tables (patients, claims) with their SQL and Arrow types, and the
metadata table that records every ingested column's role.

Column names and roles come from ``healthwall.model.dataset``; only the storage types are here.
"""

from __future__ import annotations

import pyarrow as pa

from healthwall.model.dataset import CLAIM_COLUMNS, PATIENT_COLUMNS

#: SQL type of each column of the known tables (everything else is VARCHAR).
_SPECIAL_TYPES: dict[str, str] = {
    "birth_date": "DATE",
    "service_date": "DATE",
    "line_number": "INTEGER",
    "paid_amount": "DECIMAL(12,2)",
}

KNOWN_TABLES: dict[str, tuple[str, ...]] = {
    "patients": tuple(PATIENT_COLUMNS),
    "claims": tuple(CLAIM_COLUMNS),
}

ROLES_TABLE = "healthwall_column_roles"
ROLES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {ROLES_TABLE} (table_name VARCHAR, column_name VARCHAR, "
    "role VARCHAR, kind VARCHAR, patient_key BOOLEAN, free_text BOOLEAN, safe_text BOOLEAN, "
    "PRIMARY KEY (table_name, column_name))"
)


def sql_type(column: str) -> str:
    """Storage type of a known column."""
    return _SPECIAL_TYPES.get(column, "VARCHAR")


def create_sql(table: str) -> str:
    """CREATE TABLE IF NOT EXISTS for a known table."""
    cols = ", ".join(f'"{c}" {sql_type(c)}' for c in KNOWN_TABLES[table])
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})'


def _arrow_type(column: str) -> pa.DataType:
    kind = sql_type(column)
    if kind == "DATE":
        return pa.date32()
    if kind == "INTEGER":
        return pa.int32()
    if kind.startswith("DECIMAL"):
        return pa.decimal128(12, 2)
    return pa.string()


def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema of a known table (for rows built in Python, e.g. from FHIR)."""
    return pa.schema([(c, _arrow_type(c)) for c in KNOWN_TABLES[table]])
