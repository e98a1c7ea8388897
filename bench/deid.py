"""Benchmark: Safe Harbor + keyed pseudonyms over claim lines joined to their patients.

Parquet in, Parquet out, against DuckDB itself copying the same input Parquet files to Parquet
(``COPY (SELECT * FROM read_parquet(...)) TO ... (FORMAT parquet, COMPRESSION zstd)``), measured
in the same run. Each measured phase runs in its own subprocess so its peak RSS
(``resource.getrusage``) is its own. Target (issue 2): deid wall time <= 2x the copy; peak
memory < 4 GB.

    .venv/bin/python bench/deid.py                     # 1M patients, 10M claim lines
    .venv/bin/python bench/deid.py --patients 100000 --lines 1000000

Inputs come from ``healthwall synth`` when that command exists, else from a DuckDB generator of
the same schema (below). Results: bench/results/deid.json and bench/results/deid.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
KEY_ENV = "HW_BENCH_DEID_KEY"
OPTS = "(FORMAT parquet, COMPRESSION zstd)"

PATIENTS = """
SELECT 'P' || lpad(i::VARCHAR, 8, '0') AS patient_id, 'MRN' || lpad(i::VARCHAR, 9, '0') AS mrn,
  '9' || lpad((i % 100)::VARCHAR, 2, '0') || '-' || lpad((i % 89 + 10)::VARCHAR, 2, '0') || '-'
    || lpad((i % 9999)::VARCHAR, 4, '0') AS ssn,
  'MC' || lpad(i::VARCHAR, 10, '0') AS medicaid_id,
  (['Maria','James','Wei','Aisha','Jose','Mary','Li','John'])[1 + hm(i, 8)] AS first_name,
  (['Garcia','Smith','Chen','Okafor','Nguyen','Brown','Patel','Lee'])[1 + hm(i + 1, 8)]
    AS last_name,
  DATE '1920-01-01' + CAST(hm(i + 2, 38000) AS INTEGER) AS birth_date,
  (['F','M'])[1 + i % 2] AS sex, (i % 9999)::VARCHAR || ' Main St' AS address_line,
  (['Boston','Lyme','Nome','Austin'])[1 + i % 4] AS city,
  (['Suffolk','Grafton','Nome','Travis'])[1 + i % 4] AS county,
  (['MA','NH','AK','TX'])[1 + i % 4] AS state,
  lpad((hm(i + 3, 99999))::VARCHAR, 5, '0') AS zip,
  '(555) 010-' || lpad((i % 10000)::VARCHAR, 4, '0') AS phone,
  'p' || i::VARCHAR || '@example.org' AS email,
  (['White','Black','Asian','Other'])[1 + hm(i + 4, 4)] AS race,
  (['Hispanic','Not Hispanic'])[1 + hm(i + 5, 2)] AS ethnicity,
  (['English','Spanish','Chinese'])[1 + hm(i + 6, 3)] AS language,
  (['US','MX','SV','CN'])[1 + hm(i + 7, 4)] AS birthplace_country,
  (['citizen','lpr','undocumented'])[1 + hm(i + 8, 3)] AS immigration_status,
  'photos/' || i::VARCHAR || '.jpg' AS photo_ref
FROM range({n}) AS r(i)
"""

CLAIMS = """
SELECT 'C' || lpad((i // 3)::VARCHAR, 10, '0') AS claim_id,
  CAST(1 + i % 3 AS INTEGER) AS line_number,
  'P' || lpad((hm(i // 3, {patients}))::VARCHAR, 8, '0') AS patient_id,
  DATE '2018-01-01' + CAST(hm(i + 9, 2900) AS INTEGER) AS service_date,
  '1234567893' AS provider_npi, (['General','Clinic','Mercy'])[1 + hm(i, 3)] AS facility,
  '11' AS place_of_service,
  (['F10.20','B20','Z21','E11.9','I10','O80'])[1 + hm(i + 1, 6)] AS dx1,
  (['J45.909','', 'F32.9'])[1 + hm(i + 2, 3)] AS dx2, CAST(NULL AS VARCHAR) AS dx3,
  (['99213','99214','80053'])[1 + hm(i + 3, 3)] AS procedure_code,
  CAST(hm(i + 4, 50000) AS DOUBLE) / 100 AS paid_amount,
  (['SUD','HIV','MH',''])[1 + hm(i + 5, 4)] AS sensitivity_labels
FROM range({n}) AS r(i)
"""


def generate(work: Path, patients: int, lines: int) -> tuple[Path, Path, str]:
    """Write the inputs (synth if available, else the DuckDB generator); returns the source."""
    p, c, origin = work / "patients.parquet", work / "claims.parquet", work / "ORIGIN"
    if p.exists() and c.exists() and origin.exists():
        return p, c, origin.read_text().strip() + " (cached)"
    synth = ROOT / ".venv" / "bin" / "healthwall"
    probe = subprocess.run([synth, "synth", "--help"], capture_output=True, check=False)
    if probe.returncode == 0:
        cmd = [synth, "synth", "--patients", str(patients), "--seed", "1", "--out", str(work)]
        subprocess.run(cmd, check=True)
        origin.write_text("healthwall synth --seed 1")
        return p, c, "healthwall synth --seed 1"
    con = duckdb.connect()
    opts = OPTS
    con.execute("CREATE MACRO hm(x, n) AS CAST(hash(x) % n AS BIGINT)")
    con.execute(f"COPY ({PATIENTS.format(n=patients)}) TO '{p}' {opts}")
    con.execute(f"COPY ({CLAIMS.format(n=lines, patients=patients)}) TO '{c}' {opts}")
    con.close()
    origin.write_text("bench DuckDB generator")
    return p, c, "bench DuckDB generator"


def phase_copy(claims: Path, patients: Path, out: Path) -> None:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for src, dst in ((claims, out), (patients, out.with_name("patients_copy.parquet"))):
        sql = f"COPY (SELECT * FROM read_parquet('{src}')) TO '{dst}' {OPTS}"
        con.execute(sql)
    con.close()


def phase_deid(claims: Path, patients: Path, out: Path) -> dict[str, float]:
    from healthwall.workflows.deidentify import DeidRequest, deidentify

    marks: list[tuple[str, float]] = []
    req = DeidRequest(
        input=str(claims),
        output=out,
        recipient="bench-recipient",
        key_ref=f"env:{KEY_ENV}",
        report=out.with_suffix(".json"),
        join_patients=str(patients),
    )
    deidentify(req, progress=lambda step: marks.append((step, time.perf_counter())))
    end = time.perf_counter()
    steps: dict[str, float] = {}
    for (name, t0), (_, t1) in zip(marks, [*marks[1:], ("end", end)], strict=True):
        steps[name] = round(t1 - t0, 3)
    return steps


def child(args: argparse.Namespace) -> None:
    """Run one phase and print its wall time, peak RSS and step times as JSON."""
    work = Path(args.work)
    claims, patients = work / "claims.parquet", work / "patients.parquet"
    out = work / f"out_{args.phase}.parquet"
    start = time.perf_counter()
    steps = (
        phase_copy(claims, patients, out)
        if args.phase == "copy"
        else phase_deid(claims, patients, out)
    )
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    out = {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "steps": steps or {},
    }
    print(json.dumps(out))


def run_phase(phase: str, work: Path) -> dict[str, object]:
    env = {**os.environ, KEY_ENV: os.environ.get(KEY_ENV, "bench-master-key-0123456789abcdef")}
    cmd = [sys.executable, __file__, "--child", phase, "--work", str(work)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", default=str(ROOT / "bench" / ".work" / "deid"))
    parser.add_argument("--child", dest="phase", default=None)
    args = parser.parse_args()
    if args.phase:
        child(args)
        return
    work = Path(args.work) / f"{args.patients}_{args.lines}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    patients, claims, origin = generate(work, args.patients, args.lines)
    gen_s = time.perf_counter() - t0
    runs: dict[str, list[dict[str, object]]] = {"copy": [], "deid": []}
    for _ in range(args.repeat):
        for phase in ("copy", "deid"):
            runs[phase].append(run_phase(phase, work))
    write_results(args, origin, gen_s, claims, patients, runs)


def write_results(args, origin, gen_s, claims, patients, runs) -> None:  # type: ignore[no-untyped-def]
    copy_s = statistics.median(float(r["wall_s"]) for r in runs["copy"])
    deid_s = statistics.median(float(r["wall_s"]) for r in runs["deid"])
    peak = max(float(r["peak_rss_mb"]) for r in runs["deid"])
    copy_cpu = statistics.median(float(r["cpu_s"]) for r in runs["copy"])
    deid_cpu = statistics.median(float(r["cpu_s"]) for r in runs["deid"])
    pairs = [
        round(float(d["wall_s"]) / float(c["wall_s"]), 2)
        for c, d in zip(runs["copy"], runs["deid"], strict=True)
    ]
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{claims}')").fetchall()[0][0]
    result = {
        "benchmark": "deid: Safe Harbor + HMAC pseudonyms, claims joined to patients",
        "baseline": "DuckDB COPY of the same input Parquet files (claims + patients), zstd",
        "input": {"origin": origin, "patients": args.patients, "claim_lines": rows,
                  "claims_mb": round(claims.stat().st_size / 2**20, 1),
                  "patients_mb": round(patients.stat().st_size / 2**20, 1),
                  "generate_s": round(gen_s, 2)},
        "copy_s": round(copy_s, 3), "deid_s": round(deid_s, 3), "ratio": round(deid_s / copy_s, 3),
        "ratio_per_pair": pairs,
        "copy_cpu_s": round(copy_cpu, 3), "deid_cpu_s": round(deid_cpu, 3),
        "cpu_ratio": round(deid_cpu / copy_cpu, 3),
        "target_ratio": 2.0, "deid_peak_rss_mb": round(peak, 1), "target_peak_rss_mb": 4096,
        "copy_peak_rss_mb": round(max(float(r["peak_rss_mb"]) for r in runs["copy"]), 1),
        "deid_steps_s": runs["deid"][-1]["steps"], "runs": runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "duckdb": duckdb.__version__},
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "deid.json").write_text(json.dumps(result, indent=2) + "\n")
    steps = "\n".join(f"| {k} | {v} |" for k, v in result["deid_steps_s"].items())  # type: ignore[union-attr]
    md = f"""# deid benchmark

Safe Harbor + keyed pseudonyms (HMAC-SHA256 in DuckDB SQL) over {rows:,} claim lines joined to
{args.patients:,} patients; Parquet in, Parquet out; full workflow (spec check, identifier scan,
the one COPY statement, count query, verification of the output, SHA-256 digests, report).
Baseline in the same run: {result["baseline"]}. Median of {args.repeat} runs each, copy and
deid alternating, each in its own process; inputs from {origin}. {os.cpu_count()} CPUs (shared
with other jobs while this ran: expect noise), DuckDB {duckdb.__version__}.

| measure | value | target |
|---|---|---|
| DuckDB copy (s) | {copy_s:.2f} | |
| healthwall deidentify (s) | {deid_s:.2f} | |
| ratio (median / median) | **{deid_s / copy_s:.2f}x** | <= 2x |
| ratio of each copy/deid pair | {", ".join(f"{r:.2f}x" for r in pairs)} | |
| CPU time (user+sys) copy / deidentify (s) | {copy_cpu:.1f} / {deid_cpu:.1f} | |
| CPU-time ratio (robust to other jobs on the machine) | **{deid_cpu / copy_cpu:.2f}x** | |
| peak RSS of deidentify (MB) | {peak:.0f} | < 4096 |

Steps of the last deidentify run (s):

| step | seconds |
|---|---|
{steps}
"""
    (RESULTS / "deid.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
