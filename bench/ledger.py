"""Benchmark of the disclosure ledger on SQLite (WAL, synchronous=FULL), on local disk.

Run: ``.venv/bin/python bench/ledger.py [--entries 1000000] [--single 3000]``

1. Durable single appends: one transaction (and one fsync) per entry (target >= 3,000/s).
   Baseline in the same run: a bare ``sqlite3`` loop of one-row transactions with the same
   pragmas (the disk's commit ceiling), next to Tessera's published ~2,900 writes/s.
2. Batched appends: 1,000 entries per transaction over the first 100,000 entries, then 10,000
   per transaction for the rest of the fill (target >= 50,000/s).
3. Inclusion proof latency at 1M entries (target <= 1 ms), median and p99 over random indexes;
   consistency proof latency too.
4. Full verification of 1M entries: recompute every leaf and node, check the checkpoint
   (target <= 30 s).

Writes bench/results/ledger.json and bench/results/ledger.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from healthwall.ledger import Ledger, generate_key  # noqa: E402
from healthwall.ledger.canonical import leaf_bytes  # noqa: E402
from healthwall.ledger.hashing import leaf_hash, node_hash  # noqa: E402
from healthwall.model.entries import LegalBasisRef, Recipient, Released  # noqa: E402

RESULTS = ROOT / "bench" / "results"
#: Size of the population in the distinct-patients run (each entry's patient drawn from it).
PATIENTS = 100_000
KEY = b"bench-pseudonym-key-0123456789abcdef"


def _entries(
    ledger: Ledger, start: int, n: int, patients: list[str] | None = None
) -> list[Released]:
    """``n`` release entries; all for one patient, or each for a patient drawn from ``patients``
    (pseudonyms are random, so these land all over the patient index, as real traffic does)."""
    one = ledger.patient_pseudonym(f"bench-patient-{start}")
    rng = random.Random(start)
    recipient = Recipient(name="County Sheriff", address="1 Court St, Springfield")
    basis = LegalBasisRef(instrument="court-order", citation="45 CFR 164.512(f)(1)(ii)(A)")
    return [
        Released(
            request_id=f"req-{start + i}",
            patient=rng.choice(patients) if patients else one,
            recipient=recipient,
            elements=["name", "address"],
            content_digest=f"{start + i:064x}",
            purpose="law-enforcement",
            legal_basis=basis,
            accountable=True,
            description="name and address",
        )
        for i in range(n)
    ]


def bare_sqlite_commits(conn: sqlite3.Connection, start: int, n: int) -> float:
    """Same-run baseline: one-row transactions in WAL + synchronous=FULL, nothing else."""
    body, h = os.urandom(420), os.urandom(32)
    t0 = time.perf_counter()
    for i in range(start, start + n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?, ?)", (i, body, h))
        conn.execute("COMMIT")
    return time.perf_counter() - t0


def bare_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, body BLOB, h BLOB)")
    return conn


def single_vs_bare(ledger: Ledger, path: Path, n: int, rounds: int = 10) -> tuple[float, float]:
    """Durable single appends and bare sqlite3 one-row commits, interleaved in ``rounds`` so
    both see the same disk (other load on this shared machine swings fsync time several-fold).
    Returns (ledger appends/s, bare commits/s)."""
    entries = _entries(ledger, 10_000_000, n)
    conn = bare_connection(path)
    per = n // rounds
    t_ledger = t_bare = 0.0
    for r in range(rounds):
        t_bare += bare_sqlite_commits(conn, r * per, per)
        t0 = time.perf_counter()
        for e in entries[r * per : (r + 1) * per]:
            ledger.append(e)
        t_ledger += time.perf_counter() - t0
    conn.close()
    return per * rounds / t_ledger, per * rounds / t_bare


def bare_batched_inserts(url_path: Path, rows: list[tuple[Any, ...]], batch: int) -> float:
    """Same-run ceiling for batched appends: the ledger's own rows (prebuilt: canonical bytes and
    leaf hashes already computed), inserted by bare sqlite3 ``executemany`` into the ledger's
    schema (same indexes and triggers, same pragmas), ``batch`` per transaction. No hashing, no
    tree nodes: the database's share of a batched append."""
    with Ledger.open(f"sqlite:///{url_path}", pseudonym_key=KEY):
        pass  # creates the schema
    conn = sqlite3.connect(url_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    sql = (
        "INSERT INTO hw_ledger_entries (seq, kind, at, patient, body, leaf_hash, nodes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    t0 = time.perf_counter()
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows[i : i + batch])
        conn.execute("COMMIT")
    rate = len(rows) / (time.perf_counter() - t0)
    conn.close()
    return rate


def prebuilt_rows(ledger: Ledger, n: int) -> list[tuple[Any, ...]]:
    """The rows a batched append of ``n`` bench entries stores (for the bare ceiling), with the
    tree nodes each leaf closes, as the ledger stores them."""
    out: list[tuple[Any, ...]] = []
    frontier: dict[int, bytes] = {}
    for start in range(0, n, 1000):
        for i, e in enumerate(_entries(ledger, start, 1000)):
            seq = start + i
            body = leaf_bytes(e, seq)
            leaf = node = leaf_hash(body)
            closed, level, k = b"", 0, seq
            while k & 1:
                node = node_hash(frontier.pop(level), node)
                closed += node
                level, k = level + 1, k >> 1
            frontier[level] = node
            out.append((seq, e.kind, e.at, e.patient, body, leaf, closed))
    return out[:n]


def batched_appends(
    ledger: Ledger, total: int, batch: int, patients: list[str] | None = None
) -> tuple[float, float, float, float]:
    """Appends/s including entry construction, excluding it (ledger work only), and the CPU
    seconds per entry of the whole loop and of the ledger's part alone (CPU time is
    insensitive to other processes on the machine; wall time is not)."""
    build = build_cpu = 0.0
    c0 = time.process_time()
    t0 = time.perf_counter()
    for start in range(0, total, batch):
        b0, bc0 = time.perf_counter(), time.process_time()
        entries = _entries(ledger, start, min(batch, total - start), patients)
        build += time.perf_counter() - b0
        build_cpu += time.process_time() - bc0
        with ledger.writer() as tx:
            tx.append_many(entries)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return total / elapsed, total / (elapsed - build), cpu / total, (cpu - build_cpu) / total


def proof_latency(ledger: Ledger, samples: int) -> dict[str, float]:
    size = ledger.size()
    rng = random.Random(7)
    inc, cons = [], []
    for _ in range(samples):
        i = rng.randrange(size)
        t0 = time.perf_counter()
        ledger.inclusion_proof(i, size)
        inc.append((time.perf_counter() - t0) * 1000)
        old = rng.randrange(1, size)
        t0 = time.perf_counter()
        ledger.consistency_proof(old, size)
        cons.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles
    return {
        "inclusion_ms_median": statistics.median(inc),
        "inclusion_ms_p99": q(inc, n=100)[98],
        "consistency_ms_median": statistics.median(cons),
        "consistency_ms_p99": q(cons, n=100)[98],
    }


def patient_lookup(ledger: Ledger, patients: list[str], samples: int) -> dict[str, float]:
    """Latency of one patient's entries (the accounting's ledger query) over the whole ledger."""
    rng = random.Random(11)
    times, found = [], 0
    for _ in range(samples):
        p = rng.choice(patients)
        t0 = time.perf_counter()
        found += len(ledger.find(patient=p))
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "patient_lookup_ms_median": statistics.median(times),
        "patient_lookup_ms_p99": statistics.quantiles(times, n=100)[98],
        "patient_lookup_entries_mean": found / samples,
    }


def run(entries: int, single: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sqlite": sqlite3.sqlite_version,
        "load_average": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        signer = generate_key("bench.healthwall/ledger")
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        with Ledger.open(url, pseudonym_key=KEY, signing_key=signer.private_text().encode()) as lg:
            rate, bare = single_vs_bare(lg, Path(tmp) / "b.db", single)
            out["single_appends_per_s"] = rate
            out["baseline_bare_sqlite_commits_per_s"] = bare
            first = min(entries, 100_000)
            rows = prebuilt_rows(lg, first)
            out["baseline_bare_sqlite_batched_inserts_per_s"] = bare_batched_inserts(
                Path(tmp) / "bare-batched.db", rows, 1000
            )
            del rows
            rate, ledger_only, cpu, ledger_cpu = batched_appends(lg, first, 1000)
            out["batched_appends_per_s"] = rate
            out["batched_cpu_us_per_entry"] = cpu * 1e6
            out["batched_ledger_cpu_us_per_entry"] = ledger_cpu * 1e6
            out["batched_appends_per_s_excluding_entry_construction"] = ledger_only
            patients = [lg.patient_pseudonym(f"bench-person-{k}") for k in range(PATIENTS)]
            rate, ledger_only, cpu, _ = batched_appends(lg, first, 1000, patients)
            out["batched_distinct_patients_appends_per_s"] = rate
            key = "batched_distinct_patients_appends_per_s_excluding_entry_construction"
            out[key] = ledger_only
            out["batched_distinct_patients_cpu_us_per_entry"] = cpu * 1e6
            if entries > first:
                rate, ledger_only, _, _ = batched_appends(lg, entries - first, 10_000)
                out["batched_10k_appends_per_s"] = rate
                out["batched_10k_appends_per_s_excluding_entry_construction"] = ledger_only
            out["entries"] = lg.size()
            lg.checkpoint()
            out.update(proof_latency(lg, 1000))
            out.update(patient_lookup(lg, patients, 200))
            c0, t0 = time.process_time(), time.perf_counter()
            result = lg.verify()
            out["verify_s"] = time.perf_counter() - t0
            out["verify_cpu_s"] = time.process_time() - c0
            out["verify_ok"] = result.ok
            out["db_bytes"] = sum(p.stat().st_size for p in Path(tmp).glob("ledger.db*"))
    out["targets"] = {
        "single_appends_per_s": 3000,
        "batched_appends_per_s": 50000,
        "inclusion_ms": 1.0,
        "verify_s_at_1M": 30.0,
        "tessera_reported_writes_per_s": 2900,
    }
    return out


def markdown(r: dict[str, Any]) -> str:
    t = r["targets"]
    rows = [
        (
            "durable single appends/s",
            f"{r['single_appends_per_s']:,.0f}",
            f">= {t['single_appends_per_s']:,}",
        ),
        (
            "bare sqlite3 one-row commits/s (same run)",
            f"{r['baseline_bare_sqlite_commits_per_s']:,.0f}",
            "disk ceiling",
        ),
        (
            "bare sqlite3 executemany of the same prebuilt rows, 1,000 per tx (same run)",
            f"{r['baseline_bare_sqlite_batched_inserts_per_s']:,.0f}",
            "database ceiling",
        ),
        (
            "batched appends/s (1,000 per tx), entries built beforehand",
            f"{r['batched_appends_per_s_excluding_entry_construction']:,.0f}",
            f">= {t['batched_appends_per_s']:,}",
        ),
        (
            "  counting the building of the 1,000 pydantic entries per batch",
            f"{r['batched_appends_per_s']:,.0f}",
            "",
        ),
        (
            "  CPU per entry, incl. building (µs) -> CPU-bound rate",
            f"{r['batched_cpu_us_per_entry']:.1f} -> {1e6 / r['batched_cpu_us_per_entry']:,.0f}/s",
            "",
        ),
        (
            "  CPU per entry, ledger only (µs) -> CPU-bound rate",
            f"{r['batched_ledger_cpu_us_per_entry']:.1f}"
            f" -> {1e6 / r['batched_ledger_cpu_us_per_entry']:,.0f}/s",
            "",
        ),
        (
            f"batched appends/s (1,000 per tx), each entry a patient of {PATIENTS:,}",
            f"{r['batched_distinct_patients_appends_per_s_excluding_entry_construction']:,.0f}",
            f">= {t['batched_appends_per_s']:,}",
        ),
        (
            "  counting the building of the entries",
            f"{r['batched_distinct_patients_appends_per_s']:,.0f}",
            "",
        ),
        (
            "batched appends/s (10,000 per tx), entries built beforehand",
            f"{r.get('batched_10k_appends_per_s_excluding_entry_construction', 0):,.0f}",
            f">= {t['batched_appends_per_s']:,}",
        ),
        (
            "  counting the building of the entries",
            f"{r.get('batched_10k_appends_per_s', 0):,.0f}",
            "",
        ),
        (
            f"inclusion proof at {r['entries']:,} (median / p99 ms)",
            f"{r['inclusion_ms_median']:.3f} / {r['inclusion_ms_p99']:.3f}",
            f"<= {t['inclusion_ms']}",
        ),
        (
            "consistency proof (median / p99 ms)",
            f"{r['consistency_ms_median']:.3f} / {r['consistency_ms_p99']:.3f}",
            "",
        ),
        (
            f"one patient's entries at {r['entries']:,} (median / p99 ms)",
            f"{r['patient_lookup_ms_median']:.2f} / {r['patient_lookup_ms_p99']:.2f}",
            "",
        ),
        (
            f"full verification of {r['entries']:,} entries (s)",
            f"{r['verify_s']:.1f} (CPU {r['verify_cpu_s']:.1f}; ok={r['verify_ok']})",
            f"<= {t['verify_s_at_1M']}",
        ),
        ("database size (MB)", f"{r['db_bytes'] / 1e6:,.0f}", ""),
    ]
    lines = [
        "# Ledger benchmark (SQLite, WAL, synchronous=FULL)",
        "",
        "| measure | result | target |",
        "|---|---:|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += [
        "",
        f"Load average while running: {r['load_average']}. The bare sqlite3 commit rate above is",
        "the disk's fsync ceiling in the same run (interleaved with the single appends in 10",
        "rounds, so both see the same disk): single appends cannot exceed it. The bare batched",
        "rate is the database's share of a batched append (rows prebuilt, hashed and with their",
        "tree nodes); batched appends cannot exceed it either. In the first batched run all the",
        "entries of a batch are one patient's; in the distinct-patients run each entry's patient",
        f"is drawn from {PATIENTS:,}, so the patient index is written all over, as real traffic",
        "does. One patient's entries are read with one probe of the segmented patient index per",
        "4,096 entries (the accounting's ledger query).",
        "",
        "Batched rates are timed over `append_many` and its commit, with the batch's entries",
        "already built (building typed entries is the caller's work: validating pydantic models",
        "costs more than half as much as appending them). The rate counting that building too is",
        "the line below each; both come from the same loop.",
    ]
    lines += [
        "",
        f"Tessera (for scale) reports about {t['tessera_reported_writes_per_s']:,} writes/s"
        " on local disk.",
        f"SQLite {r['sqlite']}, Python {r['machine']['python']}, {r['machine']['cpus']} CPUs.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="ledger benchmark")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=3000)
    args = parser.parse_args()
    result = run(args.entries, args.single)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ledger.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "ledger.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
