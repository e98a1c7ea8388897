"""Writers of one SQLite ledger in several processes take turns through a file lock.

The lock orders the waiters (they block in the kernel instead of SQLite's sleeping busy handler);
these tests check that the writer honours it, that it never goes stale when a holder is killed,
and that processes appending at once lose nothing.
"""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path

from ledger_helpers import PSEUDONYM_KEY, key_entry

from healthwall.ledger import Ledger


def test_writer_waits_for_the_lock_holder(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    ledger = Ledger.open(f"sqlite:///{db}", pseudonym_key=PSEUDONYM_KEY)
    fd = os.open(f"{db}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer, as far as the ledger knows
        done = threading.Event()
        t = threading.Thread(target=lambda: (ledger.append(key_entry(0)), done.set()))
        t.start()
        assert not done.wait(0.3)
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert done.wait(10)
        t.join()
        assert ledger.size() == 1
    finally:
        os.close(fd)
        ledger.close()


def _hold_writer_forever(url: str, ready: mp.synchronize.Event) -> None:
    ledger = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    with ledger.writer() as tx:
        tx.append(key_entry(99))
        ready.set()
        time.sleep(600)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_hold_writer_forever, args=(url, ready))
    child.start()
    try:
        assert ready.wait(60)
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        if child.is_alive():
            child.kill()
    ledger = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    try:
        t0 = time.monotonic()
        assert ledger.append(key_entry(0)).index == 0  # the killed transaction never happened
        assert time.monotonic() - t0 < 5
        assert ledger.verify().ok
    finally:
        ledger.close()


def _append_batches(url: str, worker: int) -> list[int]:
    ledger = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    got: list[int] = []
    try:
        for b in range(20):
            with ledger.writer() as tx:
                got += [r.index for r in tx.append_many([key_entry(worker * 1000 + b)] * 5)]
    finally:
        ledger.close()
    return got


def test_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url, pseudonym_key=PSEUDONYM_KEY).close()
    with mp.get_context("spawn").Pool(3) as pool:
        indexes = pool.starmap(_append_batches, [(url, w) for w in range(3)])
    flat = sorted(i for part in indexes for i in part)
    assert flat == list(range(300))
    ledger = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    try:
        assert ledger.size() == 300 and ledger.verify().ok
    finally:
        ledger.close()
