"""Running decisions off the event loop, and group commit when the gateway supports it.

Every decision ends with a durable ledger commit (SQLite ``synchronous=FULL``: one fsync, about
6 ms on this machine's disk), so one decision per transaction caps a deployment at roughly 150
decisions/s however fast the rest is. Two remedies, chosen at start-up:

- :class:`PooledSubmitter` -- decisions run on a small thread pool, so the HTTP event loop never
  blocks and one request's store lookup overlaps another's commit (the gateway serializes the
  ledger writer and the store itself).
- :class:`GroupCommitter` -- when the gateway offers ``submit_many(requests)`` (decide each, then
  record the whole batch in ONE ledger transaction; per-request failures returned in place), the
  requests that arrive while a commit is in flight are gathered into the next batch: one fsync
  for many decisions, each still durable before its response is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from healthwall.model.request import Request

T = TypeVar("T")


class PooledSubmitter(Generic[T]):
    """Decisions on a thread pool (no batching)."""

    def __init__(self, submit: Callable[[Request], T], workers: int = 4) -> None:
        self._submit = submit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hw-decide")

    def submit(self, request: Request) -> Future[T]:
        return self._pool.submit(self._submit, request)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class GroupCommitter(Generic[T]):
    """``workers`` threads drain the queue into batches of at most ``max_batch`` each.

    With two workers one batch is prepared (policy, store lookups: the GIL is released in DuckDB)
    while the other commits (the fsync releases it too); the gateway's ledger writer still
    serializes the commits, and the sweep counts inside them.
    """

    def __init__(
        self,
        submit_many: Callable[[Sequence[Request]], Sequence[T | Exception]],
        max_batch: int = 128,
        workers: int = 2,
    ) -> None:
        self._submit_many = submit_many
        self._max = max_batch
        self._queue: queue.SimpleQueue[tuple[Request, Future[T]] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"hw-group-commit-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, request: Request) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((request, future))
        return future

    def close(self) -> None:
        self._queue.put(None)  # each worker puts it back for the next one
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.put(None)
                return
            batch = [first]
            while len(batch) < self._max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Request, Future[T]]]) -> None:
        try:
            results = self._submit_many([request for request, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError("submit_many returned a result per request")
        except Exception as exc:  # the whole batch failed: nothing was recorded
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


P = TypeVar("P")

#: Where an answer goes: a thread future, or an asyncio future with its loop.
Target = Future[T] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[T]"]


class PipelinedCommitter(Generic[P, T]):
    """Two stages on two threads, so preparing and committing overlap and batches grow with load.

    The *prepare* thread takes every queued request (up to ``max_batch``) and runs
    ``prepare(requests)`` (policy, store lookups: no transaction). The *record* thread takes every
    prepared batch waiting and runs ``record(prepared)`` on all of them at once: ONE ledger
    transaction, one fsync. Each caller's future is resolved only after that commit returned, so
    every answer is durable before it is sent. Per-request failures come back in place
    (``Exception`` items); a failure of a whole stage fails exactly the requests of that stage.
    :meth:`submit_async` answers on an event loop with ONE wake-up per batch and loop.
    """

    def __init__(
        self,
        prepare: Callable[[Sequence[Request]], Sequence[P | Exception]],
        record: Callable[[Sequence[P | Exception]], Sequence[T | Exception]],
        max_batch: int = 256,
    ) -> None:
        self._prepare, self._record, self._max = prepare, record, max_batch
        self._incoming: queue.SimpleQueue[tuple[Request, Target[T]] | None] = queue.SimpleQueue()
        self._prepared: queue.SimpleQueue[tuple[list[P | Exception], list[Target[T]]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._prepare_loop, name="hw-prepare", daemon=True),
            threading.Thread(target=self._record_loop, name="hw-record", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, request: Request) -> Future[T]:
        future: Future[T] = Future()
        self._incoming.put((request, future))
        return future

    def submit_async(self, request: Request) -> asyncio.Future[T]:
        """As :meth:`submit`, for a caller on the running event loop (no thread future)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._incoming.put((request, (loop, future)))
        return future

    def close(self) -> None:
        self._incoming.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _prepare_loop(self) -> None:
        while True:
            batch = _drain(self._incoming, self._max)
            if batch is None:
                self._prepared.put(None)
                return
            targets = [t for _, t in batch]
            try:
                prepared = list(self._prepare([r for r, _ in batch]))
                if len(prepared) != len(batch):
                    raise RuntimeError("prepare returned a result per request")
            except Exception as exc:  # the callers get it
                _deliver(targets, [exc] * len(targets))
                continue
            self._prepared.put((prepared, targets))

    def _record_loop(self) -> None:
        while True:
            ready = _drain(self._prepared, 1 << 30)
            if ready is None:
                return
            prepared = [p for items, _ in ready for p in items]
            targets = [t for _, ts in ready for t in ts]
            try:
                results = list(self._record(prepared))
                if len(results) != len(targets):
                    raise RuntimeError("record returned a result per request")
            except Exception as exc:  # nothing recorded: all callers get it
                results = [exc] * len(targets)
            _deliver(targets, results)


def _drain(q: queue.SimpleQueue[Any], limit: int) -> list[Any] | None:
    """Block for one item, then take what else is waiting (up to ``limit``); None: stop."""
    first = q.get()
    if first is None:
        return None
    items = [first]
    while len(items) < limit:
        try:
            item = q.get_nowait()
        except queue.Empty:
            break
        if item is None:
            q.put(None)  # stop after this batch
            break
        items.append(item)
    return items


def _deliver(targets: Sequence[Target[T]], results: Sequence[T | Exception]) -> None:
    """Resolve each caller: thread futures directly, asyncio futures with one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[T], T | Exception]]] = {}
    for target, result in zip(targets, results, strict=True):
        if isinstance(target, tuple):
            by_loop.setdefault(target[0], []).append((target[1], result))
        elif isinstance(result, Exception):
            target.set_exception(result)
        else:
            target.set_result(result)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve_on_loop, items)


def _resolve_on_loop(items: list[tuple[asyncio.Future[T], T | Exception]]) -> None:
    for future, result in items:
        if future.done():  # the caller went away (cancelled)
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)
