"""Inputs of the expert-profile tests: custodian-shaped patients and claims built in DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

MASTER_KEY = b"expert-test-master-key-0123456789"

PATIENTS_SQL = """
SELECT 'P' || lpad(i::VARCHAR, 6, '0') AS patient_id,
       'MRN' || lpad(i::VARCHAR, 8, '0') AS mrn,
       '900-' || lpad((i % 100)::VARCHAR, 2, '0') || '-' || lpad(i::VARCHAR, 4, '0') AS ssn,
       'MC' || lpad(i::VARCHAR, 9, '0') AS medicaid_id,
       (['Maria', 'James', 'Wei', 'Aisha'])[1 + i % 4] AS first_name,
       (['Garcia', 'Smith', 'Chen', 'Okafor'])[1 + i % 4] AS last_name,
       DATE '1930-01-01' + CAST((i * 7919) % 30000 AS INTEGER) AS birth_date,
       (['F', 'M'])[1 + i % 2] AS sex,
       i::VARCHAR || ' Main St' AS address_line,
       (['02139', '02140', '02141', '03601', '03602', '99501'])[1 + (i * 7) % 6] AS zip,
       '(555) 010-' || lpad((i % 10000)::VARCHAR, 4, '0') AS phone,
       'p' || i::VARCHAR || '@example.org' AS email,
       (['White', 'Black', 'Asian'])[1 + i % 3] AS race,
       (['Hispanic', 'Not Hispanic'])[1 + (i // 3) % 2] AS ethnicity,
       (['citizen', 'lpr', 'undocumented'])[1 + i % 3] AS immigration_status
FROM range({n}) AS r(i)
"""

CLAIMS_SQL = """
SELECT 'C' || lpad(i::VARCHAR, 8, '0') AS claim_id,
       1 + (i % 3) AS line_number,
       'P' || lpad((i % {patients})::VARCHAR, 6, '0') AS patient_id,
       DATE '2019-01-01' + CAST((i * 31) % 2000 AS INTEGER) AS service_date,
       (['General', 'Clinic'])[1 + i % 2] AS facility,
       (['F10.20', 'B20', 'Z21', 'E11.9'])[1 + i % 4] AS dx1,
       CAST(10 + i % 500 AS DOUBLE) AS paid_amount
FROM range({n}) AS r(i)
"""


def write(sql: str, path: Path) -> Path:
    """Run ``sql`` in DuckDB and write the result to ``path`` (format by extension)."""
    fmt = "csv, HEADER" if path.suffix == ".csv" else "parquet"
    con = duckdb.connect()
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT {fmt})")
    con.close()
    return path
