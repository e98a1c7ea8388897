"""The de-identification use case: check, plan, compile, run, verify, report, release.

``deidentify(request)`` reads a CSV/Parquet file or a store table (optionally joined to its
patients), checks every column against the spec (undeclared columns and identifier look-alikes
are errors), plans each column's treatment under the profile, runs the ONE compiled statement
(``COPY (...) TO`` a temporary file next to the output), counts what changed, verifies the
temporary output and only then renames it into place and writes the report. On any error the
temporary file is removed: nothing half-written, nothing unverified is ever released.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from hashlib import sha256
from pathlib import Path

import duckdb

import healthwall
from healthwall.deid import detect, profiles, pseudonym, source
from healthwall.deid.sql import ROWS, CompileContext, Compiled, Side, compile_extract, lit
from healthwall.deid.verify import describe_findings, verify_file
from healthwall.deid.zip3 import Zip3Table, zip3_table
from healthwall.errors import ConfigError, IntegrityError, InvalidInput, Refused
from healthwall.model.dataset import DatasetSpec, default_spec
from healthwall.model.deid import ColumnCounts, ColumnTreatment, DeidReport, VerificationResult
from healthwall.reports.deid_report import check_report_path, write_report

Progress = Callable[[str], None]
MEMORY_LIMIT = "3GB"


@dataclass(frozen=True)
class DeidRequest:
    """What to de-identify, how, and for whom."""

    input: str  # PATH (.csv/.parquet) or store:PATH#table
    output: Path
    profile: str = "safe-harbor"
    recipient: str | None = None
    key_ref: str | None = None  # env:NAME or file:PATH of the master pseudonym key
    report: Path | None = None
    spec: Path | None = None
    zip_table: str = "census-2010"
    join_patients: str | None = None
    date_shift_days: int | None = None
    reference_date: date | None = None
    # expert profile only (see healthwall.workflows.deid_expert)
    max_risk: float | None = None
    suppression: float | None = None
    k: int | None = None
    hierarchies: Path | None = None


EXPERT = "expert"
_EXPERT_OPTIONS = ("max_risk", "suppression", "k", "hierarchies")


@dataclass
class _Run:
    """State gathered while a request runs."""

    con: duckdb.DuckDBPyConnection
    types: dict[str, str]
    inputs: list[source.Source]
    parts: list[tuple[str, list[str]]]  # each base relation and the columns it contributes


def _noop(step: str) -> None:
    return None


def deidentify(req: DeidRequest, progress: Progress = _noop) -> DeidReport:
    """Run one extract; returns its report (also written to ``req.report`` when given)."""
    if req.profile == EXPERT:
        from healthwall.workflows.deid_expert import deidentify_expert

        return deidentify_expert(req, progress)
    if req.profile not in profiles.profile_names():
        known = ", ".join(sorted([*profiles.profile_names(), EXPERT]))
        raise ConfigError(f"profile {req.profile!r} is unknown (known: {known})", field="profile")
    for option in _EXPERT_OPTIONS:
        if getattr(req, option) is not None:
            raise ConfigError(f"{option} applies only to --profile {EXPERT}", field=option)
    profile = profiles.get_profile(req.profile)
    table = zip3_table(req.zip_table)
    out_fmt = source.file_format(req.output)
    if req.report is not None:
        check_report_path(req.report)
    key = _recipient_key(req)
    progress("reading the spec and the input")
    spec = _load_spec(req.spec)
    run = _open(req, spec)
    try:
        detect.check_declared(list(run.types), spec, req.input)
        options = profiles.PlanOptions(keyed=key is not None, date_shift_days=req.date_shift_days)
        plan = profiles.plan(profile, list(run.types), spec, options)
        progress("scanning for undeclared identifiers")
        detect.reject_undeclared(_scan(run, plan))
        reference = req.reference_date or datetime.now(UTC).date()
        patient_key = _patient_key(list(run.types), spec)
        ctx = CompileContext(run.types, table, reference, key, patient_key, req.date_shift_days)
        sides = [Side(relation, columns) for relation, columns in run.parts]
        compiled = compile_extract(sides[0], plan, ctx, sides[1] if len(sides) > 1 else None)
        facts = _Facts(req, profile, spec, table, reference, plan, out_fmt, key is not None)
        report = _run_and_release(run, compiled, facts, progress)
    finally:
        run.con.close()
    if req.report is not None:
        progress("writing the report")
        write_report(report, req.report)
    return report


@dataclass(frozen=True)
class _Facts:
    """What the report states about the request, gathered before the run."""

    req: DeidRequest
    profile: profiles.Profile
    spec: DatasetSpec
    table: Zip3Table
    reference: date
    plan: list[ColumnTreatment]
    out_fmt: str
    keyed: bool


def _run_and_release(
    run: _Run, compiled: Compiled, facts: _Facts, progress: Progress
) -> DeidReport:
    """Write to a temporary file, count, verify, hash; rename only if everything passed."""
    req = facts.req
    tmp = _temp_path(req.output)
    try:
        progress("writing the extract")
        _copy(run.con, compiled, tmp, facts.out_fmt)
        progress("counting treated values")
        input_rows, counts = _counts(run.con, compiled, [i.label for i in run.inputs])
        progress("verifying the output")
        verdict = verify_file(
            tmp,
            spec=facts.spec,
            ruleset=facts.profile.ruleset,
            zip_table=req.zip_table,
            reference=facts.reference,
        )
        _check_verdict(verdict, input_rows[0])
        progress("hashing input and output")
        report = _report(facts, run, input_rows, counts, verdict, source.sha256_file(tmp))
        os.replace(tmp, req.output)
    finally:
        tmp.unlink(missing_ok=True)
    return report


def _report(
    facts: _Facts,
    run: _Run,
    input_rows: list[int],
    counts: list[ColumnCounts],
    verdict: VerificationResult,
    output_sha256: str,
) -> DeidReport:
    req, table = facts.req, facts.table
    return DeidReport(
        healthwall_version=healthwall.__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        profile=facts.profile.name,
        citation=facts.profile.citation,
        input=req.input,
        inputs=[i.label for i in run.inputs],
        input_rows=input_rows,
        output=str(req.output),
        output_format=facts.out_fmt,
        recipient=req.recipient,
        pseudonym_scheme=pseudonym.SCHEME if facts.keyed else None,
        date_shift_days=req.date_shift_days,
        reference_date=facts.reference.isoformat(),
        zip_table=table.name,
        zip_table_sha256=table.sha256,
        restricted_zip3=sorted(table.restricted),
        rows_in=input_rows[0],
        rows_out=verdict.rows,
        input_sha256=[source.sha256_file(s.path) for s in run.inputs],
        output_sha256=output_sha256,
        spec_sha256=_spec_digest(facts.spec),
        columns=facts.plan,
        counts=counts,
        verification=verdict,
    )


def _scan(run: _Run, plan: list[ColumnTreatment]) -> list[tuple[str, str]]:
    """Undeclared identifiers, sampled from each base input (cheaper than sampling the join)."""
    found: list[tuple[str, str]] = []
    for relation, columns in run.parts:
        wanted = set(columns)
        part_plan = [t for t in plan if t.column in wanted]
        found += detect.find_undeclared(run.con, relation, run.types, part_plan)
    return found


def _recipient_key(req: DeidRequest) -> bytes | None:
    if (req.recipient is None) != (req.key_ref is None):
        raise ConfigError("pseudonyms need both a recipient name and a key reference", field="key")
    if req.recipient is None or req.key_ref is None:
        if req.date_shift_days is not None:
            raise ConfigError("date shifting needs a recipient and a key", field="date_shift_days")
        return None
    return pseudonym.recipient_key(pseudonym.load_master_key(req.key_ref), req.recipient)


def _load_spec(path: Path | None) -> DatasetSpec:
    """The known schema's roles, with the given spec's declarations taking precedence."""
    base = default_spec()
    return base if path is None else base.merged(DatasetSpec.load(path))


def _spec_digest(spec: DatasetSpec) -> str:
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return sha256(canonical.encode()).hexdigest()


def _open(req: DeidRequest, spec: DatasetSpec) -> _Run:
    inputs = [source.parse_source(req.input)]
    if req.join_patients is not None:
        inputs.append(source.parse_source(req.join_patients))
    con, relations = source.connect(*inputs)
    try:
        con.execute(f"SET memory_limit = {lit(MEMORY_LIMIT)}")
        types = source.describe(con, relations[0], inputs[0].label)
        parts = [(relations[0], list(types))]
        if req.join_patients is not None:
            joined = _join(con, relations, inputs, types, spec)
            parts.append((relations[1], [c for c in joined if c not in types]))
            types = joined
    except BaseException:
        con.close()
        raise
    return _Run(con, types, inputs, parts)


def _join(
    con: duckdb.DuckDBPyConnection,
    relations: list[str],
    inputs: list[source.Source],
    claim_types: dict[str, str],
    spec: DatasetSpec,
) -> dict[str, str]:
    """Column types of claims joined to patients (the patients' key column appears once)."""
    patient_types = source.describe(con, relations[1], inputs[1].label)
    key = _patient_key(list(claim_types), spec)
    if key is None or key not in patient_types:
        raise InvalidInput("both inputs need the patient key column to be joined", field="join")
    clash = sorted(set(claim_types) & set(patient_types) - {key})
    if clash:
        raise InvalidInput(f"columns in both inputs: {', '.join(clash)}", field=clash[0])
    return {**claim_types, **{c: t for c, t in patient_types.items() if c != key}}


def _patient_key(columns: list[str], spec: DatasetSpec) -> str | None:
    keys = [c for c in columns if c in spec.columns and spec.columns[c].patient_key]
    if len(keys) > 1:
        raise ConfigError(f"more than one patient key declared: {', '.join(keys)}", field=keys[1])
    return keys[0] if keys else None


def _temp_path(output: Path) -> Path:
    if not output.parent.is_dir():
        raise InvalidInput(f"output directory {output.parent} does not exist", field="output")
    return output.parent / f".tmp-{uuid.uuid4().hex[:8]}-{output.name}"


def _copy(con: duckdb.DuckDBPyConnection, compiled: Compiled, tmp: Path, fmt: str) -> None:
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER"
    sql = f"COPY ({compiled.select_sql}) TO {lit(str(tmp))} ({options})"
    try:
        with tempfile.TemporaryDirectory(prefix="healthwall-spill-") as spill:
            con.execute(f"SET temp_directory = {lit(spill)}")
            con.execute(sql, compiled.params)
    except duckdb.Error as exc:
        raise InvalidInput(f"the extract failed ({type(exc).__name__}); check the input") from None


def _counts(
    con: duckdb.DuckDBPyConnection, compiled: Compiled, labels: list[str]
) -> tuple[list[int], list[ColumnCounts]]:
    """Rows of each input and the per-column counts, from the one count query."""
    try:
        row = con.execute(compiled.count_sql, compiled.count_params).fetchone()
    except duckdb.Error as exc:
        raise InvalidInput(f"counting failed ({type(exc).__name__})") from None
    assert row is not None
    rows: list[int] = []
    per: dict[str, dict[str, int]] = {}
    origin: dict[str, str] = {}
    for (column, measure), value in zip(compiled.count_columns, row, strict=True):
        if (column, measure) == ROWS:
            rows.append(int(value or 0))
            continue
        per.setdefault(column, {})[measure] = int(value or 0)
        origin[column] = labels[len(rows) - 1]
    counts = [
        ColumnCounts(
            column=column,
            counted_over=origin[column],
            non_null_in=m.get("non_null_in", 0),
            transformed=m.get("transformed", 0),
            nulled=m.get("nulled", 0),
            suppressed=m.get("suppressed", 0),
            dropped=m.get("dropped", 0),
        )
        for column, m in per.items()
    ]
    return rows, counts


def _check_verdict(verdict: VerificationResult, rows_in: int) -> None:
    if not verdict.passed:
        raise Refused(
            "the output failed verification and was deleted: "
            + "; ".join(describe_findings(verdict))
        )
    if verdict.rows != rows_in:
        raise IntegrityError(f"row count changed ({rows_in} in, {verdict.rows} out)")


def verify(
    path: Path,
    spec_path: Path | None = None,
    ruleset: str = "safe-harbor",
    zip_table: str = "census-2010",
    reference: date | None = None,
) -> VerificationResult:
    """Scan ``path`` for surviving identifiers (the ``verify-safe-harbor`` command)."""
    spec = _load_spec(spec_path)
    return verify_file(path, spec=spec, ruleset=ruleset, zip_table=zip_table, reference=reference)


__all__ = ["DeidRequest", "deidentify", "describe_findings", "verify"]
