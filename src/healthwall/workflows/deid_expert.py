"""``healthwall deidentify --profile expert``: expert determination (45 CFR 164.514(b)(1)).

Direct identifiers get Safe Harbor's treatment (every column declared ``identifier``, and free
text not declared safe, is dropped; the patient key becomes the SAME keyed HMAC token that the
safe-harbor profile writes for that recipient, or is dropped without a key). The declared
quasi-identifiers are then generalized by the optimal lattice search of
:mod:`healthwall.workflows.anonymize` until the highest prosecutor risk is at most the threshold
within the suppression limit, or the run is refused with the reason.

The risk unit is the patient. With a patient key, the search counts one record per patient: the
histogram is built over ``SELECT DISTINCT key, quasi-identifiers``. A quasi-identifier that varies
between the lines of one patient (a service date on claim lines) has no single per-patient value,
so its disclosure risk could not be measured by equivalence classes: such columns are dropped
(fail closed) and listed in the report. Suppressed patients are left out with all their lines.
Without a patient key every row is a record.

Steps: check declarations and scan for undeclared identifiers (as safe-harbor does), stage the
pseudonymized, text-typed columns in a DuckDB temp table, search, write to a temporary file,
verify it with the direct-identifier rules, then rename it into place and write the report.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import healthwall
from healthwall.deid import detect, expert, profiles, pseudonym, source
from healthwall.deid.histogram import quote
from healthwall.deid.recoding import output_class_sizes, write_output
from healthwall.deid.search import search
from healthwall.deid.sql import is_temporal, lit
from healthwall.deid.verify import describe_findings, verify_file
from healthwall.deid.zip3 import zip3_table
from healthwall.errors import ConfigError, InvalidInput, Refused
from healthwall.model.anonymize import AnonymizeSpec
from healthwall.model.dataset import DatasetSpec, Role
from healthwall.model.deid import ColumnTreatment, DeidReport, Treatment, VerificationResult
from healthwall.reports.deid_report import check_report_path, write_report
from healthwall.workflows import anonymize as anon
from healthwall.workflows import deidentify as base

NAME = "expert"
DEFAULT_MAX_RISK = 0.05
DEFAULT_SUPPRESSION = 0.04
STAGE = "hw_expert_src"
RULESET = "limited-data-set"  # direct identifiers only: generalized ZIPs and dates are allowed
METHOD = (
    "Safe Harbor removal of direct identifiers; keyed pseudonym for the patient key; globally"
    " optimal full-domain generalization of the quasi-identifiers (lattice search, precomputed"
    " non-uniform entropy) with record suppression until the highest prosecutor risk"
    " (1 / smallest equivalence class, counted in the risk unit) is at most the threshold"
)


@dataclass(frozen=True)
class ExpertParams:
    """The expert profile's model: threshold, suppression limit, optional k."""

    threshold: float
    suppression: float
    k: int | None


def params_of(req: base.DeidRequest) -> ExpertParams:
    """Validate the expert options, naming the bad one."""
    if req.date_shift_days is not None:
        raise ConfigError(f"profile {NAME} does not shift dates", field="date_shift_days")
    max_risk = DEFAULT_MAX_RISK if req.max_risk is None else req.max_risk
    suppression = DEFAULT_SUPPRESSION if req.suppression is None else req.suppression
    if not 0.0 < max_risk <= 1.0:
        raise InvalidInput("--max-risk must be in (0, 1]", field="max_risk")
    if not 0.0 <= suppression < 1.0:
        raise InvalidInput("--suppression must be in [0, 1)", field="suppression")
    if req.k is not None and req.k < 1:
        raise InvalidInput("--k must be at least 1", field="k")
    threshold = max_risk if req.k is None else min(max_risk, 1.0 / req.k)
    return ExpertParams(threshold, suppression, req.k)


@dataclass
class _Job:
    """What one run knows once the input is open and the columns are split."""

    run: base._Run
    req: base.DeidRequest
    spec: DatasetSpec
    params: ExpertParams
    pk: str | None
    keyed: bool
    columns: list[str]  # every input column (joined), in order
    kept: list[str]  # columns not removed as direct identifiers
    qi: list[str]  # quasi-identifiers searched (constant per patient)
    line_level: list[str]  # quasi-identifiers dropped because they vary within a patient


def deidentify_expert(req: base.DeidRequest, progress: base.Progress) -> DeidReport:
    """Run one expert-determination extract; returns its report (also written when asked)."""
    params = params_of(req)
    zip3_table(req.zip_table)  # an unknown table name is an error before any work
    source.file_format(req.output)
    if req.report is not None:
        check_report_path(req.report)
    if req.hierarchies is not None and not req.hierarchies.is_dir():
        raise InvalidInput(f"{req.hierarchies} is not a directory", field="hierarchies")
    key = base._recipient_key(req)
    progress("reading the spec and the input")
    spec = base._load_spec(req.spec)
    run = base._open(req, spec)
    with tempfile.TemporaryDirectory(prefix="healthwall-spill-") as spill:
        try:  # the staging table may spill; the connection closes before the directory goes
            run.con.execute(f"SET temp_directory = {lit(spill)}")
            job = _prepare(run, req, spec, params, key, progress)
            report = _search_write_release(job, progress)
        finally:
            run.con.close()
    if req.report is not None:
        progress("writing the report")
        write_report(report, req.report)
    return report


def _prepare(
    run: base._Run,
    req: base.DeidRequest,
    spec: DatasetSpec,
    params: ExpertParams,
    key: bytes | None,
    progress: base.Progress,
) -> _Job:
    """Check declarations, scan for undeclared identifiers, stage, split the columns."""
    columns = list(run.types)
    detect.check_declared(columns, spec, req.input)
    safe_harbor = profiles.get_profile("safe-harbor")
    sh_plan = profiles.plan(safe_harbor, columns, spec, profiles.PlanOptions(keyed=False))
    progress("scanning for undeclared identifiers")
    detect.reject_undeclared(base._scan(run, sh_plan))
    kept, qi = expert.split_columns(columns, spec)
    pk = base._patient_key(columns, spec)
    progress("staging the pseudonymized columns")
    _stage(run, pk, key, kept, qi)
    line_level = _line_level(run, pk, qi) if pk is not None else []
    searched = [c for c in qi if c not in line_level]
    if not searched:
        raise InvalidInput("no quasi-identifier is constant per patient", field="spec")
    return _Job(run, req, spec, params, pk, key is not None, columns, kept, searched, line_level)


def _stage(
    run: base._Run, pk: str | None, key: bytes | None, kept: list[str], qi: list[str]
) -> None:
    """Temp table of the kept columns: quasi-identifiers as text (dates ISO), the patient key
    as its token (``__hw_pk``, the same HMAC as safe-harbor) when keyed."""
    select: list[str] = []
    params = pseudonym.SqlParams()
    for column in kept:
        ref = f"t.{quote(column)}"
        if column in qi:
            typ = run.types[column]
            text = f"strftime(CAST({ref} AS DATE), '%Y-%m-%d')" if is_temporal(typ) else ref
            select.append(f"CAST({text} AS VARCHAR) AS {quote(column)}")
        else:
            select.append(f"{ref} AS {quote(column)}")
    if pk is not None:
        pk_ref = f"t.{quote(pk)}"
        token = pseudonym.token_sql(key, pk_ref, params) if key is not None else "NULL"
        select.append(f"{token} AS __hw_pk")
        select.append(f"CAST({pk_ref} AS VARCHAR) AS __hw_id")
    sql = f"CREATE TEMP TABLE {STAGE} AS SELECT {', '.join(select)} FROM ({_joined(run, pk)}) t"
    try:
        run.con.execute(sql, params.values)
    except Exception as exc:  # DuckDB's messages may quote data: name the class only
        raise InvalidInput(f"staging failed ({type(exc).__name__}); check the input") from None


def _joined(run: base._Run, pk: str | None) -> str:
    """The input, joined to its patients when asked (claims without a patient are kept)."""
    main, main_cols = run.parts[0]
    if len(run.parts) == 1 or pk is None:
        return main
    side, side_cols = run.parts[1]
    cols = [f"m.{quote(c)}" for c in main_cols] + [f"p.{quote(c)}" for c in side_cols]
    on = f"CAST(m.{quote(pk)} AS VARCHAR) = CAST(p.{quote(pk)} AS VARCHAR)"
    return f"SELECT {', '.join(cols)} FROM ({main}) m LEFT JOIN ({side}) p ON {on}"


def _line_level(run: base._Run, pk: str | None, qi: list[str]) -> list[str]:
    """Quasi-identifiers with more than one value for some patient."""
    assert pk is not None
    counts = ", ".join(f"count(DISTINCT coalesce({quote(c)}, '')) AS {quote(c)}" for c in qi)
    maxes = ", ".join(f"max({quote(c)})" for c in qi)
    sql = (
        f"SELECT {maxes} FROM (SELECT {counts} FROM {STAGE}"
        " WHERE __hw_id IS NOT NULL GROUP BY __hw_id)"
    )
    row = run.con.execute(sql).fetchone()
    assert row is not None
    return [c for c, n in zip(qi, row, strict=True) if n is not None and int(n) > 1]


def _search_write_release(job: _Job, progress: base.Progress) -> DeidReport:
    """Search, write to a temporary file, verify, rename; the report of the released file."""
    con, req, params = job.run.con, job.req, job.params
    aspec = AnonymizeSpec.build(
        qi=job.qi, k=params.k, max_risk=params.threshold, suppression=params.suppression
    )
    kinds = {c: job.spec.columns[c].kind for c in job.qi}
    cols = ", ".join(quote(c) for c in job.qi)
    unit = f"SELECT DISTINCT __hw_id, {cols} FROM {STAGE}" if job.pk else f"SELECT * FROM {STAGE}"
    progress("searching the generalization lattice")
    problem = anon._read(
        con, f"SELECT {cols} FROM ({unit})", aspec, req.hierarchies, kinds, "input"
    )
    limit = aspec.suppression * problem.hist.records
    try:
        result = search(problem.evaluator(problem.hist, limit), problem.heights)
    except Refused:
        raise Refused(
            f"expert determination refused: no generalization of {', '.join(job.qi)} brings the"
            f" highest prosecutor risk to {params.threshold:g} with at most"
            f" {params.suppression:.1%} of {_unit(job)} suppressed"
        ) from None
    passes = anon._passes(problem, result.best)
    summary = anon._summary(problem, result, passes)
    out_cols = [c for c in job.columns if c in job.kept and c not in job.line_level]
    if job.pk is not None and job.keyed:
        out_cols = [c for c in job.columns if c in out_cols or c == job.pk]
    relation = f"SELECT * FROM {STAGE}"
    if job.pk is not None:
        token = f"__hw_pk AS {quote(job.pk)}"
        relation = f"SELECT * EXCLUDE (__hw_pk, __hw_id), {token} FROM {STAGE}"
    tmp = base._temp_path(req.output)
    try:
        progress("writing the extract")
        hist, enc = problem.hist, problem.encoded
        rows_out = write_output(
            con, relation, out_cols, hist, enc, passes, tmp, drop_suppressed=True
        )
        sizes = output_class_sizes(con, len(job.qi), drop_suppressed=True)
        summary["risk_after"] = anon._risk(sizes)
        progress("verifying the output")
        verdict = _verify(job, tmp)
        input_rows = _input_rows(job.run)
        summary.update(_facts(job, input_rows[0], rows_out))
        report = _report(job, input_rows, verdict, source.sha256_file(tmp), summary)
        os.replace(tmp, req.output)
    finally:
        tmp.unlink(missing_ok=True)
    return report


def _unit(job: _Job) -> str:
    return "patients" if job.pk is not None else "records"


def _facts(job: _Job, rows_in: int, rows_out: int) -> dict[str, Any]:
    params = job.params
    return {
        "method": METHOD,
        "risk_unit": _unit(job),
        "threshold": params.threshold,
        "k": params.k,
        "suppression_limit": params.suppression,
        "suppressed_rows": rows_in - rows_out,
        "line_level_dropped": job.line_level,
        "hierarchies": str(job.req.hierarchies) if job.req.hierarchies else "built from kinds",
    }


def _verify(job: _Job, tmp: Path) -> VerificationResult:
    """The direct-identifier rules over the temporary output; any finding refuses the run."""
    verdict = verify_file(
        tmp, spec=job.spec, ruleset=RULESET, zip_table=job.req.zip_table, reference=_today(job)
    )
    if not verdict.passed:
        raise Refused(
            "the output failed verification and was deleted: "
            + "; ".join(describe_findings(verdict))
        )
    return verdict


def _today(job: _Job) -> date:
    return job.req.reference_date or datetime.now(UTC).date()


def _input_rows(run: base._Run) -> list[int]:
    rows: list[int] = []
    for relation, _ in run.parts:
        row = run.con.execute(f"SELECT count(*) FROM ({relation})").fetchone()
        rows.append(int(row[0]) if row else 0)
    return rows


def _plan(job: _Job) -> list[ColumnTreatment]:
    """Each input column's treatment: Safe Harbor's for direct identifiers and the patient key,
    generalization for the searched quasi-identifiers, drop for line-level ones, else keep."""
    sh = profiles.get_profile("safe-harbor")
    sh_plan = profiles.plan(sh, job.columns, job.spec, profiles.PlanOptions(keyed=job.keyed))
    out: list[ColumnTreatment] = []
    for t in sh_plan:
        col = job.spec.columns[t.column]
        kind = col.kind.value if col.kind else None
        if t.column in job.qi:
            why = "generalized by the search until the risk threshold holds"
            out.append(_treated(t.column, col.role, kind, Treatment.GENERALIZE, why))
        elif t.column in job.line_level:
            why = "quasi-identifier that varies within a patient: its risk is not measured"
            out.append(_treated(t.column, col.role, kind, Treatment.DROP, why))
        elif t.column in job.kept:
            why = "not an identifier"
            out.append(_treated(t.column, col.role, kind, Treatment.KEEP, why))
        else:
            out.append(t)
    return out


def _treated(column: str, role: Role, kind: str | None, t: Treatment, why: str) -> ColumnTreatment:
    return ColumnTreatment(
        column=column,
        role=role.value,
        kind=kind,
        treatment=t,
        rule="-",
        citation=expert.CITATION,
        reason=why,
    )


def _report(
    job: _Job,
    input_rows: list[int],
    verdict: VerificationResult,
    output_sha256: str,
    summary: dict[str, Any],
) -> DeidReport:
    req = job.req
    table = zip3_table(req.zip_table)
    return DeidReport(
        healthwall_version=healthwall.__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        profile=NAME,
        citation=expert.CITATION,
        input=req.input,
        inputs=[i.label for i in job.run.inputs],
        input_rows=input_rows,
        output=str(req.output),
        output_format=source.file_format(req.output),
        recipient=req.recipient,
        pseudonym_scheme=pseudonym.SCHEME if job.keyed else None,
        date_shift_days=None,
        reference_date=_today(job).isoformat(),
        zip_table=table.name,
        zip_table_sha256=table.sha256,
        restricted_zip3=sorted(table.restricted),
        rows_in=input_rows[0],
        rows_out=verdict.rows,
        input_sha256=[source.sha256_file(s.path) for s in job.run.inputs],
        output_sha256=output_sha256,
        spec_sha256=base._spec_digest(job.spec),
        columns=_plan(job),
        counts=[],
        verification=verdict,
        expert=summary,
    )
