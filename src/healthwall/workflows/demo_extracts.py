"""The demo's bulk extracts, recorded in the ledger.

Two extracts for the State University research team: the claims under Safe Harbor (with the
de-identification report) and the patients under expert determination (Safe Harbor for direct
identifiers, then generalization until the highest prosecutor risk is at most 0.09, the threshold
for a controlled recipient under a data use agreement). Each is appended to the ledger as an
``ExtractMade`` entry (digests, row counts, risks; never content), so the ledger and the
console's extract history have both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthwall.ledger.log import Ledger
from healthwall.model.entries import ExtractMade
from healthwall.secrets import resolve_secret
from healthwall.workflows import deidentify as deid
from healthwall.workflows.anonymize import expert_determination

RECIPIENT = "State University research team"
EXPERT_THRESHOLD = 0.09  # controlled recipient under a data use agreement (LEGAL.md)


@dataclass(frozen=True)
class Extract:
    """One extract the demo made: its files and what the ledger recorded."""

    name: str
    output: Path
    report: Path | None
    rows_in: int
    rows_out: int
    risk_after: float | None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def safe_harbor(workdir: Path, store: Path, key_ref: str) -> tuple[Extract, ExtractMade]:
    """The claims (joined with patients) under Safe Harbor, with its report."""
    out = workdir / "extracts" / "claims-safe-harbor.parquet"
    report = workdir / "extracts" / "claims-safe-harbor-report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = deid.deidentify(
        deid.DeidRequest(
            input=f"store:{store}#claims",
            output=out,
            profile="safe-harbor",
            recipient=RECIPIENT,
            key_ref=key_ref,
            report=report,
            join_patients=f"store:{store}#patients",
        )
    )
    entry = ExtractMade(
        extract_id="demo-claims-safe-harbor",
        recipient=RECIPIENT,
        profile=result.profile,
        spec_hash=result.spec_sha256,
        input_digest=result.input_sha256[0],
        output_digest=result.output_sha256,
        rows_in=result.rows_in,
        rows_out=result.rows_out,
        risk_before=1.0,
        risk_after=None,
        threshold=1.0,
        outcome="released",
        reason="45 CFR 164.514(b)(2) Safe Harbor; verified: no identifier survives",
    )
    extract = Extract("claims, Safe Harbor", out, report, result.rows_in, result.rows_out, None)
    return extract, entry


def expert(workdir: Path, store: Path, patients_file: Path) -> tuple[Extract, ExtractMade]:
    """The patients under expert determination (risk-driven generalization)."""
    out = workdir / "extracts" / "patients-expert-determination.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = expert_determination(f"store:{store}#patients", out, threshold=EXPERT_THRESHOLD)
    risk_after = float(summary["risk_after"]["prosecutor_highest"])
    rows_out = int(summary["records"]) - int(summary["suppressed"])
    spec = {k: summary[k] for k in ("profile", "qi", "levels", "threshold", "dropped_columns")}
    (out.parent / "patients-expert-determination.json").write_text(
        json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
    )
    entry = ExtractMade(
        extract_id="demo-patients-expert",
        recipient=RECIPIENT,
        profile="expert-determination",
        spec_hash=_sha256_json(spec),
        input_digest=_sha256_file(patients_file),
        output_digest=_sha256_file(out),
        rows_in=int(summary["records"]),
        rows_out=rows_out,
        risk_before=float(summary["risk_before"]["prosecutor_highest"]),
        risk_after=risk_after,
        threshold=EXPERT_THRESHOLD,
        outcome="released",
        reason=f"45 CFR 164.514(b)(1): highest prosecutor risk {risk_after:.3f}"
        f" <= {EXPERT_THRESHOLD}",
    )
    report = out.parent / "patients-expert-determination.json"
    extract = Extract(
        "patients, expert determination", out, report, int(summary["records"]), rows_out, risk_after
    )
    return extract, entry


def record(db: str, key_ref: str, entries: list[ExtractMade]) -> None:
    """Append the extracts to the ledger in one transaction."""
    key = resolve_secret(key_ref, what="pseudonym_key")
    with Ledger.open(db, pseudonym_key=key) as ledger, ledger.writer() as tx:
        tx.append_many(entries)
