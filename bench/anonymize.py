"""Benchmark of ``healthwall anonymize`` (whole-process times), with anjana as the peer.

Run: ``.venv/bin/python bench/anonymize.py [--rows 1000000] [--skip-large] [--baseline REV]``

``--baseline REV`` (default: the last commit before the anonymize-perf work) also times that
revision's ``src/healthwall`` (extracted with ``git archive``, run with the same interpreter and
packages), interleaved with the current code in the same run, so before/after compare under the
same machine load.

1. Adult (30,162 rows), 9 quasi-identifiers, k=5, 4 % suppression, precomputed entropy: the
   whole ``healthwall anonymize`` process, several runs (target <= 1.0 s); ``healthwall version``
   alone is timed too, since CLI start-up counts.
2. The same job with anjana (the best pip-installable Python peer), also as a whole process;
   speed ratio and both outputs' utility (suppressed records, classes, discernibility).
3. Synthetic 1M rows x 8 quasi-identifiers (age, sex, zip, race, ethnicity, marital status,
   service date, ICD-10-CM diagnosis), hierarchies from healthwall's builders, k=5, 4 %
   (target <= 20 s).

4. ``--out-of-core ROWS`` (run separately; merged into the last results): ROWS rows x 6 QIs
   in Parquet, k=50 -- DuckDB does the row passes, numpy only sees the class histogram.

Writes bench/results/anonymize.json and bench/results/anonymize.md. Reference data is read from
../shared/data (benchmarks only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
LOAD = os.getloadavg()[0]
ADULT = ROOT.parent / "shared" / "data" / "adult"
HW = str(ROOT / ".venv" / "bin" / "healthwall")
PY = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "bench" / "results"
ADULT_QI = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
    "salary-class",
]
LARGE_QI = ["age", "sex", "zip", "race", "ethnicity", "marital", "service_date", "dx"]

ANJANA_JOB = r"""
import sys, json, pandas as pd
from anjana.anonymity import k_anonymity
d = sys.argv[1]
qi = sys.argv[2].split(",")
data = pd.read_csv(f"{d}/adult.csv", sep=";", dtype=str)
hier = {c: dict(pd.read_csv(f"{d}/adult_hierarchy_{c}.csv", sep=";", header=None, dtype=str))
        for c in qi}
out = k_anonymity(data, [], qi, 5, 4, hier)
out.to_csv(sys.argv[3], index=False)
"""


CPU: dict[str, list[float]] = {}
BASELINE_REV = "9b5f993"
BASELINE: list[list[str]] = []  # the command prefix that runs the baseline revision, if any
BASELINE_ENV: dict[str, str] = {}
BASELINE_USED: list[str] = []  # the revision in use


def use_baseline(tmp: Path, rev: str) -> None:
    """Extract ``rev``'s package into ``tmp`` and run it as ``python -m healthwall.cli.main``."""
    dest = tmp / "baseline"
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src/healthwall"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    BASELINE.append([PY, "-m", "healthwall.cli.main"])
    BASELINE_USED.append(rev)
    BASELINE_ENV.update(os.environ, PYTHONPATH=str(dest / "src"))


def baseline(cmd: list[str]) -> list[str]:
    """``cmd`` (starting with the healthwall executable) for the baseline revision."""
    return [*BASELINE[0], *cmd[1:]]


def timed(cmd: list[str], tag: str = "", env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall time of a whole process, and its stdout; fails loudly on a non-zero exit.

    The process's CPU time (user + system) is recorded under ``tag`` too: on a shared, loaded
    machine it is the steadier number.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(tag or cmd[1], []).append(cpu)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return elapsed, proc.stdout


def utility_of(path: Path, qi: list[str], records: int) -> dict[str, Any]:
    """Suppressed records, classes and discernibility of an output file (same rule for both)."""
    con = duckdb.connect()
    cols = ", ".join(f'"{c}"' for c in qi)
    stars = " AND ".join(f"CAST(\"{c}\" AS VARCHAR) = '*'" for c in qi)
    rows = con.execute(
        f"SELECT count(*) AS n, bool_and({stars}) AS s FROM read_csv('{path}', all_varchar=true)"
        f" GROUP BY {cols}"
    ).fetchall()
    released = [n for n, s in rows if not s]
    suppressed = records - sum(released)  # rows starred out or removed
    return {
        "suppressed": suppressed,
        "classes": len(released),
        "discernibility": float(sum(n * n for n in released) + suppressed * records),
    }


def adult_job(tmp: Path, runs: int) -> dict[str, Any]:
    out = tmp / "adult_hw.csv"
    cmd = [HW, "anonymize", str(ADULT / "adult.csv"), "--qi", ",".join(ADULT_QI)]
    cmd += ["--hierarchies", str(ADULT), "--k", "5", "--suppression", "0.04"]
    cmd += ["--metric", "entropy", "--out", str(out), "--json"]
    timed(cmd)  # warm the file cache
    times: list[float] = []
    before: list[float] = []
    summary: dict[str, Any] = {}
    for _ in range(runs):
        if BASELINE:  # interleaved, so both see the same load
            before.append(timed(baseline(cmd), "adult_baseline", BASELINE_ENV)[0])
        elapsed, stdout = timed(cmd, "adult")
        times.append(elapsed)
        summary = json.loads(stdout)
    version = [timed([HW, "version"], "version")[0] for _ in range(runs)]
    anjana_out = tmp / "adult_anjana.csv"
    anjana_cmd = [PY, "-c", ANJANA_JOB, str(ADULT), ",".join(ADULT_QI), str(anjana_out)]
    anjana_times = [timed(anjana_cmd, "anjana")[0] for _ in range(max(1, runs // 2))]
    records = summary["records"]
    return {
        "job": "Adult 30162 rows, 9 QIs, k=5, suppression 4 %, precomputed entropy",
        "load_average_at_start": LOAD,
        "healthwall_seconds": {
            "min": min(times),
            "median": statistics.median(times),
            "runs": times,
        },
        "healthwall_cpu_seconds_min": min(CPU["adult"]),
        "cli_startup_seconds_min": min(version),
        "cli_startup_cpu_seconds_min": min(CPU["version"]),
        "target_seconds": 1.0,
        "healthwall_levels": summary["levels"],
        "healthwall_score": summary["score"],
        "healthwall_utility": utility_of(out, ADULT_QI, records),
        "anjana_seconds": {"min": min(anjana_times), "runs": anjana_times},
        "anjana_cpu_seconds_min": min(CPU["anjana"]),
        "anjana_utility": utility_of(anjana_out, ADULT_QI, records),
        "baseline": (
            {
                "rev": BASELINE_USED[0],
                "seconds_min": min(before),
                "seconds_median": statistics.median(before),
                "cpu_seconds_min": min(CPU["adult_baseline"]),
            }
            if before
            else None
        ),
        "speed_ratio_anjana_over_healthwall": min(anjana_times) / min(times),
        "cpu_ratio_anjana_over_healthwall": min(CPU["anjana"]) / min(CPU["adult"]),
    }


def make_large(tmp: Path, rows: int) -> Path:
    """Deterministic synthetic claims-like table and its hierarchies (healthwall builders)."""
    from healthwall.data import icd10
    from healthwall.deid import hierarchy_builders as hb

    codes = sorted(icd10.billable_codes())[::150][:500]
    zips = [f"{z:05d}" for z in range(1000, 99999, 331)][:300]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""COPY (SELECT
            CAST(floor(random() * 95) AS INTEGER)::VARCHAR AS age,
            ['F', 'M'][1 + CAST(floor(random() * 2) AS INTEGER)] AS sex,
            {zips}[1 + CAST(floor(random() * {len(zips)}) AS INTEGER)] AS zip,
            ['white', 'black', 'asian', 'native', 'other'][1 + CAST(floor(random() * 5) AS INTEGER)]
                AS race,
            ['hispanic', 'non-hispanic'][1 + CAST(floor(random() * 2) AS INTEGER)] AS ethnicity,
            ['single', 'married', 'divorced', 'widowed', 'separated'][
                1 + CAST(floor(random() * 5) AS INTEGER)] AS marital,
            strftime(DATE '2020-01-01' + CAST(floor(random() * 1461) AS INTEGER), '%Y-%m-%d')
                AS service_date,
            {codes}[1 + CAST(floor(random() * {len(codes)}) AS INTEGER)] AS dx,
            CAST(random() * 1000 AS DECIMAL(10, 2)) AS paid_amount
          FROM range({rows})) TO '{tmp / "large.parquet"}' (FORMAT parquet)"""
    )
    hdir = tmp / "hier"
    hdir.mkdir(exist_ok=True)
    ages = [str(a) for a in range(95)]
    dates = [
        r[0]
        for r in con.execute(
            "SELECT strftime(DATE '2020-01-01' + CAST(i AS INTEGER), '%Y-%m-%d')"
            " FROM range(1461) t(i)"
        ).fetchall()
    ]
    flat = {
        c: hb.grouped(c, v, [])
        for c, v in (
            ("sex", ["F", "M"]),
            ("race", ["white", "black", "asian", "native", "other"]),
            ("ethnicity", ["hispanic", "non-hispanic"]),
            ("marital", ["single", "married", "divorced", "widowed", "separated"]),
        )
    }
    built = {
        "age": hb.intervals("age", ages, (5, 10, 20)),
        "zip": hb.digit_mask("zip", zips),
        "service_date": hb.dates("service_date", dates),
        "dx": hb.icd10("dx", codes),
        **flat,
    }
    for column, hierarchy in built.items():
        hierarchy.to_csv(hdir / f"{column}.csv")
    return tmp / "large.parquet"


def large_job(tmp: Path, rows: int) -> dict[str, Any]:
    data = make_large(tmp, rows)
    out = tmp / "large_out.parquet"
    cmd = [
        HW,
        "anonymize",
        str(data),
        "--qi",
        ",".join(LARGE_QI),
        "--hierarchies",
        str(tmp / "hier"),
    ]
    cmd += ["--k", "5", "--suppression", "0.04", "--metric", "entropy", "--out", str(out), "--json"]
    before = None
    if BASELINE:
        wall, _ = timed(baseline(cmd), "large_baseline", BASELINE_ENV)
        before = {
            "rev": BASELINE_USED[0],
            "seconds": wall,
            "cpu_seconds": CPU["large_baseline"][-1],
        }
    elapsed, stdout = timed(cmd, "large")
    summary = json.loads(stdout)
    return {
        "baseline": before,
        "load_average_before": LOAD,
        "cpu_seconds": CPU["large"][-1],
        "job": f"synthetic {rows} rows, 8 QIs, k=5, suppression 4 %, precomputed entropy",
        "seconds": elapsed,
        "target_seconds": 20.0,
        "levels": summary["levels"],
        "suppressed": summary["suppressed"],
        "classes": summary["classes"],
        "nodes_checked": summary["nodes_checked"],
        "lattice_size": summary["lattice_size"],
    }


def _row(tool: str, seconds: float, cpu: float, u: dict[str, Any]) -> str:
    return (
        f"| {tool} | {seconds:.3f} | {cpu:.3f} | {u['suppressed']} | {u['classes']}"
        f" | {u['discernibility']:.0f} |"
    )


OOC_QI = ["age", "sex", "zip", "race", "ethnicity", "marital"]


def out_of_core_job(tmp: Path, rows: int, k: int) -> dict[str, Any]:
    """``rows`` rows x 6 QIs (2.85M possible combinations): DuckDB does the row passes."""
    make_large(tmp, 1000)  # hierarchies over the same value domains
    zips = [f"{z:05d}" for z in range(1000, 99999, 331)][:300]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SELECT setseed(0.42)")
    pick = "[1 + CAST(floor(random() * {n}) AS INTEGER)]"
    con.execute(
        f"""COPY (SELECT
            CAST(floor(random() * 95) AS INTEGER)::VARCHAR AS age,
            ['F', 'M']{pick.format(n=2)} AS sex,
            {zips}{pick.format(n=300)} AS zip,
            ['white', 'black', 'asian', 'native', 'other']{pick.format(n=5)} AS race,
            ['hispanic', 'non-hispanic']{pick.format(n=2)} AS ethnicity,
            ['single', 'married', 'divorced', 'widowed', 'separated']{pick.format(n=5)} AS marital,
            CAST(random() * 1000 AS DECIMAL(10, 2)) AS paid_amount
          FROM range({rows})) TO '{tmp / "big.parquet"}' (FORMAT parquet)"""
    )
    con.close()
    out = tmp / "big_out.parquet"
    cmd = ["/usr/bin/time", "-f", "%M", HW, "anonymize", str(tmp / "big.parquet")]
    cmd += ["--qi", ",".join(OOC_QI), "--hierarchies", str(tmp / "hier"), "--k", str(k)]
    cmd += ["--suppression", "0.04", "--out", str(out), "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    summary = json.loads(proc.stdout)
    return {
        "job": f"{rows} rows, 6 QIs, k={k}, suppression 4 %, Parquet in and out",
        "seconds": elapsed,
        "max_rss_mb": int(proc.stderr.strip().splitlines()[-1]) // 1024,
        "levels": summary["levels"],
        "suppressed": summary["suppressed"],
        "classes": summary["classes"],
        "nodes_checked": summary["nodes_checked"],
    }


def render(result: dict[str, Any]) -> str:
    a = result["adult"]
    own_cpu = a["healthwall_cpu_seconds_min"] - a["cli_startup_cpu_seconds_min"]
    lines = [
        "# anonymize benchmark",
        "",
        f"Machine: {os.cpu_count()} cores, load average {a['load_average_at_start']:.1f} at start"
        " (shared with other jobs); whole-process wall times (subprocess) and the process's CPU"
        " time (user + system).",
        "",
        "## Adult, 9 QIs, k=5, 4 % suppression, precomputed entropy",
        "",
        "| tool | wall s (min) | CPU s (min) | suppressed | classes | discernibility |",
        "|---|---|---|---|---|---|",
        _row(
            "healthwall",
            a["healthwall_seconds"]["min"],
            a["healthwall_cpu_seconds_min"],
            a["healthwall_utility"],
        ),
        _row(
            "anjana", a["anjana_seconds"]["min"], a["anjana_cpu_seconds_min"], a["anjana_utility"]
        ),
        "",
        f"- healthwall median {a['healthwall_seconds']['median']:.3f} s wall (target 1.0 s);"
        f" `healthwall version` alone {a['cli_startup_seconds_min']:.3f} s wall,"
        f" {a['cli_startup_cpu_seconds_min']:.3f} s CPU",
        f"- CPU of `healthwall anonymize` minus CPU of `healthwall version` (the command's"
        f" start-up): {own_cpu:.3f} s",
        f"- speed ratio anjana / healthwall: {a['speed_ratio_anjana_over_healthwall']:.1f}x wall,"
        f" {a['cpu_ratio_anjana_over_healthwall']:.1f}x CPU",
        f"- healthwall optimum {a['healthwall_levels']}, score {a['healthwall_score']!r}"
        " (ARX: [1,0,1,1,3,2,2,0,1], 255559.85455731067)",
    ]
    if a.get("baseline"):
        b = a["baseline"]
        lines.append(
            f"- before (revision {b['rev']}, interleaved in this run): {b['seconds_min']:.3f} s"
            f" wall (min), {b['seconds_median']:.3f} s median, {b['cpu_seconds_min']:.3f} s CPU"
            f" (min); after: {a['healthwall_seconds']['min']:.3f} s wall,"
            f" {a['healthwall_cpu_seconds_min']:.3f} s CPU"
        )
    if "large" in result:
        g = result["large"]
        lines += [
            "",
            f"## {g['job']}",
            "",
            f"- {g['seconds']:.2f} s wall, {g['cpu_seconds']:.2f} s CPU (target 20 s);"
            f" levels {g['levels']};"
            f" suppressed {g['suppressed']}; classes {g['classes']};"
            f" nodes checked {g['nodes_checked']} of {g['lattice_size']}",
        ]
        if g.get("baseline"):
            b = g["baseline"]
            lines.append(
                f"- before (revision {b['rev']}, same run, same input): {b['seconds']:.2f} s wall,"
                f" {b['cpu_seconds']:.2f} s CPU"
            )
    if "out_of_core" in result:
        o = result["out_of_core"]
        lines += [
            "",
            f"## Out of core: {o['job']}",
            "",
            f"- {o['seconds']:.1f} s wall; peak memory {o['max_rss_mb']} MB; levels {o['levels']};"
            f" suppressed {o['suppressed']}; classes {o['classes']};"
            f" nodes checked {o['nodes_checked']}",
        ]
        if o.get("note"):
            lines.append(f"- {o['note']}")
    else:
        lines += ["", "Out of core (100M rows): not run (`--out-of-core 100000000`)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--out-of-core", type=int, default=0, help="rows; adds to the last results")
    parser.add_argument("--ooc-k", type=int, default=50)
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision; '' for none")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    if args.out_of_core:
        result = json.loads((RESULTS / "anonymize.json").read_text())
        with tempfile.TemporaryDirectory() as tmp_name:
            result["out_of_core"] = out_of_core_job(Path(tmp_name), args.out_of_core, args.ooc_k)
        (RESULTS / "anonymize.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "anonymize.md").write_text(render(result))
        sys.stdout.write(render(result))
        return
    previous = RESULTS / "anonymize.json"
    if previous.exists():  # keep the (slow, separately run) out-of-core numbers, labelled
        ooc = json.loads(previous.read_text()).get("out_of_core")
        if ooc:
            ooc.setdefault("note", "from an earlier run (not re-run with this one)")
            result["out_of_core"] = ooc
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.baseline:
            use_baseline(tmp, args.baseline)
        result["adult"] = adult_job(tmp, args.runs)
        if not args.skip_large:
            result["large"] = large_job(tmp, args.rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "anonymize.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "anonymize.md").write_text(render(result))
    sys.stdout.write(render(result))


if __name__ == "__main__":
    main()
