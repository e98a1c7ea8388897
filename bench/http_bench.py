"""HTTP benchmark of the disclosure gateway: decisions per second through the real service.

    .venv/bin/python bench/http.py [--patients 2000] [--seconds 10] [--connections 8,32,64]

What runs, in ONE run on this machine:

1. set-up: synthetic custodian data ingested into DuckDB, ledger on SQLite (WAL,
   synchronous=FULL: every decision is durable before its response), API keys;
2. baseline A -- in-process: ``Runtime.submit`` in a loop (policy + store + ledger, no HTTP);
3. baseline B -- the HTTP floor: ``GET /v1/health`` through the same server;
4. the measurement -- ``POST /v1/requests`` through ``healthwall serve`` (uvicorn, uvloop,
   httptools, one worker) from a load generator in a separate process (bench/loadgen.py, raw
   asyncio keep-alive connections), at several concurrency levels.

Afterwards the ledger must have grown by one decision entry per answered request (durability
check). Results: bench/results/http.json and bench/results/http.md. Target (issue 4): at least
1,000 decisions/s sustained, p99 reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from healthwall.ledger.log import Ledger
from healthwall.model.request import parse_request
from healthwall.secrets import resolve_secret
from healthwall.workflows.credentials import CredentialStore, Role
from healthwall.workflows.demo import DemoSetup, free_port, prepare
from healthwall.workflows.serve import ServeOptions, open_runtime, start_server

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".work" / "http"
RESULTS = ROOT / "results"
TARGET = 1000.0

#: Request kinds: (share of agencies, requester kind, purpose, instrument, elements).
_MIX = (
    (6, "law-enforcement", "law-enforcement", "judicial-warrant", ["name", "date-of-birth"]),
    (
        2,
        "immigration-enforcement",
        "immigration-enforcement",
        "administrative-subpoena",
        ["name", "address"],
    ),
    (1, "law-enforcement", "law-enforcement", "judicial-subpoena", ["diagnoses", "claims"]),
    (1, "data-broker", "data-sale", "none", ["name", "claims"]),
)
#: A second mix the policy denies outright: no store lookup, so it measures HTTP + policy +
#: sweep checks + the durable ledger commit without the custodian store's cost.
_DENY_MIX = (_MIX[1], _MIX[3])
AGENCIES = 200  # many requesters, each asking about a few patients: under the sweep limits
PER_AGENCY = 5


def agencies(setup: DemoSetup, mix: tuple[Any, ...], prefix: str) -> list[tuple[str, Any]]:
    """Create requester principals with API keys; returns (requester id, mix item) per agency."""
    pattern = [item for item in mix for _ in range(item[0])]
    store = CredentialStore.open(setup.db)
    out = []
    try:
        for a in range(AGENCIES):
            item = pattern[a % len(pattern)]
            rid = f"{prefix}-{a:03d}"
            store.add_principal(rid, f"Agency {rid}", Role.REQUESTER, requester_kind=item[1])
            setup.api_keys[rid] = store.create_api_key(rid)
            out.append((rid, item))
    finally:
        store.close()
    return out


def bodies(
    setup: DemoSetup, mrns: list[str], who: list[tuple[str, Any]], n: int = 6000
) -> list[dict[str, Any]]:
    """Request lines: agency i % 200 asks about one of its own 5 patients, round-robin."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        a = i % len(who)
        rid, (_, kind, purpose, instrument, elements) = who[a]
        mrn = mrns[(a * PER_AGENCY + (i // len(who)) % PER_AGENCY) % len(mrns)]
        body = {
            "requester": {"id": rid, "name": f"Agency {rid}", "kind": kind},
            "purpose": purpose,
            "legal_basis": {"instrument": instrument, "reference": f"BENCH-{i}"},
            "scope": {"kind": "single-patient", "patient": {"mrn": mrn}},
            "elements": elements,
        }
        out.append({"key": setup.api_keys[rid], "body": body})
    return out


def in_process(setup: DemoSetup, lines: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Baseline A: the same decisions without HTTP (policy, store, ledger append)."""
    runtime = open_runtime(
        db=setup.db,
        store=setup.store,
        jurisdiction="US-CA",
        pseudonym_key=setup.env["HEALTHWALL_PSEUDONYM_KEY"],
        signing_key=setup.env["HEALTHWALL_SIGNING_KEY"],
    )
    requests = [parse_request(line["body"]) for line in lines]
    latencies = []
    try:
        started = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            runtime.submit(requests[i % len(requests)])
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
    finally:
        runtime.close()
    lat = np.asarray(latencies) * 1000
    return {
        "requests": n,
        "rate_per_s": round(n / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3),
    }


def load(url: str, path: str, file: Path, key: str, conns: int, seconds: float) -> dict[str, Any]:
    """Run bench/loadgen.py in its own process and return its JSON summary."""
    cmd = [sys.executable, str(ROOT / "loadgen.py"), url, path, str(file), "--key", key]
    cmd += ["--connections", str(conns), "--seconds", str(seconds)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def ledger_size(setup: DemoSetup) -> int:
    key = resolve_secret(setup.env["HEALTHWALL_PSEUDONYM_KEY"], what="pseudonym_key")
    with Ledger.open(setup.db, pseudonym_key=key) as ledger:
        return ledger.size()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", default="8,32,64")
    parser.add_argument(
        "--name", default="http", help="results file stem (e.g. http-sustained for a long run)"
    )
    parser.add_argument("--in-process", type=int, default=2000, dest="n_inproc")
    args = parser.parse_args()

    setup = prepare(WORK, args.patients, seed=7, extract=False)
    mrns = _mrns(setup, 1000)
    lines = bodies(setup, mrns, agencies(setup, _MIX, "agency"))
    file = WORK / "bodies.jsonl"
    file.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    deny_file = WORK / "bodies-deny.jsonl"
    deny_lines = bodies(setup, mrns, agencies(setup, _DENY_MIX, "denied"))
    deny_file.write_text("\n".join(json.dumps(line) for line in deny_lines) + "\n")
    baseline = in_process(setup, lines, args.n_inproc)
    print("in-process:", baseline, flush=True)

    port = free_port()
    options = ServeOptions(
        port=port, db=setup.db, store=setup.store, jurisdiction="US-CA", extra_env=setup.env
    )
    server = start_server(options, log_path=WORK / "service.log")
    runs = []
    try:
        empty = WORK / "empty.jsonl"
        empty.write_text("")
        floor = load(server.url, "/v1/health", empty, "", 32, min(args.seconds, 5))
        print("health:", floor, flush=True)
        for conns in (int(c) for c in args.connections.split(",")):
            before = ledger_size(setup)
            result = load(server.url, "/v1/requests", file, "", conns, args.seconds)
            result["ledger_growth"] = ledger_size(setup) - before
            print("requests:", result, flush=True)
            runs.append(result)
        before = ledger_size(setup)
        deny = load(server.url, "/v1/requests", deny_file, "", 32, args.seconds)
        deny["ledger_growth"] = ledger_size(setup) - before
        print("deny-only:", deny, flush=True)
    finally:
        server.stop()
    two = two_workers(setup, file, args.seconds)
    print("two workers:", two, flush=True)
    write_results(args, baseline, floor, [*runs, two], deny)


def two_workers(setup: DemoSetup, file: Path, seconds: float) -> dict[str, Any]:
    """The realistic mix at 32 connections against ``healthwall serve --workers 2``."""
    options = ServeOptions(
        port=free_port(),
        db=setup.db,
        store=setup.store,
        jurisdiction="US-CA",
        extra_env=setup.env,
        workers=2,
    )
    server = start_server(options, log_path=WORK / "service-2.log")
    try:
        before = ledger_size(setup)
        result = load(server.url, "/v1/requests", file, "", 32, seconds)
        result["ledger_growth"] = ledger_size(setup) - before
    finally:
        server.stop()
    result["workers"] = 2
    return result


def _mrns(setup: DemoSetup, n: int) -> list[str]:
    from healthwall.engine import open_store

    with open_store(setup.store, read_only=True) as engine:
        table = engine.query_arrow(f"SELECT mrn FROM patients ORDER BY patient_id LIMIT {n}")
    return [str(v) for v in table.column("mrn").to_pylist()]


def write_results(
    args: argparse.Namespace,
    baseline: dict[str, Any],
    floor: dict[str, Any],
    runs: list[Any],
    deny: dict[str, Any],
) -> None:
    best = max(runs, key=lambda r: r["rate_per_s"])
    result = {
        "benchmark": "http",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "patients": args.patients,
        "seconds_per_run": args.seconds,
        "target_decisions_per_s": TARGET,
        "baseline_in_process": baseline,
        "baseline_http_health": floor,
        "decisions_over_http": runs,
        "deny_only_over_http": deny,
        "best_rate_per_s": best["rate_per_s"],
        "best_p99_ms": best["p99_ms"],
        "meets_target": best["rate_per_s"] >= TARGET,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        f"| {r.get('workers', 1)} | {r['connections']} | {r['rate_per_s']} | {r['p50_ms']} | "
        f"{r['p99_ms']} | {r['max_ms']} | {r['requests']} | {r['ledger_growth']} | {r['status']} |"
        for r in runs
    ]
    md = [
        "# HTTP benchmark: decisions through `healthwall serve`",
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, 1-minute load "
        f"average {os.getloadavg()[0]:.1f} at the end (other jobs share the machine); "
        f"{args.patients} synthetic patients; SQLite ledger (WAL, synchronous=FULL); "
        "one uvicorn worker (uvloop, httptools) unless the table says 2; load generator in a "
        f"separate process; each run lasts {args.seconds:g} s.",
        "",
        f"Target: >= {TARGET:.0f} decisions/s sustained. Best: **{best['rate_per_s']}/s** "
        f"(p99 {best['p99_ms']} ms) -- {'met' if result['meets_target'] else 'NOT met'}.",
        "",
        "| workers | connections | decisions/s | p50 ms | p99 ms | max ms | requests |"
        " ledger growth | status |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Deny-only mix (no store lookup; 32 connections): {deny['rate_per_s']}/s, "
        f"p50 {deny['p50_ms']} ms, p99 {deny['p99_ms']} ms, ledger growth "
        f"{deny['ledger_growth']} for {deny['requests']} answers.",
        "",
        f"Baseline A, in-process `Runtime.submit` (no HTTP): {baseline['rate_per_s']}/s, "
        f"p50 {baseline['p50_ms']} ms, p99 {baseline['p99_ms']} ms.",
        "",
        f"Baseline B, HTTP floor `GET /v1/health` (32 connections): {floor['rate_per_s']}/s, "
        f"p99 {floor['p99_ms']} ms.",
        "",
        "Reading: baseline B is what the HTTP layer (uvicorn, FastAPI, auth, headers, access log)"
        " can carry; baseline A is the gateway's own rate (policy, exact match and fetch in the"
        " DuckDB store, sweep checks, the durable ledger commit) one request per transaction"
        " without HTTP. Through HTTP, requests are pipelined: one thread prepares each waiting"
        " batch set-based (Gateway.prepare_many: policy, one DuckDB join per identifier shape,"
        " one claims query), one records every prepared batch in ONE ledger transaction"
        " (Gateway.record_many: in-memory sweep windows, one append, one durable commit), and"
        " each response is sent after its commit.",
        "",
    ]
    (RESULTS / f"{args.name}.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
