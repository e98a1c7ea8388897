"""Read-only views the privacy officer's console pages render (ledger, accounting, reports).

The console (service layer) may import only workflows and model, so what it needs from the
ledger and the report writers is gathered here: a page of ledger entries reduced to what may be
shown (kinds, timestamps, request ids, pseudonyms -- never content), an entry with its inclusion
proof against a signed checkpoint (checked here with the standalone verifier), a verification
status cached per ledger size (``Ledger.verify`` recomputes the whole tree), the transparency
report and its charts, the history of extracts, and the printable accounting.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from healthwall.errors import InvalidInput, NotFound
from healthwall.ledger import Ledger
from healthwall.ledger.verifier import (
    VerificationError,
    open_note,
    parse_checkpoint_body,
    parse_public_key,
    verify_entry,
)
from healthwall.model.entries import AggregateAnswered, ExtractMade
from healthwall.reports.accounting import Accounting, render_accounting_html
from healthwall.reports.transparency import TransparencyReport, chart_png
from healthwall.workflows.transparency import build_report

PAGE_SIZE = 50
VERIFY_WAIT_S = 3.0
VERIFY_INTERVAL_S = 300.0
REPORT_TTL_S = 300.0
#: Entry fields a listing may show: never content, only ids, codes and pseudonyms.
_ID_FIELDS = ("request_id", "extract_id", "accounting_id")


@dataclass(frozen=True)
class EntryRow:
    """One line of the ledger listing."""

    index: int
    kind: str
    at: str
    ref: str
    patient: str


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying the whole ledger at one size."""

    ok: bool
    size: int
    root: str
    reason: str
    first_bad_index: int | None
    checkpoints_checked: int
    signatures_checked: bool


@dataclass(frozen=True)
class EntryView:
    """One entry, its exact hashed bytes as text, and its proof against a signed checkpoint."""

    index: int
    kind: str
    fields: dict[str, Any]
    entry_text: str
    proof: dict[str, Any] | None
    checkpoint: str | None
    proof_checked: bool
    proof_problem: str


@dataclass
class LedgerViews:
    """The console's window on the ledger; keeps the latest verification (per ledger size)."""

    ledger: Ledger
    verify_interval: float = VERIFY_INTERVAL_S
    report_ttl: float = REPORT_TTL_S
    _latest: Verification | None = None
    _running: threading.Thread | None = None
    _started: float = 0.0
    _charts: dict[tuple[str, dt.date, dt.date, str], bytes] = field(default_factory=dict)
    _reports: dict[tuple[dt.date, dt.date], tuple[float, TransparencyReport]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def size(self) -> int:
        return self.ledger.size()

    def checkpoint(self) -> str | None:
        """The latest signed checkpoint: a fresh one of the current tree when we can sign."""
        if self.ledger.signer is not None:
            return self.ledger.checkpoint()
        return self.ledger.latest_checkpoint()

    def verification(self, wait: float = VERIFY_WAIT_S) -> tuple[Verification | None, bool]:
        """The latest ``Ledger.verify()`` result and whether a newer run is under way.

        A run starts in a background thread when the ledger has grown past the last verified
        size (at most one run at a time, and not more often than every ``verify_interval`` s
        once a result exists: a full pass over a million entries takes about 30 s). The page
        waits up to ``wait`` seconds for it, so small ledgers show a current result at once.
        """
        size = self.size()
        with self._lock:
            latest = self._latest
            if latest is not None and latest.size >= size:
                return latest, False
            due = latest is None or time.monotonic() - self._started >= self.verify_interval
            if self._running is None and due:
                self._started = time.monotonic()
                self._running = threading.Thread(
                    target=self._verify, name="ledger-verify", daemon=True
                )
                self._running.start()
            running = self._running
        if running is not None:
            running.join(wait)
        with self._lock:
            return self._latest, self._running is not None

    def _verify(self) -> None:
        try:
            r = self.ledger.verify()
            result = Verification(
                r.ok,
                r.size,
                r.root,
                r.reason,
                r.first_bad_index,
                r.checkpoints_checked,
                r.signatures_checked,
            )
        except Exception as exc:  # fail closed: an error while verifying is a failed check
            result = Verification(False, 0, "", type(exc).__name__, None, 0, False)
        with self._lock:
            self._latest = result
            self._running = None

    def page(self, start: int, count: int = PAGE_SIZE) -> list[EntryRow]:
        """Entries ``start .. start+count-1``, reduced to kind, time, id and pseudonym."""
        if start < 0 or not 0 < count <= 500:
            raise InvalidInput("start/count: out of range", field="start")
        rows = []
        for index, entry in self.ledger.entries(start, start + count):
            data = entry.to_json()
            ref = next((str(data[k]) for k in _ID_FIELDS if data.get(k)), "")
            rows.append(EntryRow(index, entry.kind, entry.at, ref, str(data.get("patient") or "")))
        return rows

    def entry(self, index: int) -> EntryView:
        """Entry ``index`` with an inclusion proof against a checkpoint that covers it."""
        size = self.size()
        if not 0 <= index < size:
            raise NotFound(f"ledger entry {index} does not exist", field="index")
        raw = self.ledger.entry_bytes(index)
        entry = self.ledger.entry(index)
        note = self._covering(index)
        proof: dict[str, Any] | None = None
        checked, problem = False, "no signed checkpoint covers this entry yet"
        if note is not None:
            proof = self.ledger.inclusion_proof(index, int(note.split("\n")[1])).to_json()
            key = self.ledger.signer.public_text() if self.ledger.signer else None
            checked, problem = _check_proof(note, proof, raw, key)
        return EntryView(
            index,
            entry.kind,
            entry.to_json(),
            raw.decode("utf-8", errors="replace"),
            proof,
            note,
            checked,
            problem,
        )

    def _covering(self, index: int) -> str | None:
        if self.ledger.signer is not None:
            return self.ledger.checkpoint()
        for size, _, note in reversed(self.ledger.stored_checkpoints()):
            if size > index:
                return note
        return None

    def extracts(self) -> list[tuple[int, ExtractMade]]:
        """Every bulk extract recorded (released or refused), newest first."""
        found = self.ledger.find(kinds=("extract-made",))
        return [(i, e) for i, e in reversed(found) if isinstance(e, ExtractMade)]

    def aggregates(self, limit: int = 200) -> list[tuple[int, AggregateAnswered]]:
        """The latest differentially private answers (what each spent), newest first."""
        found = self.ledger.find(kinds=("aggregate-answered",))
        return [(i, e) for i, e in reversed(found[-limit:]) if isinstance(e, AggregateAnswered)]

    def transparency(self, start: dt.date, end: dt.date) -> TransparencyReport:
        """The suppressed transparency report of ``start`` .. ``end`` (inclusive).

        Building it reads every entry of the period (10-24 s per 100,000 entries in
        bench/console.py), so a report is reused for ``report_ttl`` seconds even if the ledger
        grew meanwhile; the page shows the ledger size it covers.
        """
        now = time.monotonic()
        with self._lock:
            cached = self._reports.get((start, end))
        if cached is not None and (
            now - cached[0] < self.report_ttl or cached[1].ledger_size == self.size()
        ):
            return cached[1]
        report = build_report(self.ledger, start, end)
        with self._lock:
            if len(self._reports) > 16:
                self._reports.clear()
            self._reports[(start, end)] = (now, report)
        return report

    def chart(self, start: dt.date, end: dt.date, table_id: str) -> bytes:
        """The PNG chart of one table of the period's (possibly reused) report; cached per
        report."""
        report = self.transparency(start, end)
        key = (report.generated_at, start, end, table_id)
        with self._lock:
            cached = self._charts.get(key)
        if cached is not None:
            return cached
        png = chart(report, table_id)
        with self._lock:
            if len(self._charts) > 256:
                self._charts.clear()
            self._charts[key] = png
        return png


def _check_proof(
    note: str, proof: dict[str, Any], raw: bytes, public_key: str | None
) -> tuple[bool, str]:
    """Check the note's signature (when we hold the key) and recompute its root from the
    entry's bytes and the proof, with the standalone verifier an outside auditor runs."""
    try:
        if public_key is not None:
            checkpoint = open_note(note, parse_public_key(public_key))
        else:
            checkpoint = parse_checkpoint_body(note.split("\n\n", 1)[0] + "\n")
        verify_entry(checkpoint, proof, raw)
    except VerificationError as exc:
        return False, str(exc)  # the verifier's messages name checks, never entry content
    return True, ""


def chart(report: TransparencyReport, table_id: str) -> bytes:
    """The PNG bar chart of one table (small cells suppressed, as in the published report)."""
    for table in report.tables:
        if table.id == table_id:
            return chart_png(table)
    raise NotFound("no such table", field="table")


def charted_tables(report: TransparencyReport) -> set[str]:
    """Tables with at least one published (unsuppressed, non-zero) count: those get a chart."""
    return {t.id for t in report.tables if any(isinstance(c, int) and c > 0 for _, c in t.rows)}


def accounting_html(accounting: Accounting, custodian: str) -> str:
    """The report writer's printable accounting (a standalone HTML page)."""
    return render_accounting_html(accounting, custodian=custodian)
