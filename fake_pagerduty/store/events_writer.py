"""The events writer: how the Events API's writes reach SQLite, fast, with a 2xx only after COMMIT.

Events are written by group commit: each call queues its write — data, `(function, *args)` — and waits;
one writer task takes the write lock and has the events connection apply every write queued so far, in
arrival order, in ONE transaction (a write that fails spoils nothing else: see `batch.apply_batch`), COMMIT,
and only then answers each caller; then it goes straight on with whatever was queued meanwhile, until
the queue is empty or — once another write waits for the lock — it has done MAX_BATCHES_PER_TURN
batches. So a 2xx still leaves only after its event is committed, and every other write still waits
for the write lock, but a steady stream of events is not stopped every few batches for nothing.

The events connection lives either in the writer process (`fake-pagerduty serve`: SQLite's work off
this process's GIL), or on a thread of this process, which commits batch after batch itself and has
the loop answer each. With the process, the loop keeps up to two batches in flight, and splits what
queued while none was into two: the process applies one while the loop answers the other's callers
and reads their next requests, instead of all callers moving as one wave (see docs/benchmarks.md).
A process that keeps dying hands over to the thread: slower, never refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sqlite3
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from fake_pagerduty.domain import lifecycle
from fake_pagerduty.domain.event_requests import Decision
from fake_pagerduty.store.batch import Write, apply_batch, apply_event, record_request
from fake_pagerduty.store.database import Database
from fake_pagerduty.store.events_connection import connect_events
from fake_pagerduty.store.records import EventResult, JournalEntry
from fake_pagerduty.store.wal import checkpoint_wal, finish_checkpoint
from fake_pagerduty.store.writer_process import WriterProcess

logger = logging.getLogger("fake_pagerduty.store")

MAX_BATCH = 256

MAX_WRITER_RESTARTS = 3

SPLIT_FROM = 8  # events queued with nothing in flight: from this many, they go as two batches

MIN_FOLLOWING = 4  # events queued before a second batch goes while one is in flight (small batches cost more)

IN_FLIGHT = 2  # batches sent to the writer process and not yet answered: it starts the next as it ends one

MAX_BATCHES_PER_TURN = 16  # at least, before the events writer gives the write lock to another write waiting


class EventsWriter:
    def __init__(self, db: Database, *, writer_process: bool = False) -> None:
        """`writer_process`: apply the writes in a process of their own (`writer_process.py`), as
        `fake-pagerduty serve` does; otherwise on a thread of this process (in-process apps and tests)."""
        self._db = db
        self._use_writer_process = writer_process
        self._writer_process: WriterProcess | None = None
        self._in_flight: deque[list[tuple[Write, asyncio.Future]]] = deque()
        self._turn: asyncio.Future | None = None
        self._turn_batches = 0
        self._send_scheduled = False
        self._writer_restarts = 0  # in a row, without a batch answered in between
        self._writer_restart: asyncio.Task | None = None  # a new writer process being started
        self._open = False
        self._events_conn: sqlite3.Connection | None = None
        self._events_thread: ThreadPoolExecutor | None = None
        self._queue: deque[tuple[Write, asyncio.Future]] = deque()
        self._wakeup = asyncio.Event()
        self._group_commit_task: asyncio.Task | None = None
        self._closing = False
        self._checkpointer: asyncio.Task | None = None
        self._checkpoint_due = False  # the events thread finishes the checkpointer's pass between two batches
        self._commits = 0

    async def open(self) -> None:
        if self._use_writer_process:
            await self._start_writer_process()
        else:
            self._start_events_thread(on_loop=self._db.inline)
        self._closing = False
        self._open = True
        self._checkpointer = asyncio.create_task(
            checkpoint_wal(self._db.path, lambda: self._commits, self._finish_checkpoint))

    async def close(self) -> None:
        if self._group_commit_task is not None:  # let queued events commit first
            self._closing = True
            self._wakeup.set()
            await self._group_commit_task
            self._group_commit_task = None
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        self._open = False
        if self._writer_restart is not None:
            with contextlib.suppress(Exception):
                await self._writer_restart
            self._writer_restart = None
        if self._writer_process is not None:
            self._writer_process.detach()
            await asyncio.get_running_loop().run_in_executor(None, self._writer_process.close)
            self._writer_process = None
        if self._events_thread is not None:
            await asyncio.get_running_loop().run_in_executor(self._events_thread, self._events_conn.close)
            self._events_thread.shutdown()
        elif self._events_conn is not None:
            self._events_conn.close()
        self._events_conn = self._events_thread = None

    async def apply(self, entry: JournalEntry, decision: Decision, now: datetime) -> EventResult:
        """An Events API request, decided (`event_requests.decide`, run by the handler: the writer, the stage that
        limits, only applies): its effect on alerts and incidents and its journal row, keyed and answered as
        `decision` says, in one transaction (see `batch.apply_event`)."""
        entry.routing_key, entry.dedup_key, entry.action = decision.routing_key, decision.dedup_key, decision.action
        entry.response_status, entry.response_body = decision.status, decision.body
        if decision.event is None:
            entry.outcome, entry.outcome_detail = lifecycle.REJECTED, decision.detail
        return await self._submit(apply_event, entry, decision.event, now)

    async def record(self, entry: JournalEntry) -> int:
        """Journal a request that changed nothing (rejected, or answered by an injected fault)."""
        return await self._submit(record_request, entry)

    @property
    def restores_on_loop(self) -> bool:
        """Whether the events connection lives on the loop's thread (an inline database), so that the
        fixtures' reset can run on it (`restore`)."""
        return self._events_conn is not None and self._events_thread is None and not self._use_writer_process

    def changed_alone(self) -> frozenset[str] | None:
        """See `events_connection.EventsConnection.changed_alone` (only when `restores_on_loop`, under the write lock)."""
        self._check_restores_here()
        return self._events_conn.changed_alone()

    def restore(self, statements: list[str], tables: list[str], *, foreign_keys_off: bool,
                only_if_alone: bool = False) -> bool:
        """The fixtures' reset on the events connection (see `events_connection.EventsConnection.restore`): only when
        `restores_on_loop`, under the write lock (so no batch is under way)."""
        self._check_restores_here()
        return self._events_conn.restore(statements, tables, foreign_keys_off=foreign_keys_off,
                                         only_if_alone=only_if_alone)

    def _check_restores_here(self) -> None:
        if not (self.restores_on_loop and self._db.lock.locked()):
            raise RuntimeError("the events connection restores only on the loop, under the write lock")

    async def _submit(self, write: Callable[..., Any], *args: Any) -> Any:
        if not self._open:
            raise RuntimeError("the store is not open")
        future = asyncio.get_running_loop().create_future()
        self._queue.append(((write, *args), future))
        if self._group_commit_task is None:
            self._group_commit_task = asyncio.create_task(self._group_commit())
        self._wakeup.set()
        if self._turn is not None and not self._send_scheduled and self._may_send():
            # the writer process is busy with a batch: send it the next one as soon as this loop iteration
            # has queued what arrived with it
            self._send_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_batches)
        return await future

    async def _group_commit(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                async with self._db.lock:
                    if self._use_writer_process:
                        await self._process_turn()
                    elif self._events_thread is None:  # the database is inline: so are the events
                        self._drain_queue(loop.call_soon)
                    else:
                        await loop.run_in_executor(self._events_thread, self._drain_queue,
                                                   loop.call_soon_threadsafe)
            if self._closing:
                return

    def _drain_queue(self, answer_soon: Callable[..., Any]) -> None:
        """On the events thread (or the loop, inline): commit batch after batch of queued writes, answering each
        after its COMMIT through `answer_soon` (the loop's call_soon_threadsafe, or call_soon on the loop)."""
        self._turn_batches = 0
        while not self._turn_over():
            self._turn_batches += 1
            if self._checkpoint_due:
                self._checkpoint_due = False
                finish_checkpoint(self._events_conn)
            batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
            if not batch:
                return
            try:
                results = apply_batch(self._events_conn, [write for write, _ in batch])
            except Exception as exc:  # the batch did not commit: every caller hears so
                results = [(False, exc)] * len(batch)
            except BaseException:
                answer_soon(_answer, batch, [(False, RuntimeError("closed"))] * len(batch))
                raise
            else:
                self._commits += 1
            answer_soon(_answer, batch, results)

    def _start_events_thread(self, *, on_loop: bool = False) -> None:
        """The events connection on a thread of its own — or, `on_loop`, on the loop's (an inline database)."""
        if not on_loop:
            self._events_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-events")
        self._events_conn = connect_events(self._db.path)  # used only on that thread from now on

    async def _start_writer_process(self) -> None:
        self._writer_process = await WriterProcess.start(self._db.path, self._on_writer_results, self._writer_failed)

    async def _process_turn(self) -> None:
        """Under the write lock: feed the writer process until the queue is empty and every batch answered."""
        self._turn = asyncio.get_running_loop().create_future()
        self._turn_batches = 0
        turn = self._turn
        self._send_batches()
        await turn

    def _send_batches(self) -> None:
        self._send_scheduled = False
        if self._turn is None or self._writer_process is None:  # none: a new process is starting, and sends
            return
        while self._queue and self._may_send() and not self._turn_over():
            size = min(MAX_BATCH, len(self._queue))
            if not self._in_flight and size >= SPLIT_FROM:
                size = (size + 1) // 2  # and the rest right behind it: two batches, so two groups of callers
            batch = [self._queue.popleft() for _ in range(size)]
            self._turn_batches += 1
            try:
                self._writer_process.send([write for write, _ in batch])
            except (pickle.PicklingError, TypeError, AttributeError) as exc:  # a bug, never an event
                _answer(batch, [(False, exc)] * len(batch))
                continue
            except OSError:  # the process has gone
                self._in_flight.append(batch)
                self._writer_failed()
                return
            self._in_flight.append(batch)
        if not self._in_flight:
            self._turn.set_result(None)
            self._turn = None

    def _turn_over(self) -> bool:
        """Whether the events writer has held the write lock long enough: only once another write waits."""
        return self._turn_batches >= MAX_BATCHES_PER_TURN and self._db.writes_waiting > 0

    def _may_send(self) -> bool:
        """Whether to send the writer process a batch now: always when it has none; a second one only when
        enough has queued (a small batch costs almost as much as a full one: see MIN_FOLLOWING)."""
        return not self._in_flight or (len(self._in_flight) < IN_FLIGHT and len(self._queue) >= MIN_FOLLOWING)

    def _on_writer_results(self, results: list[tuple]) -> None:
        """One batch committed (or refused) by the writer process (its channel calls this on the loop)."""
        self._commits += 1
        self._writer_restarts = 0
        _answer(self._in_flight.popleft(), results)
        self._send_batches()

    def _writer_failed(self) -> None:
        """The writer process died: its batches in flight fail (they may or may not have committed, and no
        2xx went out for them); a new process takes the queue. If new ones keep dying, the events are
        written on a thread of this process from then on: slower, never refused."""
        if self._writer_process is None:
            return
        process, self._writer_process = self._writer_process, None
        process.detach()
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, process.close, 1.0)
        stopped = RuntimeError("the events writer process stopped")
        while self._in_flight:
            batch = self._in_flight.popleft()
            _answer(batch, [(False, stopped)] * len(batch))
        if not self._open:
            return
        self._writer_restarts += 1
        if self._writer_restarts > MAX_WRITER_RESTARTS:
            logger.error("the events writer process stopped %d times in a row; events are written on a thread"
                         " of the server from now on", self._writer_restarts)
            self._use_thread_from_now_on()
            return
        logger.error("the events writer process stopped; starting a new one")
        self._writer_restart = asyncio.create_task(self._restart_writer())

    async def _restart_writer(self) -> None:
        try:
            await self._start_writer_process()
        except Exception:
            logger.exception("starting a new events writer process failed; events are written on a thread of"
                             " the server from now on")
            self._use_thread_from_now_on()
            return
        finally:
            self._writer_restart = None
        if not self._open:
            return
        self._send_batches()

    def _use_thread_from_now_on(self) -> None:
        """Give up on the writer process: the turn under way ends, and `_group_commit`'s next turn (the
        queue is kept) drains on a thread."""
        self._use_writer_process = False
        self._start_events_thread()
        if self._turn is not None:
            self._turn.set_result(None)
            self._turn = None

    def _finish_checkpoint(self) -> None:
        """Have the events writer copy, between two batches, what was committed during the checkpointer's
        passes (see `wal.checkpoint_wal`)."""
        if self._writer_process is not None:
            with contextlib.suppress(OSError, ValueError):  # gone: `_on_writer_results` hears of it
                self._writer_process.finish_checkpoint()
        elif self._events_conn is not None:
            self._checkpoint_due = True  # `_drain_queue` sees it before its next batch


def _answer(batch: list[tuple[Write, asyncio.Future]], results: list[tuple]) -> None:
    """On the loop: tell each caller of a batch how its write went."""
    for (_, future), (ok, value) in zip(batch, results, strict=True):
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)
