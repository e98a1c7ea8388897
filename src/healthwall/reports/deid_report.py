"""The de-identification report, as JSON (for machines and the ledger) and HTML (for people).

Both are written atomically (temporary file in the same directory, then ``os.replace``). The
HTML page lists every column's treatment with its rule and citation, the counts of values the
run changed, the digests and the verifier's verdict. It never shows a data value.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from healthwall.errors import InvalidInput
from healthwall.model.deid import DeidReport

TEMPLATE = "deid_report.html.j2"


def render_json(report: DeidReport) -> str:
    """The report as indented JSON with sorted keys (stable, diffable)."""
    return json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def render_html(report: DeidReport) -> str:
    """The report as a self-contained HTML page."""
    env = Environment(
        loader=PackageLoader("healthwall.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    counts = {c.column: c for c in report.counts}
    return env.get_template(TEMPLATE).render(report=report, counts=counts)


def report_paths(path: Path) -> tuple[Path, Path]:
    """(JSON path, HTML path) for a ``--report`` argument ending in .json or .html."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".html", ".htm"):
        raise InvalidInput(f"{path.name}: a report file ends in .json or .html", field="report")
    return path.with_suffix(".json"), path.with_suffix(".html")


def check_report_path(path: Path) -> None:
    """Fail before any work when the report could not be written (suffix, directory)."""
    report_paths(path)
    if not path.parent.is_dir():
        raise InvalidInput(f"report directory {path.parent} does not exist", field="report")


def write_report(report: DeidReport, path: Path) -> tuple[Path, Path]:
    """Write the JSON and the HTML report next to each other; returns both paths."""
    json_path, html_path = report_paths(path)
    _atomic_write(json_path, render_json(report))
    _atomic_write(html_path, render_html(report))
    return json_path, html_path


def _atomic_write(path: Path, text: str) -> None:
    if not path.parent.is_dir():
        raise InvalidInput(f"report directory {path.parent} does not exist", field="report")
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
