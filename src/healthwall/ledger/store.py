"""The ledger's tables in SQLite or PostgreSQL, with append-only enforced by the database.

Three tables, all append-only (UPDATE, DELETE and, on PostgreSQL, TRUNCATE are rejected by
triggers, so even a custodian's own SQL cannot quietly change the record; an attacker who drops the
triggers is caught by verification instead):

* ``hw_ledger_entries`` -- one row per leaf: ``seq`` (the index), ``kind``, ``at``, ``patient``
  (pseudonym, indexed for the accounting), ``body`` (the exact canonical bytes) and ``leaf_hash``.
  On PostgreSQL a trigger also makes inserts come in order (``seq`` one past the maximum); on
  SQLite that per-row check would cost two thirds of the batched append rate, so there a gap is
  left to verification, which names it.
* ``hw_ledger_nodes`` -- every complete subtree hash above the leaves, ``(level, idx)``.
* ``hw_ledger_checkpoints`` -- every signed checkpoint issued (size, root, note text).

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk when it returns) and
transactions are started explicitly so the writer can ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
    Index("hw_ledger_entries_patient", "patient", "seq"),
    Index("hw_ledger_entries_at", "at"),
)

nodes = Table(
    "hw_ledger_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    sqlite_with_rowid=False,
)

checkpoints = Table(
    "hw_ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", String(32), nullable=False),
)

TABLES = ("hw_ledger_entries", "hw_ledger_nodes", "hw_ledger_checkpoints")
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
        if engine.dialect.name == "sqlite":
            _sqlite_triggers(conn)
        else:
            _postgres_triggers(conn)


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


def insert_raw(
    conn: Connection, leaf_rows: list[tuple[Any, ...]], node_rows: list[tuple[Any, ...]]
) -> None:
    """Insert leaves ``(seq, kind, at, patient, body, leaf_hash)`` and nodes ``(level, idx, hash)``.

    The hot path of every append, so it goes straight to the DB-API cursor of the writer's
    connection (same transaction), skipping SQLAlchemy's per-row bind processing.
    """
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if leaf_rows:
            cur.executemany(
                "INSERT INTO hw_ledger_entries (seq, kind, at, patient, body, leaf_hash)"
                f" VALUES ({', '.join([mark] * 6)})",
                leaf_rows,
            )
        if node_rows:
            cur.executemany(
                f"INSERT INTO hw_ledger_nodes (level, idx, hash) VALUES ({mark}, {mark}, {mark})",
                node_rows,
            )
    finally:
        cur.close()


def fetch_nodes(conn: Connection, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes of complete subtrees ``(level, idx)``: leaves from the entries table.

    Point lookups on the primary keys, OR-ed in one statement per table through the DB-API
    cursor: a row-value ``IN`` list is not index-assisted on SQLite, and proofs must stay well
    under a millisecond at a million entries.
    """
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    leaves = sorted(i for lvl, i in wanted if lvl == 0)
    inner = sorted((lvl, i) for lvl, i in wanted if lvl > 0)
    out: dict[tuple[int, int], bytes] = {}
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if leaves:
            marks = ", ".join([mark] * len(leaves))
            cur.execute(
                f"SELECT seq, leaf_hash FROM hw_ledger_entries WHERE seq IN ({marks})", leaves
            )
            out.update({(0, int(seq)): bytes(h) for seq, h in cur.fetchall()})
        if inner:
            terms = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(inner))
            params = [v for node in inner for v in node]
            cur.execute(f"SELECT level, idx, hash FROM hw_ledger_nodes WHERE {terms}", params)
            out.update({(int(lvl), int(i)): bytes(h) for lvl, i, h in cur.fetchall()})
    finally:
        cur.close()
    return out


def scan_entries(conn: Connection, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """All entries ``(seq, kind, patient, body, leaf_hash)`` in index order, in chunks (keyset
    pagination on the primary key), read through the DB-API cursor for speed."""
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = (
        "SELECT seq, kind, patient, body, leaf_hash FROM hw_ledger_entries"
        f" WHERE seq > {mark} ORDER BY seq LIMIT {int(chunk)}"
    )
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    last: Any = -1
    try:
        while True:
            cur.execute(sql, (last,))
            rows: list[tuple[Any, ...]] = list(cur.fetchall())
            if not rows:
                return
            yield rows
            last = rows[-1][0]
    finally:
        cur.close()


def scan_nodes(conn: Connection) -> Iterator[tuple[int, int, bytes]]:
    """Every stored tree node ``(level, idx, hash)`` in key order, through the DB-API cursor."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute("SELECT level, idx, hash FROM hw_ledger_nodes ORDER BY level, idx")
        while rows := cur.fetchmany(20_000):
            for lvl, idx, h in rows:
                yield int(lvl), int(idx), bytes(h)
    finally:
        cur.close()


def current_size(conn: Connection) -> int:
    """Number of entries (max seq + 1), read through the DB-API cursor (append hot path)."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute("SELECT MAX(seq) FROM hw_ledger_entries")
        row = cur.fetchone()
    finally:
        cur.close()
    return 0 if row is None or row[0] is None else int(row[0]) + 1
