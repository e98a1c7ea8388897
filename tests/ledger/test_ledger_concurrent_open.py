"""Several processes opening (creating) the same new SQLite ledger at once all succeed."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from healthwall.ledger import Ledger

KEY = b"k" * 32


def _open_and_count(url: str) -> int:
    ledger = Ledger.open(url, pseudonym_key=KEY)
    try:
        return ledger.size()
    finally:
        ledger.engine.dispose()


def test_concurrent_first_open_of_a_new_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new-ledger.db'}"
    ctx = mp.get_context("spawn")
    with ctx.Pool(6) as pool:
        sizes = pool.map(_open_and_count, [url] * 12)
    assert sizes == [0] * 12
    ledger = Ledger.open(url, pseudonym_key=KEY)
    assert ledger.verify().ok
