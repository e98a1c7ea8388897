"""The Ledger: an append-only Merkle log of typed entries, with one writer and signed checkpoints.

Usage::

    ledger = Ledger.open("sqlite:///ledger.db", pseudonym_key=key, signing_key=signer)
    with ledger.writer() as tx:          # one transaction; an exception appends nothing
        tx.conn.execute(...)             # the caller's own writes, same transaction
        receipt = tx.append(entry)       # Receipt(index, leaf_hash)

Appends are O(log n): the writer keeps the tree's frontier (the rightmost complete subtree at
each level) and stores each new complete subtree once. Proofs read O(log n) stored nodes.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, text

from healthwall.errors import ConfigError, IntegrityError, InvalidInput, NotFound
from healthwall.ledger import store
from healthwall.ledger.audit import VerifyResult, verify_ledger
from healthwall.ledger.canonical import decode_leaf
from healthwall.ledger.checkpoint import SigningKey, checkpoint_body, parse_signing_key
from healthwall.ledger.handoff import WriterHandoff
from healthwall.ledger.hashing import (
    EMPTY_ROOT,
    Node,
    consistency_ranges,
    fold_nodes,
    frontier_nodes,
    inclusion_ranges,
    ranges_to_hashes,
)
from healthwall.ledger.writer import ConsistencyProof, Frontier, InclusionProof, Receipt, Writer
from healthwall.model.entries import KeyRotated, LedgerEntry, utc_now

#: ``Writer``, ``Receipt`` and the proof types live in :mod:`.writer`; re-exported here.
__all__ = ["ConsistencyProof", "InclusionProof", "Ledger", "Receipt", "Writer"]

_PG_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class Ledger:
    """The disclosure ledger over one SQLite or PostgreSQL database."""

    def __init__(
        self, engine: Engine, url: str, pseudonym_key: bytes, signer: SigningKey | None, origin: str
    ) -> None:
        self.engine = engine
        self.url = url
        self.origin = origin
        self.signer = signer
        self._pseudonym_key = pseudonym_key
        self._lock = _process_lock(url)
        self._handoff = WriterHandoff.for_engine(engine)
        self._owner: int | None = None
        self._cache: Frontier | None = None
        self._wconn: Connection | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        pseudonym_key: bytes,
        signing_key: bytes | None = None,
        origin: str | None = None,
    ) -> Ledger:
        """Open (creating tables and append-only triggers if needed) the ledger at ``url``."""
        if len(pseudonym_key) < 16:
            raise ConfigError("pseudonym key: at least 16 bytes", field="pseudonym_key")
        signer = parse_signing_key(signing_key) if signing_key is not None else None
        engine = store.create_ledger_engine(url)
        store.create_schema(engine)
        name = origin or (signer.name if signer else "healthwall")
        return cls(engine, url, pseudonym_key, signer, name)

    def close(self) -> None:
        """Close the writer connection and the connection pool."""
        with self._lock:
            if self._wconn is not None:
                self._wconn.close()
                self._wconn = None
            self._handoff.close()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        """The single writer: a process lock plus a database lock, one transaction, all or none.

        The writer keeps one dedicated connection (like datasette's write connection); SQLite
        starts with ``BEGIN IMMEDIATE``, PostgreSQL takes a transaction-level advisory lock.
        """
        if self._owner == threading.get_ident():
            raise ConfigError("ledger writer: already inside a writer transaction")
        with self._lock, self._handoff:
            self._owner = threading.get_ident()
            conn = self._writer_connection()
            try:
                with conn.begin():
                    if self.engine.dialect.name == "postgresql":
                        conn.execute(_PG_LOCK, {"k": store.PG_LOCK_KEY})
                    frontier = self._load_frontier(conn)
                    yield Writer(conn, frontier)
                self._cache = frontier
            except BaseException:
                self._drop_writer_connection()
                raise
            finally:
                self._owner = None

    def _writer_connection(self) -> Connection:
        if self._wconn is None or self._wconn.closed:
            self._wconn = self.engine.connect()
            self._wconn.execution_options(**{store.IMMEDIATE: True})
        return self._wconn

    def _drop_writer_connection(self) -> None:
        """After a failed transaction, start the next one on a fresh connection."""
        conn, self._wconn, self._cache = self._wconn, None, None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    def append(self, entry: LedgerEntry) -> Receipt:
        """Append one entry in its own transaction."""
        with self.writer() as tx:
            return tx.append(entry)

    def _load_frontier(self, conn: Connection) -> Frontier:
        size = store.current_size(conn)
        cache = self._cache
        if cache is not None and cache.size == size:
            return Frontier(cache.size, dict(cache.by_level))
        wanted = frontier_nodes(size)
        known = _fetch_nodes(conn, set(wanted))
        return Frontier(size, {lvl: known[(lvl, i)] for lvl, i in wanted})

    # -- reading -------------------------------------------------------------------------------

    def patient_pseudonym(self, patient_id: str) -> str:
        """The keyed pseudonym (HMAC-SHA256, custodian key) under which a patient is recorded."""
        if not patient_id:
            raise InvalidInput("patient id: empty", field="patient")
        return hmac.new(self._pseudonym_key, patient_id.encode(), hashlib.sha256).hexdigest()

    def size(self) -> int:
        with self.engine.connect() as conn:
            return _size(conn)

    def entry(self, index: int) -> LedgerEntry:
        """The typed entry at ``index``."""
        return decode_leaf(self.entry_bytes(index))[1]

    def entry_bytes(self, index: int) -> bytes:
        """The exact stored (hashed) bytes of the entry at ``index``."""
        with self.engine.connect() as conn:
            body = conn.execute(
                select(store.entries.c.body).where(store.entries.c.seq == index)
            ).scalar()
        if body is None:
            raise NotFound(f"ledger entry {index} does not exist", field="index")
        return bytes(body)

    def entries(self, start: int = 0, stop: int | None = None) -> list[tuple[int, LedgerEntry]]:
        """Entries with ``start <= index < stop``, in order, as (index, entry)."""
        q = select(store.entries.c.body).where(store.entries.c.seq >= start)
        if stop is not None:
            q = q.where(store.entries.c.seq < stop)
        with self.engine.connect() as conn:
            return [decode_leaf(bytes(b)) for (b,) in conn.execute(q.order_by(store.entries.c.seq))]

    def find(
        self,
        *,
        kinds: Sequence[str] | None = None,
        patient: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[tuple[int, LedgerEntry]]:
        """Entries filtered by kind, patient pseudonym and ``since <= at < until`` (UTC strings)."""
        rows = self.find_with_hashes(kinds=kinds, patient=patient, since=since, until=until)
        return [(seq, entry) for seq, _, entry in rows]

    def find_with_hashes(
        self,
        *,
        kinds: Sequence[str] | None = None,
        patient: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[tuple[int, str, LedgerEntry]]:
        """Like :meth:`find`, with each entry's hex leaf hash: (index, leaf hash, entry)."""
        if patient is not None:
            return self._find_patient(patient, kinds, since, until)
        c = store.entries.c
        q = select(c.leaf_hash, c.body)
        if kinds is not None:
            q = q.where(c.kind.in_(list(kinds)))
        if since is not None:
            q = q.where(c.at >= since)
        if until is not None:
            q = q.where(c.at < until)
        with self.engine.connect() as conn:
            return _decoded(conn.execute(q.order_by(c.seq)).all())

    def _find_patient(
        self, patient: str, kinds: Sequence[str] | None, since: str | None, until: str | None
    ) -> list[tuple[int, str, LedgerEntry]]:
        """One patient's entries through the segmented patient index (see :mod:`.store`)."""
        sql = store.PATIENT_QUERY
        params: dict[str, object] = {"patient": patient}
        if kinds is not None:
            sql += " AND e.kind IN :kinds"
            params["kinds"] = list(kinds)
        if since is not None:
            sql += " AND e.at >= :since"
            params["since"] = since
        if until is not None:
            sql += " AND e.at < :until"
            params["until"] = until
        q = text(sql + " ORDER BY e.seq")
        if kinds is not None:
            q = q.bindparams(bindparam("kinds", expanding=True))
        with self.engine.connect() as conn:
            size = _size(conn)
            if size == 0:
                return []
            params["last_segment"] = (size - 1) // store.PATIENT_SEGMENT
            return _decoded(conn.execute(q, params).all())

    def root(self, size: int | None = None) -> bytes:
        """The tree root at ``size`` (default: now)."""
        with self.engine.connect() as conn:
            n = _size(conn) if size is None else size
            if n > _size(conn):
                raise InvalidInput("size: larger than the ledger", field="size")
            return _root(conn, n)

    # -- proofs and checkpoints ----------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """RFC 9162 inclusion proof of ``index`` in the tree of ``size`` leaves."""
        with self.engine.connect() as conn:
            n = _size(conn) if size is None else size
            if not 0 <= index < n or n > _size(conn):
                raise InvalidInput("index/size: outside the ledger", field="index")
            ranges = inclusion_ranges(index, n)
            known: dict[Node, bytes] = {}

            def fetch(wanted: set[Node]) -> dict[Node, bytes]:
                known.update(_fetch_nodes(conn, wanted | {(0, index)}))
                return known

            path = ranges_to_hashes(ranges, fetch)
            leaf = known.get((0, index)) or _fetch_nodes(conn, {(0, index)})[(0, index)]
        return InclusionProof(index, n, leaf.hex(), [h.hex() for h in path])

    def consistency_proof(self, old: int, new: int | None = None) -> ConsistencyProof:
        """RFC 9162 consistency proof from the tree of ``old`` leaves to ``new``."""
        with self.engine.connect() as conn:
            n = _size(conn) if new is None else new
            if not 0 <= old <= n or n > _size(conn):
                raise InvalidInput("old/new: sizes outside the ledger", field="old")
            path = ranges_to_hashes(consistency_ranges(old, n), lambda s: _fetch_nodes(conn, s))
        return ConsistencyProof(old, n, [h.hex() for h in path])

    def checkpoint(self) -> str:
        """Sign and store a checkpoint of the current tree; returns the signed note text."""
        if self.signer is None:
            raise ConfigError("ledger checkpoint: no signing key configured", field="signing_key")
        with self.writer() as tx:
            size = tx._frontier.size
            root = tx._frontier.root() if size else EMPTY_ROOT
            c = store.checkpoints.c
            existing = tx.conn.execute(select(c.note).where(c.size == size)).scalar()
            if existing is not None:
                return str(existing)
            note = self.signer.sign_note(checkpoint_body(self.origin, size, root))
            tx.conn.execute(
                store.checkpoints.insert(),
                {"size": size, "root": root, "note": note, "at": utc_now()},
            )
            return note

    def record_signing_key(self) -> Receipt | None:
        """Append a ``KeyRotated`` entry when the configured signing key is not the last one
        recorded (first use or a rotation); the workflow calls this before checkpointing."""
        if self.signer is None:
            raise ConfigError("ledger: no signing key configured", field="signing_key")
        with self.writer() as tx:
            if not self._signing_key_is_new(tx.conn):
                return None
            return tx.append(KeyRotated(key_kind="signing", key_id=self.signer.key_id))

    def _signing_key_is_new(self, conn: Connection) -> bool:
        """True when the last recorded signing key differs from ours (or none is recorded)."""
        assert self.signer is not None
        c = store.entries.c
        q = select(c.body).where(c.kind == "key-rotated").order_by(c.seq.desc())
        for (body,) in conn.execute(q):
            entry = decode_leaf(bytes(body))[1]
            if isinstance(entry, KeyRotated) and entry.key_kind == "signing":
                return entry.key_id != self.signer.key_id
        return True

    def stored_checkpoints(self) -> list[tuple[int, bytes, str]]:
        """Every stored checkpoint as (size, root, note), oldest first."""
        c = store.checkpoints.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.size, c.root, c.note).order_by(c.size)).all()
        return [(int(s), bytes(r), str(n)) for s, r, n in rows]

    def latest_checkpoint(self) -> str | None:
        cps = self.stored_checkpoints()
        return cps[-1][2] if cps else None

    def verify(self, *, public_key: str | Sequence[str] | None = None) -> VerifyResult:
        """Recompute the whole tree and check every checkpoint (see :mod:`.audit`)."""
        keys = [public_key] if isinstance(public_key, str) else list(public_key or [])
        if self.signer is not None:
            keys.append(self.signer.public_text())
        return verify_ledger(self.engine, public_keys=keys)


def _process_lock(url: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(url, threading.Lock())


_MAX_SEQ = select(func.max(store.entries.c.seq))


def _size(conn: Connection) -> int:
    top = conn.execute(_MAX_SEQ).scalar()
    return 0 if top is None else int(top) + 1


def _decoded(rows: Sequence[Any]) -> list[tuple[int, str, LedgerEntry]]:
    """``(leaf_hash, body)`` rows as (index as recorded in the entry, hex leaf hash, entry);
    a row moved by tampering is for ``verify`` to name, as before."""
    out: list[tuple[int, str, LedgerEntry]] = []
    for leaf, body in rows:
        seq, entry = decode_leaf(bytes(body))
        out.append((seq, bytes(leaf).hex(), entry))
    return out


def _root(conn: Connection, size: int) -> bytes:
    wanted = frontier_nodes(size)
    known = _fetch_nodes(conn, set(wanted))
    return fold_nodes([known[n] for n in wanted])


def _fetch_nodes(conn: Connection, wanted: set[Node]) -> dict[Node, bytes]:
    """Hashes of complete subtrees: level 0 from the entries, higher levels from the nodes."""
    out = store.fetch_nodes(conn, wanted)
    missing = wanted - out.keys()
    if missing:
        raise IntegrityError(f"ledger: {len(missing)} stored tree node(s) missing")
    return out
