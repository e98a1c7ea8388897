"""The public transparency report: how many requests came from whom and how they were answered.

Built from ledger entries of one period (pure counting), rendered as JSON, HTML and PNG charts
(Altair + vl-convert). Tables: requests by requester kind, instrument, purpose, decision and
month; elements released; refusals by reason; extracts by outcome and profile; aggregates by
template and requester kind.

Small cells: every count from 1 to 10 is shown as ``"<11"`` so the report cannot single anyone
out. When a table would have exactly one suppressed cell next to a published total, the next
smallest cell is suppressed too (complementary suppression), so no cell can be recovered by
subtraction. Zero is shown as 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from healthwall.model.entries import (
    AggregateAnswered,
    DecisionMade,
    ExtractMade,
    LedgerEntry,
    Released,
    RequestReceived,
)

THRESHOLD = 11
MARKER = f"<{THRESHOLD}"
TEMPLATES = Path(__file__).parent / "templates"

Cell = int | str

#: Table id -> human title, in report order.
TABLES: dict[str, str] = {
    "requests_by_requester_kind": "Requests by requester kind",
    "requests_by_instrument": "Requests by legal instrument",
    "requests_by_purpose": "Requests by stated purpose",
    "requests_by_decision": "Requests by decision",
    "requests_by_month": "Requests by month",
    "elements_released": "Data elements released (per release)",
    "refusals_by_reason": "Refusals by deciding rule",
    "extracts_by_outcome": "Bulk extracts by outcome",
    "extracts_by_profile": "Bulk extracts by de-identification profile",
    "aggregates_by_template": "Aggregate queries by template",
    "aggregates_by_requester_kind": "Aggregate queries by requester kind",
}


@dataclass(frozen=True)
class Table:
    """One published table: rows of (key, count or ``"<11"``) and the (suppressed) total."""

    id: str
    title: str
    rows: list[tuple[str, Cell]]
    total: Cell

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "rows": [{"key": k, "count": c} for k, c in self.rows],
            "total": self.total,
        }


@dataclass(frozen=True)
class TransparencyReport:
    """The report of one period; only suppressed counts are kept, never the raw small ones."""

    start: str
    end: str
    generated_at: str
    ledger_size: int
    ledger_root: str
    tables: list[Table] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": {"start": self.start, "end": self.end},
            "generated_at": self.generated_at,
            "ledger": {"size": self.ledger_size, "root": self.ledger_root},
            "suppression": {"threshold": THRESHOLD, "marker": MARKER},
            "tables": {t.id: t.to_json() for t in self.tables},
        }


def suppress(value: int) -> Cell:
    """A count as published: 1..10 become ``"<11"``."""
    return MARKER if 0 < value < THRESHOLD else value


def suppress_table(counts: Counter[str]) -> tuple[list[tuple[str, Cell]], Cell]:
    """Primary and complementary suppression of one table's counts, rows sorted by key."""
    keys = sorted(counts)
    hidden = {k for k in keys if 0 < counts[k] < THRESHOLD}
    total = sum(counts.values())
    if len(hidden) == 1 and total >= THRESHOLD:
        visible = sorted((counts[k], k) for k in keys if k not in hidden and counts[k] > 0)
        if visible:
            hidden.add(visible[0][1])
    rows = [(k, MARKER if k in hidden else counts[k]) for k in keys]
    return rows, suppress(total)


def _count_entries(entries: Iterable[tuple[int, LedgerEntry]]) -> dict[str, Counter[str]]:
    c: dict[str, Counter[str]] = {tid: Counter() for tid in TABLES}
    decisions: dict[str, DecisionMade] = {}
    for _, e in entries:
        if isinstance(e, RequestReceived):
            c["requests_by_requester_kind"][e.requester.kind] += 1
            c["requests_by_instrument"][e.instrument] += 1
            c["requests_by_purpose"][e.purpose] += 1
            c["requests_by_month"][e.at[:7]] += 1
        elif isinstance(e, DecisionMade):
            decisions[e.request_id] = e  # the last decision on a request stands
        elif isinstance(e, Released):
            c["elements_released"].update(e.elements)
        elif isinstance(e, ExtractMade):
            c["extracts_by_outcome"][e.outcome] += 1
            c["extracts_by_profile"][e.profile] += 1
        elif isinstance(e, AggregateAnswered):
            c["aggregates_by_template"][e.template] += 1
            c["aggregates_by_requester_kind"][e.requester.kind] += 1
    for d in decisions.values():
        c["requests_by_decision"][d.decision] += 1
        if d.decision == "deny":
            c["refusals_by_reason"].update({r.policy for r in d.reasons} or {"unspecified"})
    return c


def build_transparency(
    entries: Iterable[tuple[int, LedgerEntry]],
    *,
    start: str,
    end: str,
    generated_at: str,
    ledger_size: int,
    ledger_root: str,
) -> TransparencyReport:
    """Count the period's entries into suppressed tables."""
    counts = _count_entries(entries)
    tables = []
    for tid, title in TABLES.items():
        rows, total = suppress_table(counts[tid])
        tables.append(Table(tid, title, rows, total))
    return TransparencyReport(start, end, generated_at, ledger_size, ledger_root, tables)


def chart_png(table: Table) -> bytes:
    """A bar chart of a table's published (unsuppressed) counts, as PNG bytes."""
    import altair as alt
    import vl_convert as vlc

    rows = [{"key": k, "count": c} for k, c in table.rows if isinstance(c, int)]
    hidden = sum(1 for _, c in table.rows if not isinstance(c, int))
    subtitle = f"{hidden} categories under {THRESHOLD} not shown" if hidden else ""
    data = alt.Data(values=rows)  # type: ignore[no-untyped-call]
    chart = (
        alt.Chart(data, title=alt.Title(table.title, subtitle=subtitle))
        .mark_bar()
        .encode(x=alt.X("count:Q", title="count"), y=alt.Y("key:N", title=None, sort=None))
        .properties(width=420, height=max(40, 22 * max(1, len(rows))))
    )
    png: bytes = vlc.vegalite_to_png(chart.to_json(), scale=1.5)
    return png


def render_transparency_html(report: TransparencyReport, charts: dict[str, str]) -> str:
    """The HTML page; ``charts`` maps table id to the relative PNG path."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("transparency.html").render(
        r=report, charts=charts, threshold=THRESHOLD, marker=MARKER
    )
