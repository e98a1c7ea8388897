"""Benchmark of synthetic data generation and ingest (issue 2, area "data").

Run: ``.venv/bin/python bench/synth.py [--patients 1000000] [--fhir-patients 20000]``

1. ``healthwall synth`` of N patients (~10 N claim lines), as a whole process: wall time and peak
   RSS (target: 1M patients / ~10M lines in under 2 minutes).
2. Ingest of the synthetic Parquet files into a fresh DuckDB store (types checked, labels
   derived, roles recorded), against the baseline of DuckDB itself copying the same Parquet
   files into tables (``CREATE TABLE AS SELECT * FROM read_parquet``), measured in the same run.
3. FHIR: export of a smaller synthetic set to NDJSON, then ingest of the NDJSON, validated with
   fhir.resources (``full``) and with the fast structural checks (``structure``): resources/s.

Writes bench/results/synth.json and bench/results/synth.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "bench" / "results"

CHILD = """
import resource, sys, time, json
from pathlib import Path
t = time.perf_counter()
{body}
print(json.dumps({{"seconds": time.perf_counter() - t,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "result": result}}))
"""

SYNTH = """
from healthwall.workflows.synth import run_synth
r = run_synth({n}, 1, Path({out!r}))
result = {{"patients": r.patients, "claim_lines": r.claim_lines}}
"""

INGEST = """
from healthwall.workflows.ingest import run_ingest
r = run_ingest([Path(p) for p in {inputs!r}], Path({store!r}), fhir_validation={mode!r})
result = {{"rows": r.rows, "resources": r.resources}}
"""

EXPORT = """
from healthwall.workflows.ingest import export_to_fhir
export_to_fhir(Path({p!r}), Path({c!r}), Path({out!r}))
result = {{}}
"""

BASELINE = """
import duckdb
con = duckdb.connect({store!r})
con.execute("SET enable_progress_bar = false")
for name, path in (("patients", {p!r}), ("claims", {c!r})):
    con.execute(f"CREATE TABLE {{name}} AS SELECT * FROM read_parquet('{{path}}')")
con.close()
result = {{}}
"""


def child(body: str) -> dict[str, Any]:
    """Run a step in a fresh interpreter (whole-process time and its own peak memory)."""
    code = CHILD.format(body=body)
    t = time.perf_counter()
    out = subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    data["process_seconds"] = time.perf_counter() - t
    return data


def count(path: Path) -> int:
    return int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--fhir-patients", type=int, default=20_000)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()[0],
        },
        "duckdb": duckdb.__version__,
    }
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        work = Path(tmp)
        big = work / "big"
        synth = child(SYNTH.format(n=args.patients, out=str(big)))
        synth["target_seconds"] = 120
        synth["claim_lines_per_patient"] = synth["result"]["claim_lines"] / args.patients
        results["synth"] = synth
        print(f"synth {args.patients}: {synth['process_seconds']:.1f} s", file=sys.stderr)

        p, c = str(big / "patients.parquet"), str(big / "claims.parquet")
        base = child(BASELINE.format(store=str(work / "baseline.duckdb"), p=p, c=c))
        ing = child(INGEST.format(inputs=[p, c], store=str(work / "store.duckdb"), mode="full"))
        rows = sum(ing["result"]["rows"].values())
        results["ingest_parquet"] = {
            "rows": rows,
            "healthwall": ing,
            "duckdb_copy_baseline": base,
            "ratio_to_baseline": ing["seconds"] / base["seconds"],
            "rows_per_second": rows / ing["seconds"],
        }
        print(f"ingest parquet: {ing['seconds']:.1f} s vs {base['seconds']:.1f} s", file=sys.stderr)

        small = work / "small"
        child(SYNTH.format(n=args.fhir_patients, out=str(small)))
        fhir = small / "fhir"
        export = child(
            EXPORT.format(
                p=str(small / "patients.parquet"), c=str(small / "claims.parquet"), out=str(fhir)
            )
        )
        ndjson = [str(fhir / "Patient.ndjson"), str(fhir / "Claim.ndjson")]
        fing = child(INGEST.format(inputs=ndjson, store=str(work / "fhir.duckdb"), mode="full"))
        fast = child(
            INGEST.format(inputs=ndjson, store=str(work / "fast.duckdb"), mode="structure")
        )
        resources = sum(fing["result"]["resources"].values())
        results["fhir"] = {
            "patients": args.fhir_patients,
            "claim_lines": count(small / "claims.parquet"),
            "resources": resources,
            "export_seconds": export["seconds"],
            "ingest": fing,
            "resources_per_second": resources / fing["seconds"],
            "ingest_structure_validation": fast,
            "structure_resources_per_second": resources / fast["seconds"],
        }
        print(f"fhir ingest: {resources / fing['seconds']:.0f} resources/s", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "synth.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "synth.md").write_text(render(results, args.patients), encoding="utf-8")


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render(r: dict[str, Any], n: int) -> str:
    s, i, f = r["synth"], r["ingest_parquet"], r["fhir"]
    ok = "met" if s["process_seconds"] < s["target_seconds"] else "MISSED"
    hw, base, fi = i["healthwall"], i["duckdb_copy_baseline"], f["ingest"]
    rows = [
        _row("step", "rows", "wall time (s)", "peak RSS (MB)", "note"),
        _row("---", "---:", "---:", "---:", "---"),
        _row(
            f"`synth` {n:,} patients",
            f"{s['result']['claim_lines']:,} claim lines",
            f"{s['process_seconds']:.1f}",
            f"{s['peak_rss_mb']:.0f}",
            f"target < 120 s: {ok}; {s['claim_lines_per_patient']:.2f} lines/patient",
        ),
        _row(
            "ingest Parquet (healthwall)",
            f"{i['rows']:,}",
            f"{hw['seconds']:.1f}",
            f"{hw['peak_rss_mb']:.0f}",
            f"{i['rows_per_second']:,.0f} rows/s; types checked, labels derived",
        ),
        _row(
            "DuckDB copy Parquet -> table (baseline)",
            f"{i['rows']:,}",
            f"{base['seconds']:.1f}",
            f"{base['peak_rss_mb']:.0f}",
            f"ratio healthwall / baseline: {i['ratio_to_baseline']:.2f}",
        ),
        _row(
            "export FHIR NDJSON",
            f"{f['patients']:,} patients, {f['claim_lines']:,} lines",
            f"{f['export_seconds']:.1f}",
            "",
            "",
        ),
        _row(
            "ingest FHIR NDJSON (validated)",
            f"{f['resources']:,} resources",
            f"{fi['seconds']:.1f}",
            f"{fi['peak_rss_mb']:.0f}",
            f"{f['resources_per_second']:,.0f} resources/s",
        ),
        _row(
            "ingest FHIR NDJSON (`--fhir-validation structure`)",
            f"{f['resources']:,} resources",
            f"{f['ingest_structure_validation']['seconds']:.1f}",
            f"{f['ingest_structure_validation']['peak_rss_mb']:.0f}",
            f"{f['structure_resources_per_second']:,.0f} resources/s",
        ),
    ]
    machine = r["machine"]
    return (
        "# Benchmark: synthetic data and ingest\n\n"
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, DuckDB {r['duckdb']}; "
        f"1-minute load average at start {machine.get('load_average_at_start', 0):.1f}.\n"
        f"Run: `.venv/bin/python bench/synth.py --patients {n} --fhir-patients {f['patients']}`\n\n"
        + "\n".join(rows)
        + "\n\nThe synth time is the whole process (interpreter start-up and imports included); "
        "the other times are measured inside their worker process.\n"
    )


if __name__ == "__main__":
    main()
