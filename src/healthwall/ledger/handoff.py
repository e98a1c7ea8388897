"""Writer handoff between processes sharing one SQLite ledger file: an advisory file lock.

SQLite serializes writers itself (``BEGIN IMMEDIATE``), but a writer that finds the database
locked waits in SQLite's busy handler, which sleeps and polls (1, 2, 5, 10, ... ms): with two
worker processes committing back to back, each commit could leave the other asleep for
milliseconds after the lock was free. Taking an exclusive ``flock`` on ``<db>-writer.lock``
before ``BEGIN IMMEDIATE`` makes the waiter block in the kernel and wake the moment the holder
commits. The kernel drops the lock when its process dies (SIGKILL included), so it never goes
stale. SQLite's own locking still guards the data: the file lock only orders the waiters
(processes that do not take it, such as an old healthwall or the sqlite3 shell, still queue on
the busy handler as before). No-op for PostgreSQL (an advisory transaction lock is used
there), in-memory databases and platforms without ``fcntl``.
"""

from __future__ import annotations

import os
from types import TracebackType

from sqlalchemy import Engine

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]


class WriterHandoff:
    """A context manager holding the ledger's writer file lock (or nothing, where not needed)."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd: int | None = None

    @classmethod
    def for_engine(cls, engine: Engine) -> WriterHandoff:
        database = engine.url.database
        if engine.dialect.name != "sqlite" or fcntl is None or not database:
            return cls(None)
        if database == ":memory:" or database.startswith("file:"):
            return cls(None)
        return cls(f"{database}-writer.lock")

    def __enter__(self) -> WriterHandoff:
        if self._path is not None:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without the GIL
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the file descriptor (the lock, if held, goes with it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
