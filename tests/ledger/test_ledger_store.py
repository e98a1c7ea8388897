"""The stored ledger on SQLite and a real PostgreSQL: appends, one writer, append-only, proofs."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest
from ledger_helpers import PSEUDONYM_KEY, decision, key_entry, release
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.exc import DBAPIError

from healthwall.errors import ConfigError, InvalidInput, NotFound
from healthwall.ledger import Ledger, SigningKey, generate_key
from healthwall.ledger.hashing import leaf_hash, verify_consistency, verify_inclusion
from healthwall.ledger.verifier import open_note, parse_public_key
from healthwall.model.entries import KeyRotated, Released


def test_append_and_read_back(ledger: Ledger) -> None:
    p = ledger.patient_pseudonym("patient-1")
    receipts = [ledger.append(release(p, i)) for i in range(3)]
    assert [r.index for r in receipts] == [0, 1, 2]
    assert ledger.size() == 3
    assert ledger.entry(1) == release(p, 1).model_copy(update={"at": ledger.entry(1).at})
    assert receipts[2].leaf_hash == leaf_hash(ledger.entry_bytes(2)).hex()
    assert [i for i, _ in ledger.entries(1, 3)] == [1, 2]
    with pytest.raises(NotFound):
        ledger.entry(3)


def test_pseudonyms_are_keyed_and_stable(ledger: Ledger, tmp_path: object) -> None:
    p = ledger.patient_pseudonym("patient-1")
    assert p == ledger.patient_pseudonym("patient-1")
    assert p != ledger.patient_pseudonym("patient-2")
    assert "patient-1" not in p and len(p) == 64
    other = Ledger.open(f"sqlite:///{tmp_path}/other.db", pseudonym_key=b"another-key-0123456789")
    assert other.patient_pseudonym("patient-1") != p
    other.close()


def test_batch_and_find(ledger: Ledger) -> None:
    p, q = ledger.patient_pseudonym("a"), ledger.patient_pseudonym("b")
    with ledger.writer() as tx:
        receipts = tx.append_many([release(p, 0), decision(0), release(q, 1), key_entry(2)])
    assert [r.index for r in receipts] == [0, 1, 2, 3]
    assert [i for i, _ in ledger.find(patient=p)] == [0]
    assert [i for i, _ in ledger.find(kinds=["decision-made", "key-rotated"])] == [1, 3]
    found = ledger.find(kinds=["released"])
    assert all(isinstance(e, Released) for _, e in found) and len(found) == 2


def test_exception_rolls_back_entries_and_the_callers_writes(ledger: Ledger) -> None:
    own = Table("test_own_rows", MetaData(), Column("n", Integer))
    own.metadata.create_all(ledger.engine)
    ledger.append(key_entry(0))
    with pytest.raises(RuntimeError), ledger.writer() as tx:
        tx.conn.execute(own.insert(), {"n": 1})
        tx.append(key_entry(1))
        raise RuntimeError("boom")
    assert ledger.size() == 1
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM test_own_rows")).scalar() == 0
    with ledger.writer() as tx:
        tx.conn.execute(own.insert(), {"n": 2})
        assert tx.append(key_entry(1)).index == 1
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM test_own_rows")).scalar() == 1
    assert ledger.verify().ok


def test_nested_writer_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ConfigError), ledger.writer(), ledger.writer():
        pass


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE hw_ledger_entries SET kind = 'x'",
        "DELETE FROM hw_ledger_entries",
        "UPDATE hw_ledger_entries SET nodes = x''",
        "DELETE FROM hw_ledger_checkpoints",
        "UPDATE hw_ledger_checkpoints SET note = ''",
    ],
)
def test_database_rejects_update_and_delete(ledger: Ledger, sql: str) -> None:
    with ledger.writer() as tx:
        tx.append_many([key_entry(i) for i in range(4)])
    ledger.checkpoint()
    with pytest.raises(DBAPIError), ledger.engine.begin() as conn:
        conn.execute(text(sql))
    assert ledger.size() == 4 and ledger.verify().ok


@pytest.mark.postgres
def test_postgres_rejects_truncate_and_out_of_order(pg_url: str) -> None:
    led = Ledger.open(pg_url, pseudonym_key=PSEUDONYM_KEY)
    led.append(key_entry(0))
    for sql in (
        "TRUNCATE hw_ledger_entries",
        "INSERT INTO hw_ledger_entries (seq, kind, at, body, leaf_hash)"
        " VALUES (5, 'k', 'a', 'x', 'y')",
    ):
        with pytest.raises(DBAPIError), led.engine.begin() as conn:
            conn.execute(text(sql))
    assert led.size() == 1
    led.close()


def test_proofs_verify_against_signed_checkpoints(ledger: Ledger) -> None:
    assert ledger.signer is not None
    key = parse_public_key(ledger.signer.public_text())
    with ledger.writer() as tx:
        tx.append_many([key_entry(i) for i in range(13)])
    old = open_note(ledger.checkpoint(), key)
    with ledger.writer() as tx:
        tx.append_many([key_entry(i) for i in range(13, 37)])
    new = open_note(ledger.checkpoint(), key)
    assert (old.size, new.size) == (13, 37)
    assert new.root == ledger.root()
    for index in (0, 12, 20, 36):
        proof = ledger.inclusion_proof(index, 37)
        leaf = leaf_hash(ledger.entry_bytes(index))
        assert proof.leaf_hash == leaf.hex()
        verify_inclusion(index, 37, leaf, [bytes.fromhex(h) for h in proof.path], new.root)
    cons = ledger.consistency_proof(13, 37)
    verify_consistency(13, 37, old.root, new.root, [bytes.fromhex(h) for h in cons.path])
    result = ledger.verify()
    assert result.ok and result.checkpoints_checked == 2 and result.signatures_checked
    assert base64.b64decode(ledger.checkpoint().split("\n")[2]) == new.root


def test_proof_arguments_are_checked(ledger: Ledger) -> None:
    ledger.append(key_entry(0))
    with pytest.raises(InvalidInput):
        ledger.inclusion_proof(1)
    with pytest.raises(InvalidInput):
        ledger.consistency_proof(2, 1)


def test_checkpoint_needs_a_signing_key(tmp_path: object) -> None:
    led = Ledger.open(f"sqlite:///{tmp_path}/nokey.db", pseudonym_key=PSEUDONYM_KEY)
    with pytest.raises(ConfigError):
        led.checkpoint()
    led.close()


def test_inline_junk_key_is_refused(tmp_path: object) -> None:
    with pytest.raises(ConfigError):
        Ledger.open(
            f"sqlite:///{tmp_path}/k.db", pseudonym_key=PSEUDONYM_KEY, signing_key=b"not a key"
        )
    with pytest.raises(ConfigError):
        Ledger.open(f"sqlite:///{tmp_path}/k.db", pseudonym_key=b"short")


def test_two_ledger_objects_interleave_without_losing_the_frontier(
    ledger: Ledger, ledger_url: str
) -> None:
    """A second writer on the same database makes the first one's cached frontier stale: the
    writer notices (size changed) and reloads it from the stored nodes."""
    import threading

    other = Ledger.open(ledger_url, pseudonym_key=PSEUDONYM_KEY)
    errors: list[BaseException] = []

    def work(led: Ledger, tag: int) -> None:
        try:
            for i in range(40):
                with led.writer() as tx:
                    tx.append_many([key_entry(tag * 1000 + i)] * (1 + i % 3))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(led, n)) for n, led in enumerate((ledger, other))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert not errors
    assert ledger.size() == 2 * sum(1 + i % 3 for i in range(40))
    result = ledger.verify()
    assert result.ok, result.reason


def test_signing_key_rotation_is_recorded_and_old_checkpoints_need_the_old_key(
    ledger_url: str, signer: SigningKey
) -> None:
    old = Ledger.open(
        ledger_url, pseudonym_key=PSEUDONYM_KEY, signing_key=signer.private_text().encode()
    )
    assert old.record_signing_key() is not None
    assert old.record_signing_key() is None  # already recorded
    old.append(key_entry(1))
    old.checkpoint()
    old.close()
    rotated = generate_key("test.healthwall.example/ledger")
    new = Ledger.open(
        ledger_url, pseudonym_key=PSEUDONYM_KEY, signing_key=rotated.private_text().encode()
    )
    receipt = new.record_signing_key()
    assert receipt is not None
    entry = new.entry(receipt.index)
    assert isinstance(entry, KeyRotated) and entry.key_id == rotated.key_id
    new.checkpoint()
    alone = new.verify()
    assert not alone.ok and "checkpoint 2" in alone.reason
    both = new.verify(public_key=signer.public_text())
    assert both.ok and both.checkpoints_checked == 2
    new.close()


def test_non_ascii_entries_round_trip_and_verify(ledger: Ledger) -> None:
    p = ledger.patient_pseudonym("patient-ü")
    entry = release(p, 1, description="nom et adresse — dossier n° 5 ✓ 𝔘")
    ledger.append(entry)
    assert ledger.entry(0).description == entry.description
    assert ledger.verify().ok


def test_older_layout_is_refused_by_name(tmp_path: Path) -> None:
    """A ledger from the layout with a separate node table is refused, not appended to."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE hw_ledger_entries (seq INTEGER PRIMARY KEY, kind VARCHAR(40) NOT NULL,"
        " at VARCHAR(32) NOT NULL, patient VARCHAR(128), body BLOB NOT NULL,"
        " leaf_hash BLOB NOT NULL)"
    )
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="older layout") as info:
        Ledger.open(f"sqlite:///{path}", pseudonym_key=PSEUDONYM_KEY)
    assert info.value.field == "ledger_url"
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert "hw_ledger_checkpoints" not in tables  # refused before anything was created
