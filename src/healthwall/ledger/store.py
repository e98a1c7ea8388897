"""The ledger's tables in SQLite or PostgreSQL, with append-only enforced by the database.

Two tables, both append-only (UPDATE, DELETE and, on PostgreSQL, TRUNCATE are rejected by
triggers, so even a custodian's own SQL cannot quietly change the record; an attacker who drops the
triggers is caught by verification instead):

* ``hw_ledger_entries`` -- one row per leaf: ``seq`` (the index), ``kind``, ``at``, ``patient``
  (pseudonym, indexed for the accounting), ``body`` (the exact canonical bytes), ``leaf_hash``
  and ``nodes``: the hashes of the complete subtrees this leaf closes, levels 1, 2, ... in order
  (32 bytes each; leaf ``seq`` closes one subtree per trailing 1 bit of ``seq``, so half the rows
  hold none). Subtree ``(level, idx)`` is therefore stored in row ``(idx + 1) * 2**level - 1`` at
  offset ``(level - 1) * 32`` (:func:`node_home`): appending writes one row, not a row per node
  in a second table and its index, and a proof reads its nodes in one primary-key lookup.
  On PostgreSQL a trigger also makes inserts come in order (``seq`` one past the maximum); on
  SQLite that per-row check would cost two thirds of the batched append rate, so there a gap is
  left to verification, which names it.
* ``hw_ledger_checkpoints`` -- every signed checkpoint issued (size, root, note text).

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk when it returns) and
transactions are started explicitly so the writer can ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.exc import ArgumentError

from healthwall.errors import ConfigError

metadata = MetaData()
_SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")

entries = Table(
    "hw_ledger_entries",
    metadata,
    # INTEGER on SQLite so ``seq`` is the rowid (no separate primary-key index).
    Column("seq", _SEQ_TYPE, primary_key=True, autoincrement=False),
    Column("kind", String(40), nullable=False),
    Column("at", String(32), nullable=False),
    Column("patient", String(128), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("nodes", LargeBinary, nullable=False),
    Index("hw_ledger_entries_at", "at"),
)

#: The patient index is split by segments of this many entries: ``((seq / 4096), patient)``.
#: Pseudonyms are random, so a plain ``(patient)`` index takes every new entry to a random page
#: of an ever larger B-tree, and a batch of a thousand entries dirtied (and wrote to the WAL) a
#: thousand index pages. Within the newest segment a batch touches at most its ~80 pages. A
#: patient's entries are found with one index probe per segment (:data:`PATIENT_QUERY`):
#: about 250 probes at a million entries.
PATIENT_SEGMENT = 4096
_PATIENT_INDEX = (
    "CREATE INDEX IF NOT EXISTS hw_ledger_entries_patient_seg"
    f" ON hw_ledger_entries ((seq / {PATIENT_SEGMENT}), patient)"
)
#: Every entry of one patient pseudonym: a probe of the segmented index per segment up to
#: ``:last_segment`` (the expression must be written exactly as in the index).
PATIENT_QUERY = (
    "WITH RECURSIVE seg(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seg WHERE n < :last_segment)"
    " SELECT e.leaf_hash, e.body FROM seg JOIN hw_ledger_entries e"
    f" ON e.seq / {PATIENT_SEGMENT} = seg.n AND e.patient = :patient"
)

checkpoints = Table(
    "hw_ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", String(32), nullable=False),
)

TABLES = ("hw_ledger_entries", "hw_ledger_checkpoints")
HASH = 32
IMMEDIATE = "hw_immediate"
#: Key of the PostgreSQL transaction-level advisory lock that serializes ledger writers.
PG_LOCK_KEY = 0x4857_4C45_4447_4552 & 0x7FFF_FFFF_FFFF_FFFF


def create_ledger_engine(url: str) -> Engine:
    """An Engine for ``url`` with the ledger's durability settings; SQLite or PostgreSQL only."""
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError("ledger url: not a usable SQLAlchemy URL", field="ledger_url") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.name != "postgresql":
        raise ConfigError(
            "ledger url: only sqlite and postgresql are supported", field="ledger_url"
        )
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """WAL, synchronous=FULL, a busy timeout, and explicit (optionally IMMEDIATE) transactions."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL may wait for a lock
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages stay cached as it grows
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        # straight to the driver: this runs once per transaction, on the append hot path
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        dbapi.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_schema(engine: Engine) -> None:
    """Create the tables and the append-only triggers if they do not exist yet.

    On SQLite the transaction is ``BEGIN IMMEDIATE`` so processes opening a new ledger file at the
    same moment queue on the write lock instead of failing with "database is locked".
    """
    with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        metadata.create_all(conn)
        _require_current_layout(conn)
        conn.exec_driver_sql(_PATIENT_INDEX)
        if engine.dialect.name == "sqlite":
            _sqlite_triggers(conn)
        else:
            _postgres_triggers(conn)


def _require_current_layout(conn: Connection) -> None:
    """Refuse a ledger written by a healthwall that kept tree nodes in their own table."""
    columns = {c["name"] for c in inspect(conn).get_columns("hw_ledger_entries")}
    if "nodes" not in columns:
        raise ConfigError(
            "ledger url: this ledger has the older layout (tree nodes in hw_ledger_nodes);"
            " verify it with the release that wrote it and start a new ledger",
            field="ledger_url",
        )


def _sqlite_triggers(conn: Connection) -> None:
    for table in TABLES:
        for op in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}"
                " BEGIN SELECT RAISE(ABORT, 'healthwall ledger is append-only'); END"
            )


def _postgres_triggers(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION hw_ledger_reject() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION USING MESSAGE = 'healthwall ledger is append-only ('"
        " || TG_OP || ' on ' || TG_TABLE_NAME || ')';"
        " END $$"
    )
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION hw_ledger_in_order() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.seq <> (SELECT COALESCE(MAX(seq) + 1, 0) FROM hw_ledger_entries) THEN"
        " RAISE EXCEPTION 'healthwall ledger appends in order'; END IF; RETURN NEW; END $$"
    )
    for table in TABLES:
        conn.exec_driver_sql(
            f"CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION hw_ledger_reject()"
        )
        conn.exec_driver_sql(
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION hw_ledger_reject()"
        )
    conn.exec_driver_sql(
        "CREATE OR REPLACE TRIGGER hw_ledger_entries_in_order BEFORE INSERT ON hw_ledger_entries"
        " FOR EACH ROW EXECUTE FUNCTION hw_ledger_in_order()"
    )


@contextmanager
def raw_cursor(conn: Connection) -> Iterator[tuple[Any, str]]:
    """A DB-API cursor of ``conn`` (same transaction) and the driver's parameter mark (``?`` for
    sqlite3, ``%s`` for psycopg), closed afterwards: the hot paths skip SQLAlchemy's per-row bind
    processing through it."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cur, "?" if conn.dialect.name == "sqlite" else "%s"
    finally:
        cur.close()


def node_home(level: int, idx: int) -> int:
    """The index of the leaf whose row stores subtree ``(level, idx)``: the last leaf it covers."""
    return ((idx + 1) << level) - 1


def insert_raw(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert leaves ``(seq, kind, at, patient, body, leaf_hash, nodes)``.

    The hot path of every append, so it goes straight to the DB-API cursor of the writer's
    connection (same transaction), skipping SQLAlchemy's per-row bind processing.
    """
    with raw_cursor(conn) as (cur, mark):
        cur.executemany(
            "INSERT INTO hw_ledger_entries (seq, kind, at, patient, body, leaf_hash, nodes)"
            f" VALUES ({', '.join([mark] * 7)})",
            rows,
        )


def fetch_nodes(conn: Connection, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes of complete subtrees ``(level, idx)``, level 0 being the leaves.

    One primary-key ``IN`` lookup of the rows that hold them (:func:`node_home`), through the
    DB-API cursor: proofs must stay well under a millisecond at a million entries. A subtree whose
    row is absent, or whose slot is short, is left out (the caller names it missing).
    """
    if not wanted:
        return {}
    homes = sorted({node_home(lvl, i) for lvl, i in wanted})
    with raw_cursor(conn) as (cur, mark):
        cur.execute(
            "SELECT seq, leaf_hash, nodes FROM hw_ledger_entries"
            f" WHERE seq IN ({', '.join([mark] * len(homes))})",
            homes,
        )
        rows = {int(seq): (bytes(leaf), bytes(closed)) for seq, leaf, closed in cur.fetchall()}
    out: dict[tuple[int, int], bytes] = {}
    for lvl, i in wanted:
        row = rows.get(node_home(lvl, i))
        if row is None:
            continue
        h = row[0] if lvl == 0 else row[1][(lvl - 1) * HASH : lvl * HASH]
        if len(h) == HASH:
            out[(lvl, i)] = h
    return out


def scan_entries(conn: Connection, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """All entries ``(seq, kind, patient, body, leaf_hash, nodes)`` in index order, in chunks
    (keyset pagination on the primary key), read through the DB-API cursor for speed."""
    last: Any = -1
    with raw_cursor(conn) as (cur, mark):
        sql = (
            "SELECT seq, kind, patient, body, leaf_hash, nodes FROM hw_ledger_entries"
            f" WHERE seq > {mark} ORDER BY seq LIMIT {int(chunk)}"
        )
        while True:
            cur.execute(sql, (last,))
            rows: list[tuple[Any, ...]] = list(cur.fetchall())
            if not rows:
                return
            yield rows
            last = rows[-1][0]


def request_ids(conn: Connection, start: int, stop: int) -> list[str]:
    """The request ids of the request-received entries with ``start <= seq < stop``, in order
    (read straight from the stored bodies: no entry validation, for the gateway's catch-up on
    what other writers recorded)."""
    with raw_cursor(conn) as (cur, mark):
        cur.execute(
            "SELECT body FROM hw_ledger_entries"
            f" WHERE seq >= {mark} AND seq < {mark} AND kind = 'request-received' ORDER BY seq",
            (start, stop),
        )
        bodies = cur.fetchall()
    out: list[str] = []
    for (body,) in bodies:
        rid = orjson.loads(bytes(body)).get("request_id")
        if isinstance(rid, str):
            out.append(rid)
    return out


def current_size(conn: Connection) -> int:
    """Number of entries (max seq + 1), read through the DB-API cursor (append hot path)."""
    with raw_cursor(conn) as (cur, _):
        cur.execute("SELECT MAX(seq) FROM hw_ledger_entries")
        row = cur.fetchone()
    return 0 if row is None or row[0] is None else int(row[0]) + 1
