"""``healthwall demo``: the README's main job, end to end on synthetic data.

In a work directory (default ``./healthwall-demo``, git-ignored, rebuilt on every run):

1. generate synthetic custodian records (patients and claims) and ingest them into a DuckDB store;
2. produce the researcher's extracts -- claims under Safe Harbor (with its report) and patients
   under expert determination -- and record both in the ledger;
3. create keys (by file reference), the ledger, API keys for the requesters and an officer and an
   auditor login, all printed once;
4. start the service (a child process running ``healthwall serve``) and replay the scenarios of
   :mod:`healthwall.workflows.demo_scenarios` THROUGH HTTP, so every console page has content;
5. print the decision of each scenario and the console URL, then keep serving until Ctrl-C
   (``--no-serve``: stop after the replay, for CI).

Nothing printed holds a patient's data: the scenarios pick patients in the store, but the summary
shows only requesters, instruments and decisions.
"""

from __future__ import annotations

import secrets
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from healthwall.ledger.checkpoint import generate_key
from healthwall.workflows import demo_extracts
from healthwall.workflows.credentials import CredentialStore, Role
from healthwall.workflows.demo_extracts import Extract
from healthwall.workflows.demo_scenarios import (
    REQUESTERS,
    Outcome,
    pick_patients,
    replay,
    replay_one,
)
from healthwall.workflows.ingest import run_ingest
from healthwall.workflows.serve import ServeOptions, ServerProcess, start_server
from healthwall.workflows.synth import run_synth


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path = Path("healthwall-demo")
    patients: int = 2000
    port: int = 8000
    jurisdiction: str = "US-CA"
    keep_serving: bool = True
    seed: int = 20260101
    host: str = "127.0.0.1"


@dataclass
class DemoSetup:
    """What the demo created: paths, key references, API keys and console logins."""

    workdir: Path
    db: str
    store: Path
    env: dict[str, str]
    api_keys: dict[str, str] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    extracts: list[Extract] = field(default_factory=list)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def prepare(workdir: Path, patients: int, seed: int, *, extract: bool = True) -> DemoSetup:
    """Build the demo's data, keys, ledger database and credentials in ``workdir``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "keys").mkdir(parents=True)
    data = run_synth(patients, seed, workdir / "data")
    store = workdir / "store.duckdb"
    ingest(store, data.patients_path, data.claims_path)
    setup = DemoSetup(workdir, f"sqlite:///{workdir / 'healthwall.db'}", store, _keys(workdir))
    if extract:
        _extracts(setup, data.patients_path)
    _credentials(setup)
    return setup


def ingest(store: Path, patients: Path, claims: Path) -> None:
    """Load the synthetic files into the custodian's DuckDB store (tables patients, claims)."""
    run_ingest([patients, claims], store)


def _keys(workdir: Path) -> dict[str, str]:
    """Key files (mode 600) and the ``HEALTHWALL_*`` references to them."""
    keys = workdir / "keys"
    files = {
        "pseudonym.key": secrets.token_hex(32),
        "session.key": secrets.token_hex(32),
        "signing.key": generate_key("healthwall-demo").private_text(),
    }
    for name, value in files.items():
        path = keys / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
    return {
        "HEALTHWALL_PSEUDONYM_KEY": f"file:{keys / 'pseudonym.key'}",
        "HEALTHWALL_SESSION_KEY": f"file:{keys / 'session.key'}",
        "HEALTHWALL_SIGNING_KEY": f"file:{keys / 'signing.key'}",
    }


def _extracts(setup: DemoSetup, patients_file: Path) -> None:
    """The researcher's two extracts (Safe Harbor, expert determination), in the ledger."""
    key_ref = setup.env["HEALTHWALL_PSEUDONYM_KEY"]
    made = [
        demo_extracts.safe_harbor(setup.workdir, setup.store, key_ref),
        demo_extracts.expert(setup.workdir, setup.store, patients_file),
    ]
    setup.extracts = [extract for extract, _ in made]
    demo_extracts.record(setup.db, key_ref, [entry for _, entry in made])


def _credentials(setup: DemoSetup) -> None:
    store = CredentialStore.open(setup.db)
    try:
        for requester in REQUESTERS:
            store.add_principal(
                requester.id, requester.name, Role.REQUESTER, requester_kind=requester.kind
            )
            setup.api_keys[requester.id] = store.create_api_key(requester.id)
        for user, name, role in (
            ("officer", "Demo Privacy Officer", Role.OFFICER),
            ("auditor", "Demo Auditor", Role.AUDITOR),
        ):
            password = secrets.token_urlsafe(12)
            store.add_principal(user, name, role, password=password)
            setup.logins[user] = password
    finally:
        store.close()


def start(setup: DemoSetup, options: DemoOptions, jurisdiction: str, port: int) -> ServerProcess:
    """Start ``healthwall serve`` for the demo in a child process (log in the work dir)."""
    serve_options = ServeOptions(
        host=options.host,
        port=port,
        db=setup.db,
        store=setup.store,
        jurisdiction=jurisdiction,
        extra_env=setup.env,
    )
    log = setup.workdir / f"service-{jurisdiction.lower()}.log"
    return start_server(serve_options, log_path=log)


def run(options: DemoOptions, out: TextIO) -> list[Outcome]:
    """The whole demo; returns each scenario's outcome (also printed)."""
    out.write(f"healthwall demo: {options.patients} synthetic patients in {options.workdir}\n")
    setup = prepare(options.workdir, options.patients, options.seed)
    patients = pick_patients(setup.store)
    port = options.port or free_port(options.host)
    server = start(setup, options, options.jurisdiction, port)
    try:
        outcomes = replay(server.url, setup, patients, skip=frozenset({GB_TRACE}))
        outcomes.insert(3, _gb_trace(setup, options, patients))
        _print_summary(out, setup, server.url, outcomes)
        if options.keep_serving:
            out.write("serving until Ctrl-C ...\n")
            out.flush()
            try:
                server.process.wait()
            except KeyboardInterrupt:
                out.write("stopping\n")
    finally:
        server.stop()
    return outcomes


GB_TRACE = "Home Office address trace (GB)"


def _gb_trace(
    setup: DemoSetup, options: DemoOptions, patients: dict[str, dict[str, str]]
) -> Outcome:
    """The Home Office trace, decided by the same firewall deployed for a GB custodian (packs of
    GB, the narrowed 2018 MoU) on the same ledger, so it shows in the console too."""
    server = start(setup, options, "GB", free_port(options.host))
    try:
        return replay_one(server.url, setup, GB_TRACE, patients)
    finally:
        server.stop()


def _print_summary(out: TextIO, setup: DemoSetup, url: str, outcomes: list[Outcome]) -> None:
    width = max(len(o.scenario) for o in outcomes)
    out.write("\nscenario".ljust(width + 3) + "HTTP  decision   released\n")
    for o in outcomes:
        released = ", ".join(o.released) or "-"
        if o.released and o.withheld_labels:
            released += f" (records labelled {', '.join(o.withheld_labels)} withheld)"
        out.write(f"{o.scenario.ljust(width + 2)}{o.status:<6}{o.decision:<11}{released}\n")
    for extract in setup.extracts:
        risk = f", highest risk {extract.risk_after:.3f}" if extract.risk_after is not None else ""
        out.write(
            f"\nextract for the researcher ({extract.name}): {extract.rows_out} of"
            f" {extract.rows_in} rows{risk}\n  {extract.output}\n  report: {extract.report}\n"
        )
    out.write("\nAPI keys (shown once):\n")
    for requester, key in setup.api_keys.items():
        out.write(f"  {requester:<14} {key}\n")
    out.write("\nConsole logins (shown once):\n")
    for user, password in setup.logins.items():
        out.write(f"  {user:<14} {password}\n")
    out.write(f"\nconsole: {url}/console/   API docs: {url}/docs\n")
    out.flush()
