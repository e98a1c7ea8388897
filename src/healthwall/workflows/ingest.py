"""Use case: ingest CSV, Parquet and FHIR R4 files into a DuckDB custodian store.

All inputs of one call load in one transaction: if any file is malformed, has a column without a
role, or a value of the wrong type, nothing is ingested and the error names the file and the
problem. Column roles come from the defaults for the known schema (``DEFAULT_SPECS``) overridden
by an optional spec file, and are recorded in the store's roles table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from healthwall.engine import FileFormat, open_store, temp_name
from healthwall.engine.duckdb import DuckDBEngine
from healthwall.engine.fhir import is_fhir, read_fhir
from healthwall.engine.fhir_export import export_fhir
from healthwall.engine.schema import KNOWN_TABLES
from healthwall.engine.store import (
    check_roles,
    check_table_name,
    infer_table,
    load_known,
    load_other,
    save_roles,
    stored_roles,
)
from healthwall.errors import InvalidInput, NotFound
from healthwall.model.dataset import DEFAULT_SPECS, DatasetSpec

#: progress(file name, files done, total files)
ProgressFn = Callable[[str, int, int], None]

__all__ = ["IngestResult", "ProgressFn", "export_to_fhir", "run_ingest", "stored_roles_of"]


@dataclass(frozen=True)
class IngestResult:
    """Rows added per table, and FHIR resources read per type."""

    rows: dict[str, int] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)  # tables emptied first (``replace``)


def _clear_once(engine: DuckDBEngine, table: str, result: IngestResult, replace: bool) -> None:
    """With ``replace``, empty a known table (drop any other) the first time this call loads
    into it, so the table holds exactly this call's inputs."""
    if replace and table not in result.replaced:
        if table in engine.tables():
            verb = "DELETE FROM" if table in KNOWN_TABLES else "DROP TABLE"
            engine.execute(f'{verb} "{table}"')
        result.replaced.add(table)


def _spec_for(table: str, user: DatasetSpec | None) -> DatasetSpec:
    base = DEFAULT_SPECS.get(table, DatasetSpec(columns={}))
    return base.merged(user) if user is not None else base


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _ingest_fhir(
    engine: DuckDBEngine, path: Path, result: IngestResult, validation: str, replace: bool
) -> set[str]:
    rows = read_fhir([path], validation)
    for kind, n in rows.resources.items():
        _add(result.resources, kind, n)
    touched = set()
    for table, records in (("patients", rows.patients), ("claims", rows.claims)):
        if not records:
            continue
        columns = KNOWN_TABLES[table]
        data = {c: pa.array([_text(r.get(c)) for r in records], pa.string()) for c in columns}
        view = engine.register_arrow(temp_name(table), pa.table(data))
        _clear_once(engine, table, result, replace)
        _add(result.rows, table, load_known(engine, view, table, path.name))
        touched.add(table)
    return touched


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _ingest_file(
    engine: DuckDBEngine,
    path: Path,
    table: str | None,
    user: DatasetSpec | None,
    result: IngestResult,
    replace: bool,
) -> set[str]:
    FileFormat.of(path)  # rejects unknown formats by name
    view = engine.read(path, temp_name("input"), all_text=True)  # keep leading zeros
    columns = engine.columns(view)
    target = check_table_name(table) if table else infer_table(columns, path.name.split(".")[0])
    check_roles(columns, _spec_for(target, user), path.name)
    _clear_once(engine, target, result, replace)
    if target in KNOWN_TABLES:
        added = load_known(engine, view, target, path.name)
    else:
        added = load_other(engine, view, target, path.name)
    _add(result.rows, target, added)
    return {target}


def run_ingest(
    inputs: list[Path],
    store: Path,
    spec_path: Path | None = None,
    table: str | None = None,
    progress: ProgressFn | None = None,
    fhir_validation: str = "full",
    replace: bool = False,
) -> IngestResult:
    """Load every input into ``store`` in one transaction; return the rows added per table.

    ``fhir_validation`` is ``full`` (fhir.resources models) or ``structure`` (fast checks of
    the elements the mapping reads, for bulk NDJSON). With ``replace`` each table loaded holds
    only this call's rows afterwards (still one transaction: an error leaves the old rows)."""
    if not inputs:
        raise InvalidInput("no input files", field="inputs")
    for path in inputs:
        if not path.is_file():
            raise NotFound(f"input file {path.name} does not exist")
    user = DatasetSpec.load(spec_path) if spec_path is not None else None
    result = IngestResult()
    with open_store(store) as engine, engine.transaction():
        touched: set[str] = set()
        for done, path in enumerate(inputs):
            if progress:
                progress(path.name, done, len(inputs))
            if is_fhir(path):
                if table and table not in KNOWN_TABLES:
                    raise InvalidInput("FHIR maps only into patients and claims", field="table")
                touched |= _ingest_fhir(engine, path, result, fhir_validation, replace)
            else:
                touched |= _ingest_file(engine, path, table, user, result, replace)
        for name in sorted(touched):
            save_roles(engine, name, _spec_for(name, user))
        if progress:
            progress("done", len(inputs), len(inputs))
    return result


def stored_roles_of(store: Path, table: str) -> DatasetSpec:
    """The column roles recorded in a store for one of its tables."""
    if not store.exists():
        raise NotFound(f"store {store.name} does not exist")
    with open_store(store, read_only=True) as engine:
        return stored_roles(engine, table)


def export_to_fhir(
    patients: Path, claims: Path, out_dir: Path, *, bundle: bool = False
) -> dict[str, Path]:
    """Write FHIR R4 NDJSON (and a Bundle if asked) for patients and claims files."""
    with open_store(None) as engine:
        p = engine.read(patients, temp_name("patients"))
        c = engine.read(claims, temp_name("claims"))
        return export_fhir(engine, p, c, out_dir, bundle=bundle)
