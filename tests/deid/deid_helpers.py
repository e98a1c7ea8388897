"""Shared inputs of the deid tests (imported by conftest and tests; a unique module name)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

REFERENCE = date(2026, 1, 1)
MASTER_KEY = b"test-master-key-0123456789abcdef"

PATIENTS_SQL = """
SELECT 'P' || lpad(i::VARCHAR, 6, '0') AS patient_id,
       'MRN' || lpad(i::VARCHAR, 8, '0') AS mrn,
       '900-' || lpad((i % 100)::VARCHAR, 2, '0') || '-' || lpad(i::VARCHAR, 4, '0') AS ssn,
       'MC' || lpad(i::VARCHAR, 9, '0') AS medicaid_id,
       (['Maria', 'James', 'Wei', 'Aisha'])[1 + i % 4] AS first_name,
       (['Garcia', 'Smith', 'Chen', 'Okafor'])[1 + i % 4] AS last_name,
       DATE '1920-01-01' + CAST((i * 7919) % 38000 AS INTEGER) AS birth_date,
       (['F', 'M'])[1 + i % 2] AS sex,
       i::VARCHAR || ' Main St' AS address_line,
       (['Boston', 'Lyme', 'Nome'])[1 + i % 3] AS city,
       (['Suffolk', 'Grafton', 'Nome'])[1 + i % 3] AS county,
       (['MA', 'NH', 'AK'])[1 + i % 3] AS state,
       (['02139', '03601', '99501', '05901', '20201-1234', '00000'])[1 + i % 6] AS zip,
       '(555) 010-' || lpad((i % 10000)::VARCHAR, 4, '0') AS phone,
       'p' || i::VARCHAR || '@example.org' AS email,
       (['White', 'Black', 'Asian'])[1 + i % 3] AS race,
       (['Hispanic', 'Not Hispanic'])[1 + i % 2] AS ethnicity,
       (['English', 'Spanish'])[1 + i % 2] AS language,
       (['US', 'MX'])[1 + i % 2] AS birthplace_country,
       (['citizen', 'lpr', 'undocumented'])[1 + i % 3] AS immigration_status,
       'photos/' || i::VARCHAR || '.jpg' AS photo_ref
FROM range({n}) AS r(i)
"""

CLAIMS_SQL = """
SELECT 'C' || lpad(i::VARCHAR, 8, '0') AS claim_id,
       1 + (i % 3) AS line_number,
       'P' || lpad((i % {patients})::VARCHAR, 6, '0') AS patient_id,
       DATE '2019-01-01' + CAST((i * 31) % 2000 AS INTEGER) AS service_date,
       '1234567893' AS provider_npi,
       (['General', 'Clinic'])[1 + i % 2] AS facility,
       '11' AS place_of_service,
       (['F10.20', 'B20', 'Z21', 'E11.9'])[1 + i % 4] AS dx1,
       CAST(NULL AS VARCHAR) AS dx2,
       CAST(NULL AS VARCHAR) AS dx3,
       '99213' AS procedure_code,
       CAST(10 + i % 500 AS DOUBLE) AS paid_amount,
       (['SUD', 'HIV', 'HIV', ''])[1 + i % 4] AS sensitivity_labels
FROM range({n}) AS r(i)
"""


def write(sql: str, path: Path) -> Path:
    """Run ``sql`` in DuckDB and write the result to ``path`` (format by extension)."""
    fmt = "csv, HEADER" if path.suffix == ".csv" else "parquet"
    con = duckdb.connect()
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT {fmt})")
    con.close()
    return path
