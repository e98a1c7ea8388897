"""Benchmark of the disclosure gateway's policy layer (issue 4).

Measures, in one run:
- in-process ``decide`` latency (p50/p99) over a mixed workload of realistic requests, element
  checks included: warm (verdict cache populated, steady state) and cold (cache cleared before
  every decision), against the BASELINE of one unbatched, uncached cedarpy call per element check;
- ``policy check`` duration over the whole request space of every jurisdiction;
- gateway ``submit`` throughput in-process on a SQLite ledger with durable appends and a DuckDB
  custodian store (decide + exact match + release + three ledger entries per request).

Writes bench/results/policy.json and bench/results/policy.md. Run:
``.venv/bin/python bench/policy.py``.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cedarpy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "policy"))

from policy_fixtures import build_store  # noqa: E402

from healthwall.ledger.log import Ledger  # noqa: E402
from healthwall.model.request import Request, parse_request  # noqa: E402
from healthwall.policy import decide  # noqa: E402
from healthwall.policy.decide import clear_cache, clear_decisions  # noqa: E402
from healthwall.policy.facts import facts_of  # noqa: E402
from healthwall.policy.invariants import check  # noqa: E402
from healthwall.policy.packs import (  # noqa: E402
    bundle,
    packs_for,
    resource_id,
    resource_labels,
)
from healthwall.workflows.gateway import Gateway, GatewaySettings  # noqa: E402
from healthwall.workflows.sweep import SweepLimits  # noqa: E402

JURISDICTIONS = ["US", "US-CA", "US-TX", "US-IL", "US-WA", "GB", "DE"]
ELEMENTS = [
    "name",
    "address",
    "date-of-birth",
    "place-of-birth",
    "ssn",
    "phone",
    "diagnoses",
    "treatment-datetime",
    "dna",
    "claims",
    "immigration-status",
    "medications",
]


def _templates() -> list[dict[str, Any]]:
    single = {"kind": "single-patient", "patient": {"mrn": "M1"}}
    return [
        {
            "requester": {"id": "pd", "name": "PD", "kind": "law-enforcement"},
            "purpose": "law-enforcement",
            "legal_basis": {"instrument": "none", "conditions": ["identify-or-locate"]},
            "scope": single,
        },
        {
            "requester": {"id": "pd", "name": "PD", "kind": "law-enforcement"},
            "purpose": "law-enforcement",
            "legal_basis": {"instrument": "judicial-subpoena"},
            "scope": single,
        },
        {
            "requester": {"id": "ice", "name": "ICE", "kind": "immigration-enforcement"},
            "purpose": "immigration-enforcement",
            "legal_basis": {"instrument": "administrative-warrant"},
            "scope": single,
        },
        {
            "requester": {"id": "ice", "name": "ICE", "kind": "immigration-enforcement"},
            "purpose": "immigration-enforcement",
            "legal_basis": {
                "instrument": "judicial-warrant",
                "elements": ["name", "date-of-birth"],
            },
            "scope": single,
        },
        {
            "requester": {"id": "dr", "name": "Clinic", "kind": "provider"},
            "purpose": "TREAT",
            "legal_basis": {"instrument": "none"},
            "scope": single,
        },
        {
            "requester": {"id": "ins", "name": "Plan", "kind": "payer"},
            "purpose": "HPAYMT",
            "legal_basis": {"instrument": "none"},
            "scope": single,
        },
        {
            "requester": {"id": "db", "name": "Broker", "kind": "data-broker"},
            "purpose": "data-sale",
            "legal_basis": {"instrument": "none"},
            "scope": single,
        },
        {
            "requester": {"id": "court", "name": "Court", "kind": "court"},
            "purpose": "HLEGAL",
            "legal_basis": {"instrument": "court-order"},
            "scope": single,
        },
    ]


def workload(n: int, seed: int = 7) -> list[tuple[Request, str]]:
    rng = random.Random(seed)
    templates = _templates()
    out = []
    for _ in range(n):
        raw = json.loads(json.dumps(rng.choice(templates)))
        raw["elements"] = rng.sample(ELEMENTS, rng.randint(1, 5))
        out.append((parse_request(raw), rng.choice(JURISDICTIONS)))
    return out


def _percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1e3
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "mean_ms": float(arr.mean()),
        "n": len(samples),
    }


def bench_decide(requests: list[tuple[Request, str]]) -> dict[str, Any]:
    for req, j in requests:  # warm-up: parse packs, fill the verdict cache
        decide(req, jurisdiction=j)
    rounds = []
    for _ in range(3):  # 3 rounds: on a shared machine, preemption spikes pollute single rounds
        times = []
        for req, j in requests:
            t = time.perf_counter()
            decide(req, jurisdiction=j)
            times.append(time.perf_counter() - t)
        rounds.append(_percentiles(times))
    best = min(rounds, key=lambda r: r["p99_ms"])
    assembled = []  # element by element from cached verdicts: no whole-decision cache hit
    for req, j in requests:
        clear_decisions()
        t = time.perf_counter()
        decide(req, jurisdiction=j)
        assembled.append(time.perf_counter() - t)
    cold = []
    for req, j in requests[:400]:
        clear_cache()
        t = time.perf_counter()
        decide(req, jurisdiction=j)
        cold.append(time.perf_counter() - t)
    return {
        "warm": best,
        "warm_rounds": rounds,
        "assembled": _percentiles(assembled),
        "cold": _percentiles(cold),
    }


def bench_baseline(requests: list[tuple[Request, str]]) -> dict[str, Any]:
    """One cedarpy call per element check (per element x record label x action), no cache."""
    times = []
    for req, j in requests[:200]:
        rules = bundle(packs_for(j))
        facts = facts_of(req)
        t = time.perf_counter()
        for element in req.requested():
            ctx = facts.context(element)
            for label in resource_labels(element):
                for action in ("disclose", "release"):
                    cedarpy.is_authorized(
                        {
                            "principal": f'Requester::"{facts.kind.value}"',
                            "action": f'Action::"{action}"',
                            "resource": f'Element::"{resource_id(element, label)}"',
                            "context": ctx,
                        },
                        rules.policy_set,
                        rules.entities,
                        rules.schema,
                    )
        times.append(time.perf_counter() - t)
    return _percentiles(times)


def bench_check() -> dict[str, Any]:
    report = check(sample=300)
    return {
        "seconds": report.seconds,
        "combinations": report.combinations,
        "pack_sets": len(report.sets),
        "cedar_cross_checked": report.sampled,
        "violations": len(report.violations),
        "mismatches": len(report.mismatches),
    }


def bench_gateway(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(Path(tmp) / "store.duckdb")
        ledger = Ledger.open(f"sqlite:///{tmp}/ledger.db", pseudonym_key=b"b" * 32)
        limits = SweepLimits(max_requests=10**9, max_subjects=10**9)
        gw = Gateway(ledger, store, GatewaySettings("US-TX", sweep=limits))
        raw = _templates()[0] | {"elements": ["name", "address", "treatment-datetime"]}
        req = parse_request(raw)
        gw.submit(req)
        times = []
        start = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            gw.submit(req)
            times.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        batch, rounds = 50, max(n // 50, 1)
        start = time.perf_counter()
        for _ in range(rounds):
            gw.submit_many([req] * batch)
        batched = batch * rounds / (time.perf_counter() - start)
        size = ledger.size()
        ledger.close()
        store.close()
    return {
        "requests": n,
        "per_second": n / total,
        "batched_per_second": batched,
        "batch_size": batch,
        "ledger_entries": size,
        **_percentiles(times),
    }


def main() -> None:
    requests = workload(2000)
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0],
        },
        "decide": bench_decide(requests),
        "baseline_unbatched_uncached": bench_baseline(requests),
        "policy_check": bench_check(),
        "gateway_submit_sqlite": bench_gateway(1000),
        "target": {"decide_p99_ms": 1.0, "policy_check_seconds": 60},
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "policy.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "policy.md").write_text(render(result))
    print(render(result))


def render(r: dict[str, Any]) -> str:
    d, b = r["decide"], r["baseline_unbatched_uncached"]
    c, g = r["policy_check"], r["gateway_submit_sqlite"]
    rows = [
        ("decide, warm (decision cache hit; best of 3 rounds)", d["warm"], ""),
        (
            "decide, element by element from cached verdicts (decision cache cleared each time)",
            d["assembled"],
            "p99 <= 1 ms",
        ),
        ("decide, cold (cache cleared before each decision; batched cedarpy)", d["cold"], ""),
        ("baseline: one cedarpy call per element check, no batch, no cache", b, ""),
        ("gateway submit: SQLite ledger + DuckDB store, 3 appends, own commit", g, ""),
    ]
    table = "\n".join(
        f"| {name} | {m['p50_ms']:.3f} | {m['p99_ms']:.3f} | {target} |" for name, m, target in rows
    )
    warm_p99 = ", ".join(f"{w['p99_ms']:.3f}" for w in d["warm_rounds"])
    return f"""# Policy benchmark (bench/policy.py)

Mixed workload: {d["warm"]["n"]} requests over 8 request templates x 7 jurisdictions, 1-5
elements each (clinical elements add one check per sensitivity label), two actions per check.

| measure | p50 ms | p99 ms | target |
|---|---|---|---|
{table}

Warm p99 of each round: {warm_p99} ms.

Gateway in-process throughput: {g["per_second"]:.0f} submits/s with one transaction each
(durable SQLite commit, synchronous=FULL); {g["batched_per_second"]:.0f} submits/s with
`submit_many` group commit ({g["batch_size"]} per transaction); {g["ledger_entries"]} entries.

`healthwall policy check`: {c["combinations"]:,} combinations, {c["pack_sets"]} pack sets,
{c["seconds"]:.1f} s (target < 60 s); {c["cedar_cross_checked"]} cells cross-checked with
cedarpy; {c["violations"]} violations, {c["mismatches"]} mismatches.

Machine: Python {r["machine"]["python"]}, {r["machine"]["cpus"]} CPUs shared with other jobs
(1-minute load average {r["machine"]["load_average_at_start"]:.1f} when the run started).
"""


if __name__ == "__main__":
    main()
