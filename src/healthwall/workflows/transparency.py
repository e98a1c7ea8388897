"""Transparency report use cases: build a period's report from the ledger, write its files.

``build_report(ledger, start, end)`` (dates inclusive, UTC) is what the console calls;
``write_report(report, out_dir)`` writes ``transparency.json``, ``transparency.html`` and one PNG
chart per non-empty table under ``charts/``, each file atomically.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from healthwall.errors import InvalidInput
from healthwall.ledger import Ledger
from healthwall.model.entries import format_utc, utc_now
from healthwall.reports.transparency import (
    TransparencyReport,
    build_transparency,
    chart_png,
    render_transparency_html,
)
from healthwall.workflows.ledger import write_atomic

KINDS = (
    "request-received",
    "decision-made",
    "released",
    "extract-made",
    "aggregate-answered",
)


def _bound(day: dt.date) -> str:
    return format_utc(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))


def build_report(ledger: Ledger, start: dt.date, end: dt.date) -> TransparencyReport:
    """The suppressed report of entries recorded from ``start`` through ``end``."""
    if end < start:
        raise InvalidInput("to: before from", field="to")
    size = ledger.size()
    entries = ledger.find(
        kinds=KINDS, since=_bound(start), until=_bound(end + dt.timedelta(days=1))
    )
    return build_transparency(
        (e for e in entries if e[0] < size),
        start=start.isoformat(),
        end=end.isoformat(),
        generated_at=utc_now(),
        ledger_size=size,
        ledger_root=ledger.root(size).hex(),
    )


def write_report(report: TransparencyReport, out_dir: Path, *, charts: bool = True) -> list[Path]:
    """Write JSON, HTML and (optionally) PNG charts into ``out_dir``; returns the paths."""
    written: list[Path] = []
    chart_paths: dict[str, str] = {}
    if charts:
        for table in report.tables:
            if any(isinstance(c, int) and c > 0 for _, c in table.rows):
                path = out_dir / "charts" / f"{table.id}.png"
                write_atomic(path, chart_png(table))
                chart_paths[table.id] = f"charts/{table.id}.png"
                written.append(path)
    for name, data in (
        ("transparency.json", json.dumps(report.to_json(), indent=2).encode()),
        ("transparency.html", render_transparency_html(report, chart_paths).encode()),
    ):
        write_atomic(out_dir / name, data)
        written.append(out_dir / name)
    return written
