"""Tampering is caught with the first bad index named: edits, deletions, swaps, file edits.

The attacker drops the append-only triggers with raw SQL first (as an insider with DBA rights
would), or edits the SQLite file directly.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_helpers import PSEUDONYM_KEY, decision, key_entry, release
from sqlalchemy import text

from healthwall.ledger import Ledger
from healthwall.ledger.hashing import leaf_hash, tree_levels

N = 40


def _fill(ledger: Ledger, n: int = N, checkpoint_at: tuple[int, ...] = ()) -> None:
    p = ledger.patient_pseudonym("patient-t")
    for start in range(0, n, 10):
        with ledger.writer() as tx:
            tx.append_many(
                [release(p, i) if i % 3 else decision(i) for i in range(start, min(n, start + 10))]
            )
        if start + 10 in checkpoint_at:
            ledger.checkpoint()


def _drop_triggers(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        if ledger.engine.dialect.name == "sqlite":
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            for (name,) in names.all():
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            for table in ("hw_ledger_entries", "hw_ledger_checkpoints"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _sql(ledger: Ledger, sql: str, **params: object) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text(sql), params)


def _flip(data: bytes, pos: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[pos] ^= mask
    return bytes(out)


def test_untouched_ledger_verifies(ledger: Ledger) -> None:
    _fill(ledger, checkpoint_at=(20, 40))
    result = ledger.verify()
    assert result.ok and result.first_bad_index is None and result.size == N
    assert result.checkpoints_checked == 2


@given(index=st.integers(0, N - 1), pos=st.integers(0, 10_000), mask=st.integers(1, 255))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_one_byte_edit_of_an_entry_is_named(
    sqlite_ledger: Ledger, index: int, pos: int, mask: int
) -> None:
    if sqlite_ledger.size() == 0:
        _fill(sqlite_ledger)
        _drop_triggers(sqlite_ledger)
    body = sqlite_ledger.entry_bytes(index)
    edited = _flip(body, pos % len(body), mask)
    _sql(sqlite_ledger, "UPDATE hw_ledger_entries SET body = :b WHERE seq = :s", b=edited, s=index)
    try:
        result = sqlite_ledger.verify()
        assert not result.ok and result.first_bad_index == index
    finally:
        _sql(
            sqlite_ledger, "UPDATE hw_ledger_entries SET body = :b WHERE seq = :s", b=body, s=index
        )
    assert sqlite_ledger.verify().ok


@pytest.mark.parametrize("index", [0, 17, N - 1])
def test_edit_of_a_stored_leaf_hash_is_named(ledger: Ledger, index: int) -> None:
    _fill(ledger)
    _drop_triggers(ledger)
    h = leaf_hash(ledger.entry_bytes(index))
    _sql(
        ledger, "UPDATE hw_ledger_entries SET leaf_hash = :h WHERE seq = :s", h=_flip(h, 5), s=index
    )
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == index


@pytest.mark.parametrize("index", [0, 23, N - 1])
def test_deleted_row_is_named(ledger: Ledger, index: int) -> None:
    _fill(ledger, checkpoint_at=(N,))
    _drop_triggers(ledger)
    _sql(ledger, "DELETE FROM hw_ledger_entries WHERE seq = :s", s=index)
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == index


@pytest.mark.parametrize(("a", "b"), [(3, 4), (10, 31), (0, N - 1)])
def test_swapped_rows_are_named(ledger: Ledger, a: int, b: int) -> None:
    _fill(ledger)
    _drop_triggers(ledger)
    rows = {s: (ledger.entry_bytes(s), leaf_hash(ledger.entry_bytes(s))) for s in (a, b)}
    for s, t in ((a, b), (b, a)):
        _sql(
            ledger,
            "UPDATE hw_ledger_entries SET body = :body, leaf_hash = :h WHERE seq = :s",
            body=rows[t][0],
            h=rows[t][1],
            s=s,
        )
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == a


def test_consistent_rewrite_is_caught_by_nodes_and_checkpoints(ledger: Ledger) -> None:
    """An attacker who rewrites an entry AND its leaf hash is still caught by the tree above."""
    _fill(ledger, checkpoint_at=(20, 40))
    _drop_triggers(ledger)
    body = ledger.entry_bytes(25).replace(b"County Sheriff", b"County Sheriffs")
    assert body != ledger.entry_bytes(25)
    _sql(
        ledger,
        "UPDATE hw_ledger_entries SET body = :b, leaf_hash = :h WHERE seq = 25",
        b=body,
        h=leaf_hash(body),
    )
    result = ledger.verify()
    assert not result.ok and result.first_bad_index is not None
    assert 20 <= result.first_bad_index <= 25
    assert result.reason == "entry 25: stored tree nodes do not match the entries"
    # with every stored node recomputed too, only the signed checkpoints stand: the one at 20
    # still holds, the one at 40 does not, so the range start is named
    _rewrite_nodes(ledger)
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 20
    assert "checkpoint 40" in result.reason


def _rewrite_nodes(ledger: Ledger) -> None:
    """What an insider who recomputes the tree after an edit would store in every row."""
    with ledger.engine.connect() as conn:
        leaves = [
            bytes(h)
            for (h,) in conn.execute(text("SELECT leaf_hash FROM hw_ledger_entries ORDER BY seq"))
        ]
    levels = tree_levels(leaves)
    for seq in range(len(leaves)):
        closed, level, i = b"", 0, seq
        while i & 1:
            level += 1
            i >>= 1
            closed += levels[level][seq >> level]
        _sql(ledger, "UPDATE hw_ledger_entries SET nodes = :n WHERE seq = :s", n=closed, s=seq)


@pytest.mark.parametrize(
    ("seq", "change"), [(13, "flip"), (31, "flip"), (31, "short"), (30, "add")]
)
def test_tampered_stored_node_is_named(ledger: Ledger, seq: int, change: str) -> None:
    """A changed, shortened or invented tree node in a row is caught at that row."""
    _fill(ledger)
    _drop_triggers(ledger)
    with ledger.engine.connect() as conn:
        nodes = bytes(
            conn.execute(
                text(f"SELECT nodes FROM hw_ledger_entries WHERE seq = {seq}")
            ).scalar_one()
        )
    changed = {
        "flip": lambda b: _flip(b, len(b) - 1),
        "short": lambda b: b[:-1],
        "add": lambda b: b + bytes(32),
    }[change](nodes)
    _sql(ledger, "UPDATE hw_ledger_entries SET nodes = :n WHERE seq = :s", n=changed, s=seq)
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == seq
    assert result.reason == f"entry {seq}: stored tree nodes do not match the entries"


def test_truncated_tail_is_caught_by_the_checkpoint(ledger: Ledger) -> None:
    _fill(ledger, checkpoint_at=(N,))
    _drop_triggers(ledger)
    _sql(ledger, "DELETE FROM hw_ledger_entries WHERE seq >= 35")
    result = ledger.verify()
    assert not result.ok and result.first_bad_index == 35


def test_forged_checkpoint_signature_is_caught(ledger: Ledger) -> None:
    _fill(ledger, checkpoint_at=(20,))
    _drop_triggers(ledger)
    note = ledger.stored_checkpoints()[0][2]
    forged = note[:-10] + ("A" if note[-10] != "A" else "B") + note[-9:]
    _sql(ledger, "UPDATE hw_ledger_checkpoints SET note = :n", n=forged)
    result = ledger.verify()
    assert not result.ok and "checkpoint 20" in result.reason


def test_one_byte_edit_in_the_sqlite_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "file.db"
    url = f"sqlite:///{path}"
    ledger = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    _fill(ledger)
    target = ledger.entry_bytes(29)
    ledger.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = path.read_bytes()
    digest = f"{29:064x}".encode()
    assert digest in target and raw.count(digest) == 1
    pos = raw.index(digest) + 10
    path.write_bytes(raw[:pos] + b"7" + raw[pos + 1 :])
    reopened = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    result = reopened.verify()
    reopened.close()
    assert not result.ok and result.first_bad_index == 29


def test_appends_continue_after_verification(ledger: Ledger) -> None:
    _fill(ledger, n=5)
    assert ledger.verify().ok
    assert ledger.append(key_entry(5)).index == 5
