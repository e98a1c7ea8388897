"""Crash test: SIGKILL a writer process during sustained appends, several times; then every
acknowledged entry is present with its leaf hash, and the ledger verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledger_helpers import PSEUDONYM_KEY

from healthwall.ledger import Ledger

WRITER = Path(__file__).with_name("ledger_crash_writer.py")
ROUNDS = 5


def _run_and_kill(url: str, tag: str, rng: random.Random) -> dict[int, str]:
    """Start the writer, let it append for a random while, SIGKILL it; return its acks."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url, tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    first = proc.stdout.readline()  # wait for the first commit, then let it run a while
    time.sleep(rng.uniform(0.1, 0.4))
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    out = first + rest
    assert proc.returncode == -signal.SIGKILL
    acks: dict[int, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ACK":  # a torn last line is not an ack
            acks[int(parts[1])] = parts[2]
    return acks


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_acknowledged_entries_survive_sigkill(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    if backend == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    Ledger.open(url, pseudonym_key=PSEUDONYM_KEY).close()
    rng = random.Random(20261123)
    acked: dict[int, str] = {}
    for round_ in range(ROUNDS):
        acks = _run_and_kill(url, f"r{round_}", rng)
        assert acks, "the writer acknowledged nothing before it was killed"
        assert not acks.keys() & acked.keys(), "an index was handed out twice"
        acked.update(acks)
    ledger = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    try:
        result = ledger.verify()
        assert result.ok, result.reason
        assert ledger.size() >= len(acked)
        stored = {seq: leaf for seq, leaf, _ in ledger.find_with_hashes()}
        missing = [i for i, leaf in acked.items() if stored.get(i) != leaf]
        assert not missing, f"{len(missing)} acknowledged entries lost or changed"
        last = max(acked)
        assert ledger.inclusion_proof(last).leaf_hash == acked[last]
        assert ledger.append(ledger.entry(0)).index == ledger.size() - 1
    finally:
        ledger.close()
