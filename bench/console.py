"""Benchmark of what the console's ledger, transparency and extracts pages cost as the ledger grows.

Run: ``.venv/bin/python bench/console.py [--sizes 10000,100000]``

Issue 7 names no performance target or baseline; this measures the page back ends
(``healthwall.workflows.console_views.LedgerViews``) against the bare ledger operations they wrap,
in the same run, on a SQLite ledger of each size (decisions, releases, a few extracts):

- ledger page: the newest 50 entries (``LedgerViews.page``) vs ``Ledger.entries`` of that range;
- entry page: entry + inclusion proof + proof and signature check vs ``Ledger.inclusion_proof``;
- verification: first view (runs ``Ledger.verify``) vs a repeat view at the same size (cached);
- transparency: the year's report, first vs cached; one chart (vl-convert PNG), first vs cached;
- extracts: ``LedgerViews.extracts``.

Writes bench/results/console.json and bench/results/console.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py would shadow the standard library's http package (altair imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))

from healthwall.ledger import Ledger, generate_key  # noqa: E402
from healthwall.model.entries import (  # noqa: E402
    DecisionMade,
    ExtractMade,
    LedgerEntry,
    LegalBasisRef,
    Party,
    ReasonRef,
    Recipient,
    Released,
    RequestReceived,
)
from healthwall.workflows.console_views import LedgerViews  # noqa: E402

RESULTS = ROOT / "bench" / "results"
KEY = b"bench-pseudonym-key-0123456789abcdef"
DIGEST = hashlib.sha256(b"x").hexdigest()
KINDS = ("law-enforcement", "immigration-enforcement", "public-health", "data-broker")


def _entries(start: int, n: int, ledger: Ledger) -> list[LedgerEntry]:
    out: list[LedgerEntry] = []
    for i in range(start, start + n):
        rid = f"req-{i // 3}"
        kind = KINDS[i % len(KINDS)]
        if i % 3 == 0:
            out.append(
                RequestReceived(
                    request_id=rid,
                    requester=Party(id=kind, name=kind.title(), kind=kind),
                    purpose=kind,
                    instrument="judicial-warrant",
                    scope_kind="single-patient",
                    elements=["name"],
                    patient=ledger.patient_pseudonym(f"p{i % 5000}"),
                    request_digest=DIGEST,
                )
            )
        elif i % 3 == 1:
            out.append(
                DecisionMade(
                    request_id=rid,
                    decision="deny" if i % 2 else "permit",
                    reasons=[ReasonRef(policy=f"rule-{i % 7}", citation="c", text="t")],
                )
            )
        elif i % 1000 == 2:
            out.append(
                ExtractMade(
                    extract_id=f"x{i}",
                    recipient="Research team",
                    profile="safe-harbor",
                    spec_hash=DIGEST,
                    input_digest=DIGEST,
                    output_digest=DIGEST,
                    rows_in=1000,
                    rows_out=990,
                    risk_before=1.0,
                    risk_after=0.05,
                    threshold=0.09,
                    outcome="released",
                )
            )
        else:
            out.append(
                Released(
                    request_id=rid,
                    patient=ledger.patient_pseudonym(f"p{i % 5000}"),
                    recipient=Recipient(name="County Police"),
                    elements=["name"],
                    content_digest=DIGEST,
                    purpose="law-enforcement",
                    legal_basis=LegalBasisRef(instrument="judicial-warrant"),
                    accountable=True,
                )
            )
    return out


def _fill(ledger: Ledger, n: int) -> None:
    for start in range(0, n, 10_000):
        with ledger.writer() as tx:
            tx.append_many(_entries(start, min(10_000, n - start), ledger))


def _ms(fn: Callable[[], Any], repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def run_size(n: int, workdir: Path) -> dict[str, Any]:
    signer = generate_key("bench-console").private_text().encode()
    ledger = Ledger.open(f"sqlite:///{workdir / f'c{n}.db'}", pseudonym_key=KEY, signing_key=signer)
    t = time.perf_counter()
    _fill(ledger, n)
    fill_s = time.perf_counter() - t
    ledger.checkpoint()
    views = LedgerViews(ledger, verify_interval=0.0)
    today = dt.datetime.now(dt.UTC).date()
    year = (today - dt.timedelta(days=365), today)
    size = ledger.size()
    mid = size // 2
    r: dict[str, Any] = {"entries": size, "fill_s": round(fill_s, 1)}
    r["ledger_page_ms"] = _ms(lambda: views.page(size - 50, 50), 5)
    r["baseline_ledger_entries_ms"] = _ms(lambda: ledger.entries(size - 50, size), 5)
    r["entry_page_ms"] = _ms(lambda: views.entry(mid), 5)
    r["baseline_inclusion_proof_ms"] = _ms(lambda: ledger.inclusion_proof(mid), 5)
    r["verification_first_ms"] = _ms(lambda: views.verification(wait=3600.0))
    r["verification_cached_ms"] = _ms(lambda: views.verification(), 5)
    r["baseline_ledger_verify_ms"] = _ms(ledger.verify)
    r["transparency_first_ms"] = _ms(lambda: views.transparency(*year))
    r["transparency_cached_ms"] = _ms(lambda: views.transparency(*year), 5)
    r["chart_first_ms"] = _ms(lambda: views.chart(*year, "requests_by_requester_kind"))
    r["chart_cached_ms"] = _ms(lambda: views.chart(*year, "requests_by_requester_kind"), 5)
    r["extracts_ms"] = _ms(views.extracts, 3)
    ok = views.verification()[0]
    r["verified_ok"] = bool(ok and ok.ok and ok.size == size)
    ledger.close()
    return r


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        rows = [run_size(n, Path(tmp)) for n in sizes]
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()}
    (RESULTS / "console.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n")
    keys = [k for k in rows[0] if k != "entries"]
    lines = [
        "# Console page back ends (bench/console.py)",
        "",
        "Milliseconds (median of 5 where repeated; first views once). Issue 7 names no target;",
        "baselines are the bare ledger calls each page wraps, measured in the same run.",
        "",
        "| measure | " + " | ".join(f"{r['entries']:,} entries" for r in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    lines += [f"| {k} | " + " | ".join(str(r[k]) for r in rows) + " |" for k in keys]
    lines += ["", f"Machine: {meta}", ""]
    (RESULTS / "console.md").write_text("\n".join(lines))
    print("\n".join(lines))


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
