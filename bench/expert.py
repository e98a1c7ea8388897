"""Benchmark: `healthwall deidentify --profile expert` vs `--profile safe-harbor` on the same input.

Inputs: ``healthwall synth --patients N --seed 1`` (claims joined to patients, Parquet in and
out, keyed pseudonyms). Each profile runs as its own ``healthwall`` process, alternating, so both
see the same machine load; wall time and child CPU time (user + system) are measured per run.
The baseline is the safe-harbor profile (one compiled COPY); the expert profile adds the staging
table, the per-patient histogram, the lattice search and the labelled output join.

    .venv/bin/python bench/expert.py --patients 100000 --repeat 3

Writes bench/results/expert.json and bench/results/expert.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "healthwall"
RESULTS = ROOT / "bench" / "results"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_profile(work: Path, profile: str) -> dict[str, float]:
    """One whole `healthwall deidentify` process; wall and CPU seconds."""
    out = work / f"{profile}.parquet"
    cmd = [
        str(CLI), "deidentify", str(work / "claims.parquet"),
        "--join-patients", str(work / "patients.parquet"), "--profile", profile,
        "--recipient", "bench", "--key-file", str(work / "master.key"),
        "--out", str(out), "--report", str(work / f"{profile}.json"),
    ]  # fmt: skip
    cpu0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _child_cpu() - cpu0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hw-bench-expert-") as tmp:
        work = Path(tmp)
        synth = [str(CLI), "synth", "--patients", str(args.patients), "--seed", "1"]
        subprocess.run([*synth, "--out", str(work)], check=True, capture_output=True)
        (work / "master.key").write_bytes(b"bench-master-key-0123456789abcdef")
        runs: dict[str, list[dict[str, float]]] = {"safe-harbor": [], "expert": []}
        for _ in range(args.repeat):
            for profile in ("safe-harbor", "expert"):
                runs[profile].append(run_profile(work, profile))
        report = json.loads((work / "expert.json").read_text())
        lines = report["input_rows"][0]
    write_results(args, lines, runs, report["expert"], report["rows_out"])


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def write_results(args, lines, runs, expert, rows_out) -> None:  # type: ignore[no-untyped-def]
    sh, ex = runs["safe-harbor"], runs["expert"]
    result = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "input": {"patients": args.patients, "claim_lines": lines, "origin": "healthwall synth"},
        "repeat": args.repeat,
        "runs": runs,
        "median_wall_s": {"safe-harbor": _median(sh, "wall_s"), "expert": _median(ex, "wall_s")},
        "median_cpu_s": {"safe-harbor": _median(sh, "cpu_s"), "expert": _median(ex, "cpu_s")},
        "wall_ratio_expert_over_safe_harbor": _median(ex, "wall_s") / _median(sh, "wall_s"),
        "cpu_ratio_expert_over_safe_harbor": _median(ex, "cpu_s") / _median(sh, "cpu_s"),
        "expert": {
            k: expert[k]
            for k in (
                "qi",
                "levels",
                "threshold",
                "records",
                "suppressed",
                "suppressed_rows",
                "classes",
                "risk_before",
                "risk_after",
                "nodes_checked",
                "lattice_size",
                "line_level_dropped",
                "risk_unit",
            )
        },
        "rows_out": rows_out,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "expert.json").write_text(json.dumps(result, indent=2) + "\n")
    e = result["expert"]
    levels = ", ".join(f"{q}={lv}" for q, lv in zip(e["qi"], e["levels"], strict=True))
    wall, cpu = result["median_wall_s"], result["median_cpu_s"]
    md = f"""# Expert profile vs Safe Harbor (bench/expert.py)

Input: `healthwall synth --patients {args.patients} --seed 1`, {lines} claim lines joined to their
patients, keyed pseudonyms, Parquet in and out; whole `healthwall deidentify` processes,
alternating, {args.repeat} runs each, on {result["machine"]["cpus"]} CPUs.

| profile | median wall (s) | median CPU (s) |
|---|---|---|
| safe-harbor (baseline) | {wall["safe-harbor"]:.2f} | {cpu["safe-harbor"]:.2f} |
| expert | {wall["expert"]:.2f} | {cpu["expert"]:.2f} |

Ratio expert / safe-harbor: wall {result["wall_ratio_expert_over_safe_harbor"]:.2f}x, CPU
{result["cpu_ratio_expert_over_safe_harbor"]:.2f}x.

Expert result: threshold {e["threshold"]}, risk unit {e["risk_unit"]} ({e["records"]} with
claims), levels {levels}; highest prosecutor risk {e["risk_before"]["prosecutor_highest"]:.4g} ->
{e["risk_after"]["prosecutor_highest"]:.4g}; {e["suppressed"]} patients suppressed
({e["suppressed_rows"]} lines left out, {rows_out} lines released); {e["classes"]} classes;
{e["nodes_checked"]} of {e["lattice_size"]} lattice nodes checked; dropped as line-level:
{", ".join(e["line_level_dropped"]) or "none"}.
"""
    (RESULTS / "expert.md").write_text(md)


if __name__ == "__main__":
    main()
