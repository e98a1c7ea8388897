"""Wiring of the HTTP service: the runtime it calls, and how ``healthwall serve`` starts it.

:class:`Runtime` owns the live components -- the ledger, the gateway (policy + custodian store),
the aggregate settings and the credential store -- and exposes the use cases the API and console
call, so the service layer only parses, calls and renders.

The ASGI app is started by uvicorn from its import string
``healthwall.service.app:create_app_from_env`` (a factory) with the settings passed as
``HEALTHWALL_*`` environment variables: the workflow layer names the service, it never imports it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from healthwall.errors import ConfigError, HealthwallError, InvalidInput
from healthwall.ledger.log import Ledger
from healthwall.model.aggregate import AggregateResult, BudgetState
from healthwall.model.decision import Decision
from healthwall.model.request import Request
from healthwall.secrets import resolve_secret
from healthwall.workflows import aggregates
from healthwall.workflows.accounting import accounting_for
from healthwall.workflows.batching import PipelinedCommitter
from healthwall.workflows.credentials import CredentialStore
from healthwall.workflows.gateway import Disclosure, Gateway, GatewaySettings, Prepared

APP_FACTORY = "healthwall.service.app:create_app_from_env"

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "healthwall": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


@dataclass(frozen=True)
class ReviewItem:
    """A request waiting for a privacy officer: its provisional decision and who asked why."""

    decision: Decision
    requester: str
    purpose: str


@dataclass(frozen=True)
class RequestView:
    """A request's page: the decision, and a summary that names no patient."""

    decision: Decision
    summary: list[tuple[str, str]]


def summarize(request: Request | None) -> list[tuple[str, str]]:
    """Who asked, why, on what basis, for what -- never the patient's identifiers."""
    if request is None:
        return []
    r, basis = request.requester, request.legal_basis
    where = f", {r.jurisdiction}" if r.jurisdiction else ""
    return [
        ("Requester", f"{r.name} ({r.kind.value}{where})"),
        ("Purpose", request.purpose.value),
        ("Instrument", basis.instrument.value),
        ("Issued by", basis.issued_by or "-"),
        ("Reference", basis.reference or "-"),
        ("Elements the instrument names", ", ".join(e.value for e in basis.elements or []) or "-"),
        ("Conditions attested", ", ".join(c.value for c in basis.conditions) or "none"),
        ("Scope", request.scope.kind.value),
        ("Requested", ", ".join(e.value for e in request.requested())),
        ("Justification", request.justification or "-"),
    ]


@dataclass
class Runtime:
    """The live components behind one service process."""

    ledger: Ledger
    gateway: Gateway
    credentials: CredentialStore
    aggregate_settings: aggregates.AggregateSettings
    jurisdiction: str
    submitter: PipelinedCommitter[Prepared | HealthwallError, Disclosure] | None = None

    def __post_init__(self) -> None:
        if self.submitter is None:
            self.submitter = _submitter(self.gateway)

    # record requests -----------------------------------------------------------------------
    def submit(self, request: Request) -> Decision:
        """Decide (and, when permitted, release and record) one record request."""
        return self.gateway.submit(request)

    def submit_async(self, request: Request) -> Future[Disclosure]:
        """As :meth:`submit`, off the caller's thread and group-committed; with the content."""
        assert self.submitter is not None
        return self.submitter.submit(request)

    def submit_awaitable(self, request: Request) -> asyncio.Future[Disclosure]:
        """As :meth:`submit_async`, awaited on the running event loop (one wake-up per batch)."""
        assert self.submitter is not None
        return self.submitter.submit_async(request)

    def get(self, request_id: str, requester_id: str | None) -> Decision:
        """A decision by id; a requester sees only its own (else NotFound, revealing nothing)."""
        return self.gateway.get(request_id, requester_id)

    def pickup(self, request_id: str, requester_id: str) -> Disclosure:
        """The one-time pickup of an approved review's release by the requester that owns it."""
        return self.gateway.pickup(request_id, requester_id)

    def pending_reviews(self) -> list[ReviewItem]:
        """Requests waiting for a privacy officer, oldest first."""
        items = []
        for decision in self.gateway.pending_reviews():
            request = self.gateway.request(decision.request_id)
            who, why = "-", "-"
            if request is not None:
                who = f"{request.requester.name} ({request.requester.kind.value})"
                why = f"{request.purpose.value} / {request.legal_basis.instrument.value}"
            items.append(ReviewItem(decision, who, why))
        return items

    def review(self, request_id: str, officer_id: str, approve: bool, note: str) -> Decision:
        """A privacy officer's approval or denial, recorded in the ledger by the gateway."""
        return self.gateway.review(request_id, officer_id, approve, note)

    def detail(self, request_id: str) -> RequestView:
        """A request's decision and a summary of the request (no patient identifiers)."""
        decision = self.get(request_id, None)
        return RequestView(decision, summarize(self.gateway.request(request_id)))

    def ledger_size(self) -> int:
        return self.ledger.size()

    # accounting, aggregates, ledger --------------------------------------------------------
    def accounting(self, patient_id: str, start: dt.date | None, end: dt.date | None) -> Any:
        """The 164.528 accounting of one patient's disclosures."""
        return accounting_for(self.ledger, patient_id, start, end)

    def aggregate(self, body: dict[str, Any]) -> AggregateResult:
        return aggregates.answer(body, self.aggregate_settings, ledger=self.ledger)

    def budgets(self, requester_id: str | None) -> list[BudgetState]:
        return aggregates.budgets(self.aggregate_settings, requester_id, ledger=self.ledger)

    def checkpoint(self) -> dict[str, Any]:
        """The signed checkpoint (C2SP signed note) of the current tree."""
        note = self.ledger.checkpoint()
        size = int(note.splitlines()[1])  # origin, size, root hash, blank, signatures
        return {"origin": self.ledger.origin, "size": size, "note": note}

    def proof(self, index: int) -> dict[str, Any]:
        """RFC 9162 inclusion proof of entry ``index`` in the current tree."""
        return self.ledger.inclusion_proof(index).to_json()

    def close(self) -> None:
        if self.submitter is not None:
            self.submitter.close()
        self.gateway.close()
        self.credentials.close()
        self.ledger.close()


def _submitter(gateway: Gateway) -> PipelinedCommitter[Prepared | HealthwallError, Disclosure]:
    """Pipelined group commit: one thread prepares batches (policy, store), one records them
    (every batch waiting in ONE ledger transaction, one durable commit), overlapping.

    Each request is answered in place: a reused ``request_id`` fails only that request.
    """

    def prepare(requests: Sequence[Request]) -> list[Prepared | HealthwallError | Exception]:
        return list(gateway.prepare_many(requests))

    def record(
        prepared: Sequence[Prepared | HealthwallError | Exception],
    ) -> list[Disclosure | HealthwallError | Exception]:
        items = [
            p if isinstance(p, Prepared | HealthwallError) else InvalidInput("not prepared")
            for p in prepared
        ]
        return list(gateway.record_many(items))

    return PipelinedCommitter(prepare, record)


@dataclass(frozen=True)
class ServeOptions:
    """What ``healthwall serve`` is given; becomes ``HEALTHWALL_*`` for the app factory."""

    host: str = "127.0.0.1"
    port: int = 8000
    db: str = "sqlite:///healthwall.db"
    store: Path | None = Path("healthwall-store.duckdb")
    jurisdiction: str = "US-CA"
    packs: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 1

    def env(self) -> dict[str, str]:
        """The app factory's settings as environment variables."""
        out = {"HEALTHWALL_DB": self.db, "HEALTHWALL_JURISDICTION": self.jurisdiction}
        if self.store is not None:
            out["HEALTHWALL_STORE"] = str(self.store)
        if self.packs:
            out["HEALTHWALL_PACKS"] = self.packs
        return {**out, **self.extra_env}


def open_runtime(
    *,
    db: str,
    store: Path | None,
    jurisdiction: str,
    packs: tuple[str, ...] | None = None,
    pseudonym_key: str | None = None,
    signing_key: str | None = None,
    pickup_days: float = 7.0,
) -> Runtime:
    """Open the ledger, gateway, aggregates and credentials of one deployment."""
    if store is not None and not Path(store).exists():
        raise ConfigError(f"custodian store {store} does not exist", field="store")
    if pseudonym_key is None:
        raise ConfigError(
            "pseudonym_key: give a reference (env:NAME or file:PATH)", field="pseudonym_key"
        )
    ledger = Ledger.open(
        db,
        pseudonym_key=resolve_secret(pseudonym_key, what="pseudonym_key"),
        signing_key=resolve_secret(signing_key, what="signing_key") if signing_key else None,
    )
    settings = GatewaySettings(
        jurisdiction=jurisdiction, packs=packs, pickup_seconds=pickup_days * 86_400.0
    )
    gateway = Gateway(ledger, store, settings)
    agg = aggregates.AggregateSettings(
        store=store or Path("missing-store.duckdb"),
        ledger_url=db,
        pseudonym_key=pseudonym_key,
        signing_key=signing_key,
        jurisdiction=jurisdiction,
        packs=packs,
    )
    return Runtime(ledger, gateway, CredentialStore.open(db), agg, jurisdiction)


def serve(options: ServeOptions) -> None:
    """Run the service in this process until interrupted (``healthwall serve``).

    With ``workers`` > 1, uvicorn runs that many processes (each its own runtime; the ledger
    serializes their writers); console sessions then need ``HEALTHWALL_SESSION_KEY``.
    """
    import uvicorn

    if options.workers > 1 and not (
        options.extra_env.get("HEALTHWALL_SESSION_KEY") or os.environ.get("HEALTHWALL_SESSION_KEY")
    ):
        raise ConfigError(
            "several workers need a shared session key (HEALTHWALL_SESSION_KEY)", field="workers"
        )

    os.environ.update(options.env())
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=options.host,
        port=options.port,
        log_config=LOG_CONFIG,
        access_log=False,
        loop="uvloop",
        http="httptools",
        server_header=False,
        workers=options.workers,
    )


@dataclass
class ServerProcess:
    """A service running in a child process (the demo and the benchmark start one)."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(options: ServeOptions, *, log_path: Path | None = None) -> ServerProcess:
    """Start ``healthwall serve`` in a child process and wait until it answers /v1/health."""
    cmd = [sys.executable, "-m", "healthwall.cli.main", "serve", "--host", options.host]
    cmd += ["--port", str(options.port), "--db", options.db, "--jurisdiction", options.jurisdiction]
    if options.store is not None:
        cmd += ["--store", str(options.store)]
    if options.packs:
        cmd += ["--packs", options.packs]
    if options.workers > 1:
        cmd += ["--workers", str(options.workers)]
    env = {**os.environ, **options.env()}
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    url = f"http://{options.host}:{options.port}"
    server = ServerProcess(process, url)
    try:
        wait_healthy(url, process, log=log_path)
    except BaseException:
        server.stop()
        raise
    return server


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], timeout: float = 60.0, log: Path | None = None
) -> None:
    """Poll /v1/health until it answers 200; fail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    where = f"see {log}" if log else "run healthwall serve to see why"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(
                f"the service exited during start-up (port in use? {where})", field="serve"
            )
        try:
            if httpx.get(url + "/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ConfigError("the service did not start in time", field="serve")
