"""Benchmark of the dp area: DP aggregate templates over ~10M synthetic claim lines.

For each template, in the same run and on the same store:

* ``exact_baseline_s``: the plain exact count (``count(DISTINCT patient_id)`` GROUP BY the
  dimensions, no contribution bounding): the exact count's own time, the baseline;
* ``bounded_count_s``: the template's SQL (per-patient truncation to C cells + count);
* ``mechanism_s``: OpenDP planning (scale, threshold), noise and post-processing;
* ``end_to_end_s``: ``workflows.aggregates.answer`` end to end (policy decision, count, noise,
  budget spend and ledger append on SQLite).

Target (issue 6): a template over 10M claim lines in at most 3 s end to end.

Run: ``.venv/bin/python bench/dp.py [--patients 1000000] [--repeat 3]``. Data are generated with
``healthwall.synth`` into bench/.work (git-ignored); results go to bench/results/dp.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from healthwall.dp.budget import BudgetPolicy
from healthwall.dp.release import release
from healthwall.dp.templates import compile_template
from healthwall.engine import open_store
from healthwall.model.aggregate import AggregateQuery, BudgetMeasure
from healthwall.synth.generate import generate
from healthwall.workflows import aggregates

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".work"
RESULTS = ROOT / "results"
KEY_ENV = "HW_BENCH_DP_KEY"

TEMPLATES: list[dict[str, Any]] = [
    {"template": "patients", "by": ["zip3", "month"], "epsilon": 1.0},
    {"template": "diagnosed", "chapter": "05", "by": ["state", "quarter", "age_band"], "rho": 0.1},
    {"template": "patients", "by": ["county", "month"], "epsilon": 1.0},
    {"template": "patients", "by": ["state", "quarter", "dx_block"], "epsilon": 1.0},
]
GEO_SQL = {
    "zip3": "substr(p.zip, 1, 3)",
    "state": "p.state",
    "county": "p.state || ':' || p.county",
}
PERIOD_SQL = {
    "month": "strftime(c.service_date, '%Y-%m')",
    "quarter": "strftime(c.service_date, '%Y') || '-Q' || quarter(c.service_date)",
}


def build_store(patients: int, seed: int) -> tuple[Path, int]:
    """Synthetic patients/claims (healthwall synth) loaded into a DuckDB custodian store."""
    folder = WORK / f"dp-{patients}-{seed}"
    store = folder / "store.duckdb"
    if not store.exists():
        made = generate(patients, seed, folder)
        con = duckdb.connect(str(folder / "building.duckdb"))
        con.execute("SET enable_progress_bar = false")
        con.execute(f"CREATE TABLE patients AS SELECT * FROM read_parquet('{made.patients_path}')")
        con.execute(f"CREATE TABLE claims AS SELECT * FROM read_parquet('{made.claims_path}')")
        con.close()
        os.replace(folder / "building.duckdb", store)
    with open_store(store, read_only=True) as eng:
        lines = int(eng.query_arrow("SELECT count(*) AS n FROM claims").column("n")[0].as_py())
    return store, lines


CPU: dict[str, float] = {}


def _timed(fn: Callable[[], Any], repeat: int, name: str = "") -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs (and, in CPU[name], the median process CPU time)."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    CPU[name] = statistics.median(cpus)
    return statistics.median(times), out


def _baseline_sql(q: AggregateQuery) -> str:
    keys = [GEO_SQL[q.geography.value], PERIOD_SQL[q.period.value]]
    where = "c.service_date BETWEEN ? AND ?"
    return (
        f"SELECT {', '.join(keys)}, count(DISTINCT c.patient_id) AS n FROM claims c "
        f"JOIN patients p ON p.patient_id = c.patient_id WHERE {where} GROUP BY ALL"
    )


def bench_template(
    store: Path, raw: dict[str, Any], repeat: int, ledger_url: str
) -> dict[str, Any]:
    query = AggregateQuery.parse({"date_from": "2022-01-01", "date_to": "2024-12-31", **raw})
    compiled = compile_template(query, hash_key="bench")
    with open_store(store, read_only=True) as eng:
        params = [query.date_from, query.date_to]
        baseline_s, _ = _timed(
            lambda: eng.query_arrow(_baseline_sql(query), params), repeat, "baseline"
        )
        bounded_s, exact = _timed(
            lambda: eng.query_arrow(compiled.sql, compiled.params), repeat, "bounded"
        )

    def mechanism() -> Any:
        plan = aggregates.plan_for(query, compiled)
        return plan, release(query, compiled, plan, exact)

    mech_s, (plan, released) = _timed(mechanism, repeat, "mechanism")
    settings = aggregates.AggregateSettings(
        store=store,
        ledger_url=ledger_url,
        pseudonym_key=f"env:{KEY_ENV}",
        budget=BudgetPolicy(
            measure=BudgetMeasure.RHO if query.rho else BudgetMeasure.EPSILON,
            total=1000.0,
            delta_total=1.0,
        ),
    )
    body = {
        "requester": {"id": "bench-ph", "name": "Bench Public Health", "kind": "public-health"},
        "query": query.model_dump(mode="json"),
    }
    e2e_s, result = _timed(lambda: aggregates.answer(body, settings), repeat, "e2e")
    return {
        "template": query.template.value,
        "by": list(query.by),
        "mechanism": plan.mechanism.value,
        "key_set": "public" if plan.threshold is None else "selected",
        "contribution_bound": compiled.contribution_bound,
        "scale": plan.scale,
        "selection_threshold": plan.threshold,
        "cells": len(released.cells),
        "cells_released": sum(1 for c in released.cells if not c.suppressed),
        "nonzero_exact_cells": exact.num_rows,
        "exact_baseline_s": round(baseline_s, 4),
        "bounded_count_s": round(bounded_s, 4),
        "mechanism_s": round(mech_s, 4),
        "end_to_end_s": round(e2e_s, 4),
        "cpu_s": {k: round(v, 3) for k, v in CPU.items()},
        "ci_half_width": result.mechanism.ci_half_width,
        "within_target": e2e_s <= 3.0,
    }


def write_results(meta: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dp.json").write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    lines = [
        "# dp benchmark: DP aggregate templates",
        "",
        f"{meta['claim_lines']:,} claim lines, {meta['patients']:,} patients (healthwall synth, "
        f"seed {meta['seed']}); median of {meta['repeat']} runs; {meta['machine']}; "
        f"load average (1 min) before/after: {meta['load_average_1m_before_after']} "
        "(other engineers' jobs share the machine).",
        "Target: a template over 10M claim lines in at most 3 s end to end.",
        "",
        "| template | by | mechanism | keys | cells | exact count (baseline) s | bounded count s "
        "| mechanism s | end to end s | ≤ 3 s | CPU s: baseline / e2e |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['template']} | {','.join(r['by'])} | {r['mechanism']} | {r['key_set']} | "
            f"{r['cells']:,} | {r['exact_baseline_s']} | {r['bounded_count_s']} | "
            f"{r['mechanism_s']} | {r['end_to_end_s']} | {'yes' if r['within_target'] else 'NO'} | "
            f"{r['cpu_s']['baseline']} / {r['cpu_s']['e2e']} |"
        )
    lines += [
        "",
        "End to end = `workflows.aggregates.answer`: policy decision (Cedar), bounded count "
        "(DuckDB), OpenDP noise and post-processing, budget spend + ledger append (SQLite) in one "
        "transaction. CPU s is the process CPU time (all DuckDB threads): steadier than wall time "
        "when other jobs share the machine.",
    ]
    (RESULTS / "dp.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault(KEY_ENV, "bench-dp-pseudonym-key-0123456789")
    store, lines = build_store(args.patients, args.seed)
    load_before = round(os.getloadavg()[0], 2)
    ledger = WORK / f"dp-ledger-{time.time_ns()}.db"
    rows = [bench_template(store, t, args.repeat, f"sqlite:///{ledger}") for t in TEMPLATES]
    meta = {
        "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "patients": args.patients,
        "claim_lines": lines,
        "seed": args.seed,
        "repeat": args.repeat,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    write_results(meta, rows)
    print((RESULTS / "dp.md").read_text())


if __name__ == "__main__":
    main()
