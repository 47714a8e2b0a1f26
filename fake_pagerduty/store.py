"""The sandbox's SQLite store: the only module with SQL.

One writer connection behind an asyncio lock (short `BEGIN IMMEDIATE` transactions, so no client ever
sees "database is locked"), and one reader connection; WAL lets them work side by side. Events, the hot
path, are written by group commit on a connection of their own, behind the same lock (see `_submit`). `:memory:`
uses a private temporary file, deleted on close, so both connections see the same database.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import json
import logging
import os
import pickle
import shutil
import sqlite3
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import aiosqlite

from fake_pagerduty.domain import event_requests, ids, incident_actions, lifecycle, rest_query
from fake_pagerduty.domain import webhooks as webhook_rules
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.events import AlertEvent, ChangeEvent, by_position
from fake_pagerduty.domain.faults import FaultRule
from fake_pagerduty.errors import compact_json
from fake_pagerduty.writer_process import Write, WriterProcess

logger = logging.getLogger("fake_pagerduty.store")
READERS = 4  # reader connections: reads at once (see `_reader`)
_SNAPSHOT: contextvars.ContextVar[aiosqlite.Connection | None] = contextvars.ContextVar("snapshot", default=None)


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("fake_pagerduty") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


_dumps = compact_json  # what is stored as JSON is compact, as PagerDuty's answers are


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


# What a sandbox reset wipes, in an order that respects foreign keys: activity, never configuration.
ACTIVITY_TABLES = ("events", "webhook_changes", "webhook_deliveries", "log_entries", "alerts", "incidents", "change_events",
                   "sandbox_faults", "sandbox_settings")
_REPORTED_AS = {"sandbox_faults": "faults", "sandbox_settings": "settings"}
_UNREPORTED = {"webhook_changes"}  # internal bookkeeping (see webhooks.py), not what a reset answer counts
_JSON_COLUMNS = {"callback_origins", "acknowledgements", "last_status_change_by", "body", "agent", "channel",
                 "custom_details", "links", "images", "warnings", "events", "custom_headers", "headers"}


def _row(row: aiosqlite.Row, *, drop: tuple[str, ...] = ()) -> dict:
    """A row as a dict, JSON columns decoded."""
    out = {}
    for key in row.keys():
        if key in drop:
            continue
        value = row[key]
        out[key] = _loads(value) if key in _JSON_COLUMNS and isinstance(value, str) else value
    return out


def _body(raw: bytes | str | None) -> tuple[Any, str]:
    """A request or response body for people: parsed JSON when it is JSON, else text, else base64."""
    if raw is None:
        return None, "empty"
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not raw:
        return "", "empty"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"
    try:
        return json.loads(text), "json"
    except ValueError:
        return text, "text"


def journal_event(row: aiosqlite.Row) -> dict:
    """A journal row as the sandbox API shows it."""
    body, body_format = _body(row["raw_body"])
    response_body, response_format = _body(row["response_body"])
    return {
        "id": row["id"],
        "received_at": row["received_at"],
        "api": row["api"],
        "method": row["method"],
        "path": row["path"],
        "content_type": row["content_type"],
        "routing_key": row["routing_key"],
        "dedup_key": row["dedup_key"],
        "action": row["action"],
        "body": body,
        "body_format": body_format,
        "response": {"status": row["response_status"], "body": response_body, "body_format": response_format},
        "outcome": row["outcome"],
        "detail": row["outcome_detail"],
        "account_id": row["account_id"],
        "service_id": row["service_id"],
        "incident_id": row["incident_id"],
        "alert_id": row["alert_id"],
        "fault_id": row["fault_id"],
        "warnings": _loads(row["warnings"]) or [],
    }


@dataclass
class JournalEntry:
    """One request to an events endpoint, as the journal keeps it."""

    received_at: str
    api: str
    method: str
    path: str
    content_type: str | None
    raw_body: bytes
    response_status: int
    response_body: str
    routing_key: str | None = None
    dedup_key: str | None = None
    action: str | None = None
    outcome: str = ""
    outcome_detail: str = ""
    account_id: str | None = None
    service_id: str | None = None
    incident_id: str | None = None
    alert_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    fault_id: str | None = None  # the sandbox fault rule that answered, cut or delayed this request

    def __reduce__(self) -> tuple:
        return by_position(self)


@dataclass(frozen=True)
class JournalQuery:
    """Which journal entries a sandbox client asks for; every field narrows the match."""

    routing_key: str | None = None
    dedup_key: str | None = None
    outcomes: tuple[str, ...] = ()
    apis: tuple[str, ...] = ()
    incident_id: str | None = None
    fault_id: str | None = None
    since_id: int | None = None  # id >= since_id
    since_time: str | None = None  # received_at >= since_time (ISO, UTC)
    after_id: int | None = None  # id > after_id

    def where(self) -> tuple[str, list]:
        clauses, params = [], []
        for column, value in (("routing_key", self.routing_key), ("dedup_key", self.dedup_key),
                              ("incident_id", self.incident_id), ("fault_id", self.fault_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        for column, values in (("outcome", self.outcomes), ("api", self.apis)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.since_id is not None:
            clauses.append("id >= ?")
            params.append(self.since_id)
        if self.since_time is not None:
            clauses.append("received_at >= ?")
            params.append(self.since_time)
        if self.after_id is not None:
            clauses.append("id > ?")
            params.append(self.after_id)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


@dataclass(frozen=True)
class SeedKeys:
    """What already exists of the things a seed document can describe (to re-create only what is missing)."""

    vendor_keys: frozenset[str]
    accounts: dict[str, str]  # subdomain -> account id
    emails: frozenset[str]  # lower case
    api_keys: frozenset[str]
    services: dict[tuple[str, str], str]  # (account id, name) -> service id
    integration_keys: frozenset[str]


@dataclass(frozen=True)
class IncidentChange:
    """An incident that changed in a transaction, for webhooks and live pages: `incident.triggered` etc."""

    account_id: str
    incident_id: str
    event_type: str

    def __reduce__(self) -> tuple:
        return by_position(self)


class Conflict(Exception):
    """A write refused because a unique name is taken: `field` names the form field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class EventResult:
    journal_id: int
    outcome: str
    detail: str
    incident_id: str | None = None
    changes: list[IncidentChange] = field(default_factory=list)
    response_status: int = 0  # the answer to the request
    response_body: str = ""
    dedup_key: str | None = None  # the key it was journaled under (PagerDuty's own, when the event had none)

    def __reduce__(self) -> tuple:
        return by_position(self)


class Store:
    def __init__(self, path: str, *, writer_process: bool = False) -> None:
        """`writer_process`: apply Events API writes in a process of their own (`writer_process.py`), as
        `fake-pagerduty serve` does; otherwise on a thread of this process (in-process apps and tests)."""
        self._requested_path = path
        self._use_writer_process = writer_process
        self._writer_process: WriterProcess | None = None
        self._in_flight: deque[list[tuple[Write, asyncio.Future]]] = deque()
        self._turn: asyncio.Future | None = None
        self._turn_batches = 0
        self._send_scheduled = False
        self._writer_restarts = 0  # in a row, without a batch answered in between
        self._writer_restart: asyncio.Task | None = None  # a new writer process being started
        self._open = False
        self._tempdir: str | None = None
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._all_readers: list[aiosqlite.Connection] = []
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None  # the ones free now
        self._lock = asyncio.Lock()
        self._events_conn: sqlite3.Connection | None = None
        self._events_thread: ThreadPoolExecutor | None = None
        self._queue: deque[tuple[Write, asyncio.Future]] = deque()
        self._wakeup = asyncio.Event()
        self._group_commit_task: asyncio.Task | None = None
        self._closing = False
        self._checkpointer: asyncio.Task | None = None
        self._checkpoint_due = False  # the events thread finishes the checkpointer's pass between two batches
        self._commits = 0
        self._writes = 0  # transactions through `transaction()`: what may have changed webhook targets
        self._writes_waiting = 0  # transactions waiting for the write lock
        self._webhook_targets_exist: tuple[int, bool] | None = None  # (as of self._writes, whether any)

    # ---- lifecycle ---------------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._requested_path == ":memory:":
            self._tempdir = tempfile.mkdtemp(prefix="fake-pagerduty-")
            self.path = os.path.join(self._tempdir, "sandbox.db")
        else:
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
        self._writer = await aiosqlite.connect(self.path, isolation_level=None)
        self._writer.row_factory = aiosqlite.Row
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
            await self._writer.execute(f"PRAGMA {pragma}")
        await self._migrate()
        self._readers = asyncio.Queue()
        for _ in range(READERS):
            reader = await aiosqlite.connect(self.path, isolation_level=None)
            reader.row_factory = aiosqlite.Row
            for pragma in ("busy_timeout=10000", "query_only=ON"):
                await reader.execute(f"PRAGMA {pragma}")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        if self._use_writer_process:
            await self._start_writer_process()
        else:
            self._start_events_thread()
        self._closing = False
        self._open = True
        self._checkpointer = asyncio.create_task(self._checkpoint_wal())

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
        if self._events_conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._events_thread, self._events_conn.close)
            self._events_thread.shutdown()
            self._events_conn = self._events_thread = None
        for conn in (*self._all_readers, self._writer):
            if conn is not None:
                await conn.close()
        self._all_readers = []
        self._writer = None
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    async def _migrate(self) -> None:
        """Apply the migrations numbered above PRAGMA user_version, in order, each in its own transaction."""
        (version,) = await (await self._writer.execute("PRAGMA user_version")).fetchone()
        for number, sql in _migrations():
            if number > version:
                await self._writer.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")

    async def schema_version(self) -> int:
        (version,) = await self._one("PRAGMA user_version")
        return version

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction; the only way anything writes."""
        self._writes_waiting += 1  # the events writer's turn ends soon (see `_turn_over`)
        try:
            await self._lock.acquire()
        finally:
            self._writes_waiting -= 1
        try:
            db = self._writer
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
            self._writes += 1  # after COMMIT: a read that started earlier is then known to be stale
        finally:
            self._lock.release()

    # Reads. Every read that starts after a write was answered must see it, however many clients read at
    # once. In SQLite a read sees the database as of the moment its transaction began, and on a connection
    # in autocommit mode that transaction lasts while ANY statement of the connection is still running: one
    # reader connection shared by concurrent requests almost always had some statement open, so its
    # snapshot could stay older than writes already answered (610 of 1,600 reads-after-202 missed, with 16
    # clients). So each read has a connection of its own for as long as it runs, taken from a small pool
    # (`READERS`; aiosqlite gives each its thread), and a read made of several statements — a page and its
    # total — runs them in one transaction (`_snapshot`), one consistent view begun after the write.

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader connection for this read alone: the one of the snapshot under way, or a free one."""
        held = _SNAPSHOT.get()
        if held is not None:
            yield held
            return
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[None]:
        """Every `_one`/`_all` inside (in this task) reads one consistent state of the database, taken at the
        first of them. Nested uses join the outer one."""
        if _SNAPSHOT.get() is not None:
            yield
            return
        async with self._reader() as conn:
            await conn.execute("BEGIN")
            token = _SNAPSHOT.set(conn)
            try:
                yield
            finally:
                _SNAPSHOT.reset(token)
                await conn.execute("COMMIT")

    async def _one(self, sql: str, params: tuple | dict = ()) -> aiosqlite.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _all(self, sql: str, params: tuple | dict = ()) -> list[aiosqlite.Row]:
        async with self._reader() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def _paged(
        self, sql: str, params: tuple | list, page: rest_query.Page, count_sql: str,
        count_params: tuple | list | None = None,
    ) -> tuple[list[dict], bool, int | None]:
        """One page of a list (`sql` ends with `LIMIT ? OFFSET ?`): its rows, whether there are more, and the
        total, counted with `count_sql` (and `count_params`, by default `params`) only when the page asks."""
        total = None
        async with self._snapshot():
            rows = await self._all(sql, (*params, page.limit + 1, page.offset))
            if page.total:
                (total,) = await self._one(count_sql, tuple(params if count_params is None else count_params))
        return [dict(r) for r in rows[: page.limit]], len(rows) > page.limit, total

    # ---- seed data ---------------------------------------------------------------------------------------

    async def is_empty(self) -> bool:
        return await self._one("SELECT 1 FROM accounts LIMIT 1") is None

    async def upsert_account(self, *, id: str, subdomain: str, name: str, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO accounts (id, subdomain, name, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(subdomain) DO UPDATE SET name = excluded.name",
                (id, subdomain, name, iso(now)),
            )

    async def upsert_user(
        self, *, id: str, account_id: str, name: str, email: str, password_hash: str, now: datetime
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO users (id, account_id, name, email, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET"
                " account_id = excluded.account_id, name = excluded.name, password_hash = excluded.password_hash",
                (id, account_id, name, email, password_hash, iso(now)),
            )

    async def upsert_api_key(self, *, token: str, account_id: str, description: str, now: datetime) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO api_keys (token, account_id, description, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(token) DO UPDATE SET account_id = excluded.account_id,"
                " description = excluded.description",
                (token, account_id, description, iso(now)),
            )

    async def upsert_partner_app(
        self,
        *,
        vendor_key: str,
        app_id: str,
        name: str,
        callback_origins: list[str],
        webhook_url: str | None,
        webhook_secret: str | None,
        now: datetime,
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO partner_apps (vendor_key, app_id, name, callback_origins, webhook_url,"
                " webhook_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(vendor_key) DO UPDATE SET app_id = excluded.app_id, name = excluded.name,"
                " callback_origins = excluded.callback_origins, webhook_url = excluded.webhook_url,"
                " webhook_secret = excluded.webhook_secret",
                (vendor_key, app_id, name, _dumps(callback_origins), webhook_url, webhook_secret, iso(now)),
            )

    async def upsert_service(
        self,
        *,
        id: str,
        account_id: str,
        name: str,
        description: str = "",
        urgency_rule: str = "severity_based",
        acknowledgement_timeout: int | None = 1800,
        auto_resolve_timeout: int | None = 14400,
        vendor_key: str | None = None,
        now: datetime,
    ) -> str:
        """Create or update a service by (account, name); returns its id."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO services (id, account_id, name, description, urgency_rule, acknowledgement_timeout,"
                " auto_resolve_timeout, vendor_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(account_id, name) DO UPDATE SET description = excluded.description,"
                " urgency_rule = excluded.urgency_rule,"
                " acknowledgement_timeout = excluded.acknowledgement_timeout,"
                " auto_resolve_timeout = excluded.auto_resolve_timeout, updated_at = excluded.updated_at",
                (id, account_id, name, description, urgency_rule, acknowledgement_timeout,
                 auto_resolve_timeout, vendor_key, iso(now), iso(now)),
            )
            async with db.execute(
                "SELECT id FROM services WHERE account_id = ? AND name = ?", (account_id, name)
            ) as cursor:
                (service_id,) = await cursor.fetchone()
        return service_id

    async def upsert_integration(
        self,
        *,
        id: str,
        service_id: str,
        integration_key: str,
        name: str,
        type: str = "events_api_v2_inbound_integration",
        vendor_key: str | None = None,
        now: datetime,
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO integrations (id, service_id, integration_key, name, type, vendor_key, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(integration_key) DO UPDATE SET"
                " service_id = excluded.service_id, name = excluded.name, type = excluded.type,"
                " vendor_key = excluded.vendor_key",
                (id, service_id, integration_key, name, type, vendor_key, iso(now)),
            )

    async def account_by_subdomain(self, subdomain: str) -> dict | None:
        row = await self._one("SELECT * FROM accounts WHERE subdomain = ?", (subdomain,))
        return dict(row) if row else None

    # ---- the events journal and what events do -----------------------------------------------------------
    #
    # Events are written by group commit: each call queues its write — data, `(function, *args)` — and waits;
    # one writer task takes the write lock and has the events connection apply every write queued so far, in
    # arrival order, in ONE transaction (a write that fails spoils nothing else: see `apply_batch`), COMMIT,
    # and only then answers each caller; then it goes straight on with whatever was queued meanwhile, until
    # the queue is empty or — once another write waits for the lock — it has done MAX_BATCHES_PER_TURN
    # batches. So a 2xx still leaves only after its event is committed, and every other write still waits
    # for `self._lock`, but a steady stream of events is not stopped every few batches for nothing.
    #
    # The events connection lives either in the writer process (`fake-pagerduty serve`: SQLite's work off
    # this process's GIL), or on a thread of this process, which commits batch after batch itself and has
    # the loop answer each. With the process, the loop keeps up to two batches in flight, and splits what
    # queued while none was into two: the process applies one while the loop answers the other's callers
    # and reads their next requests, instead of all callers moving as one wave (see docs/benchmarks.md).

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
                async with self._lock:
                    if self._use_writer_process:
                        await self._process_turn()
                    else:
                        await loop.run_in_executor(self._events_thread, self._drain_queue, loop)
            if self._closing:
                return

    def _drain_queue(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the events thread: commit batch after batch of queued writes, answering each after its COMMIT."""
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
                loop.call_soon_threadsafe(_answer, batch, [(False, RuntimeError("closed"))] * len(batch))
                raise
            else:
                self._commits += 1
            loop.call_soon_threadsafe(_answer, batch, results)

    def _start_events_thread(self) -> None:
        self._events_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-events")
        self._events_conn = connect_events(self.path)  # used only on that thread from now on

    async def _start_writer_process(self) -> None:
        self._writer_process = await WriterProcess.start(self.path, self._on_writer_results, self._writer_failed)

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
        return self._turn_batches >= MAX_BATCHES_PER_TURN and self._writes_waiting > 0

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

    def _fail_queue(self, error: Exception) -> None:
        while self._queue:
            _, future = self._queue.popleft()
            if not future.done():
                future.set_exception(error)
        if self._turn is not None:
            self._turn.set_result(None)
            self._turn = None

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL back into the database on a thread and connection of its own, off the write path, and
        keep it from growing without bound while events keep coming.

        The events connection never checkpoints itself (`wal_autocheckpoint=0`): a checkpoint inside a
        COMMIT stalls every event waiting on that batch for tens of milliseconds. PASSIVE never blocks writers,
        but under a steady stream it never catches up either — SQLite starts the WAL again from its beginning
        only when a write begins with every frame copied — and the WAL grew by ~150 MB a second at full load
        (appending to a file also costs twice what overwriting it does). So after its passes (`copy_wal`)
        this task has the events writer copy what they left, between two batches (`finish_checkpoint`): the
        WAL then starts again, and stays the size of one interval's writes. After an interval with no events
        it is truncated (`shrink_wal`).
        """
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint") as thread:
            conn = await loop.run_in_executor(thread, _connect_checkpointer, self.path)
            try:
                done, shrink = 0, False
                while True:
                    await asyncio.sleep(CHECKPOINT_SECONDS)
                    try:
                        if self._commits != done:
                            done, shrink = self._commits, True
                            if await loop.run_in_executor(thread, copy_wal, conn):
                                self._finish_checkpoint()
                        elif shrink:
                            shrink = not await loop.run_in_executor(thread, shrink_wal, conn)
                    except sqlite3.Error:  # the WAL keeps every frame: nothing is lost, try again next time
                        logger.exception("checkpointing the WAL failed")
            finally:
                await asyncio.shield(loop.run_in_executor(thread, conn.close))

    def _finish_checkpoint(self) -> None:
        """Have the events writer copy, between two batches, what was committed during the checkpointer's
        passes (see `_checkpoint_wal`)."""
        if self._writer_process is not None:
            with contextlib.suppress(OSError, ValueError):  # gone: `_on_writer_results` hears of it
                self._writer_process.finish_checkpoint()
        elif self._events_conn is not None:
            self._checkpoint_due = True  # `_drain_queue` sees it before its next batch

    async def _journal(self, db: aiosqlite.Connection, entry: JournalEntry) -> int:
        cursor = await db.execute(_INSERT_JOURNAL, _journal_params(entry))
        if entry.fault_id:
            await db.execute(_COUNT_FAULT_FIRED, (entry.fault_id,))
        return cursor.lastrowid

    async def record_request(self, entry: JournalEntry) -> int:
        """Journal a request that changed nothing (rejected, or answered by an injected fault)."""
        return await self._submit(_journal_sync, entry)

    async def apply_request(self, api: str, entry: JournalEntry, now: datetime) -> EventResult:
        """An Events API request, whole, in one transaction: what its body comes to, its effect on alerts and
        incidents, its journal row (see `_apply_request_sync`). The answer to give comes back in the result."""
        return await self._submit(_apply_request_sync, api, entry, now)

    async def _log(
        self,
        db: aiosqlite.Connection,
        account_id: str,
        incident_id: str,
        alert_id: str | None,
        type: str,
        summary: str,
        agent: dict,
        channel: dict,
        event_id: int | None,
        stamp: str,
    ) -> None:
        await db.execute(_INSERT_LOG, _log_params(account_id, incident_id, alert_id, type, summary, _dumps(agent),
                                                  channel, event_id, stamp))

    # ---- service timeouts --------------------------------------------------------------------------------

    async def apply_due_timeouts(self, now: datetime) -> list[IncidentChange]:
        """Acknowledgement timeouts return incidents to triggered; auto-resolve timeouts resolve them."""
        stamp = iso(now)
        changes: list[IncidentChange] = []
        if await self._one(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM incidents WHERE auto_resolve_at IS NOT NULL AND auto_resolve_at <= ?)"
            " OR EXISTS (SELECT 1 FROM incidents WHERE ack_timeout_at IS NOT NULL AND ack_timeout_at <= ?)",
            (stamp, stamp),
        ) is None:
            return changes  # nothing due: no write transaction (it would hold up the events for nothing)
        async with self.transaction() as db:
            async with db.execute(
                "SELECT i.id, i.account_id, i.service_id FROM incidents i WHERE i.status != 'resolved'"
                " AND i.auto_resolve_at IS NOT NULL AND i.auto_resolve_at <= ?",
                (stamp,),
            ) as cursor:
                to_resolve = list(await cursor.fetchall())
            for incident_id, account_id, service_id in to_resolve:
                agent = {"id": service_id, "type": "service_reference", "summary": "auto-resolve timeout"}
                for sql, params in _resolve_statements(incident_id, _dumps(agent), stamp):
                    await db.execute(sql, params)
                await self._log(db, account_id, incident_id, None, "resolve_log_entry",
                                "Resolved by timeout.", agent, {"type": "timeout"}, None, stamp)
                changes.append(IncidentChange(account_id, incident_id, "incident.resolved"))
            async with db.execute(
                "SELECT i.id, i.account_id, i.service_id FROM incidents i WHERE i.status = 'acknowledged'"
                " AND i.ack_timeout_at IS NOT NULL AND i.ack_timeout_at <= ?",
                (stamp,),
            ) as cursor:
                to_unack = list(await cursor.fetchall())
            for incident_id, account_id, service_id in to_unack:
                agent = {"id": service_id, "type": "service_reference", "summary": "acknowledgement timeout"}
                for sql, params in _unacknowledge_statements(incident_id, _dumps(agent), stamp):
                    await db.execute(sql, params)
                await self._log(db, account_id, incident_id, None, "unacknowledge_log_entry",
                                "Unacknowledged due to timeout.", agent, {"type": "timeout"}, None, stamp)
                changes.append(IncidentChange(account_id, incident_id, "incident.unacknowledged"))
            await self._record_changes(db, changes, stamp)
        return changes

    # ---- REST API: who is asking -------------------------------------------------------------------------

    async def account_for_api_key(self, token: str) -> dict | None:
        """The account a REST API key (or OAuth bearer token) belongs to."""
        row = await self._one(
            "SELECT a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.token = ?", (token,)
        )
        return dict(row) if row else None

    async def user_by_email(self, account_id: str, email: str) -> dict | None:
        row = await self._one("SELECT * FROM users WHERE account_id = ? AND email = ?", (account_id, email))
        return dict(row) if row else None

    # ---- REST API: incidents -----------------------------------------------------------------------------

    _INCIDENT_SORT_COLUMNS = {
        "incident_number": "i.incident_number",
        "created_at": "i.created_at",
        "resolved_at": "i.resolved_at",
        "urgency": "i.urgency",
    }

    def _incident_list_sql(
        self, account_id: str, query: rest_query.IncidentQuery
    ) -> tuple[str, str, list[Any]]:
        """The WHERE condition, ORDER BY and parameters of an incident list query."""
        where, params = ["i.account_id = ?"], [account_id]
        for column, values in (("status", query.statuses), ("service_id", query.service_ids),
                               ("urgency", query.urgencies)):
            if values:
                where.append(f"i.{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if query.incident_key is not None:
            where.append("i.incident_key = ?")
            params.append(query.incident_key)
        # The time window uses the (account, created_at) index only when the list is sorted by created_at;
        # otherwise (`+` hides the column from the planner) the account's incident_number, status or key
        # index serves, and a page stops after `limit` rows instead of sorting the whole window.
        created_at = "i.created_at" if query.sort[0][0] == "created_at" else "+i.created_at"
        if query.since is not None:
            where.append(f"{created_at} >= ?")
            params.append(query.since)
        if query.until is not None:
            where.append(f"{created_at} <= ?")
            params.append(query.until)
        order = [f"{self._INCIDENT_SORT_COLUMNS[field]} {direction.upper()}" for field, direction in query.sort]
        if query.sort[0][0] != "incident_number":  # a stable order, in the first field's direction
            order.append(f"i.incident_number {query.sort[0][1].upper()}")
        if query.incident_key is not None:  # few rows: find them by key, then sort them
            order = [f"+{term}" for term in order]
        return " AND ".join(where), ", ".join(order), params

    def incident_page_sql(self, account_id: str, query: rest_query.IncidentQuery) -> tuple[str, list[Any]]:
        """The SQL of one page of incidents (LIMIT and OFFSET parameters last); tests read its query plan."""
        condition, order, params = self._incident_list_sql(account_id, query)
        return (
            "SELECT i.*, s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            f" WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?",
            params,
        )

    async def list_incidents(
        self, account_id: str, query: rest_query.IncidentQuery, page: rest_query.Page
    ) -> tuple[list[dict], bool, int | None]:
        """One page of an account's incidents (rows plus `service_name`), whether there are more, and the
        total (None unless the page asks for it)."""
        sql, params = self.incident_page_sql(account_id, query)
        condition, _, count_params = self._incident_list_sql(account_id, query)
        return await self._paged(sql, params, page, f"SELECT COUNT(*) FROM incidents i WHERE {condition}",
                                 count_params)

    async def incident(self, account_id: str, incident_id: str) -> dict | None:
        """One of an account's incidents (row plus `service_name`); None for another account's."""
        row = await self._one(
            "SELECT i.*, s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            " WHERE i.id = ? AND i.account_id = ?",
            (incident_id, account_id),
        )
        return dict(row) if row else None

    async def alert_counts(self, incident_ids: list[str]) -> dict[str, dict]:
        """`{incident_id: {all, triggered, resolved}}` for a page of incidents, in one grouped query."""
        if not incident_ids:
            return {}
        rows = await self._all(
            "SELECT incident_id, COUNT(*), SUM(status = 'triggered'), SUM(status = 'resolved') FROM alerts"
            f" WHERE incident_id IN ({', '.join('?' * len(incident_ids))}) GROUP BY incident_id",
            tuple(incident_ids),
        )
        counts = {i: {"all": 0, "triggered": 0, "resolved": 0} for i in incident_ids}
        for incident_id, total, triggered, resolved in rows:
            counts[incident_id] = {"all": total, "triggered": triggered, "resolved": resolved}
        return counts

    async def incident_alerts(
        self, account_id: str, incident_id: str, page: rest_query.Page
    ) -> tuple[list[dict], bool, int | None]:
        """An incident's alerts, oldest first, with what their references need."""
        sql = (
            "SELECT a.*, s.name AS service_name, i.incident_number, i.title AS incident_title,"
            " g.type AS integration_type, g.name AS integration_name FROM alerts a"
            " JOIN incidents i ON i.id = a.incident_id JOIN services s ON s.id = a.service_id"
            " JOIN integrations g ON g.id = a.integration_id"
            " WHERE a.incident_id = ? AND i.account_id = ? ORDER BY a.created_at, a.rowid LIMIT ? OFFSET ?"
        )
        return await self._paged(sql, (incident_id, account_id), page,
                                 "SELECT COUNT(*) FROM alerts WHERE incident_id = ? AND account_id = ?")

    async def incident_log_entries(
        self, account_id: str, incident_id: str, page: rest_query.Page
    ) -> tuple[list[dict], bool, int | None]:
        """An incident's log entries, newest first (as PagerDuty lists them)."""
        sql = (
            "SELECT l.*, i.service_id, s.name AS service_name, i.incident_number, i.title AS incident_title"
            " FROM log_entries l JOIN incidents i ON i.id = l.incident_id JOIN services s ON s.id = i.service_id"
            " WHERE l.incident_id = ? AND i.account_id = ? ORDER BY l.seq DESC LIMIT ? OFFSET ?"
        )
        return await self._paged(sql, (incident_id, account_id), page,
                                 "SELECT COUNT(*) FROM log_entries WHERE incident_id = ? AND account_id = ?")

    async def change_incident_status(
        self, account_id: str, incident_id: str, status: str, user: dict, now: datetime, channel: str = "api"
    ) -> list[IncidentChange]:
        """Acknowledge or resolve one incident as `user` (a users row); see `change_incidents_status`."""
        return await self.change_incidents_status(
            account_id, [incident_actions.StatusChange(incident_id, status)], user, now, channel
        )

    async def change_incidents_status(
        self,
        account_id: str,
        changes: list[incident_actions.StatusChange],
        user: dict,
        now: datetime,
        channel: str = "api",
    ) -> list[IncidentChange]:
        """Acknowledge or resolve incidents as a person, all in one transaction, all or nothing.

        Raises `incident_actions.IncidentNotFound` (also for another account's incident),
        `IncidentAlreadyResolved` or `InvalidStatus`; then nothing changed. `channel` is how it was done:
        `api` (REST API) or `website` (the console). Returns the changes to publish."""
        stamp = iso(now)
        agent = {"id": user["id"], "type": "user_reference", "summary": user["name"]}
        published: list[IncidentChange] = []
        async with self.transaction() as db:
            for change in changes:
                async with db.execute(
                    "SELECT i.id, i.status, s.acknowledgement_timeout FROM incidents i"
                    " JOIN services s ON s.id = i.service_id WHERE i.id = ? AND i.account_id = ?",
                    (change.incident_id, account_id),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    raise incident_actions.IncidentNotFound(change.incident_id)
                incident_actions.check(row["status"], change)
                if change.status == incident_actions.ACKNOWLEDGED:
                    statements = _acknowledge_statements(change.incident_id, agent, stamp,
                                                         lifecycle.deadline(now, row["acknowledgement_timeout"]))
                    changed = row["status"] != "acknowledged"
                    log_type, event_type = "acknowledge_log_entry", "incident.acknowledged"
                else:
                    statements = _resolve_statements(change.incident_id, _dumps(agent), stamp)
                    changed = True
                    log_type, event_type = "resolve_log_entry", "incident.resolved"
                for sql, params in statements:
                    await db.execute(sql, params)
                await self._log(db, account_id, change.incident_id, None, log_type,
                                incident_actions.log_summary(change.status, user["name"]), agent,
                                {"type": channel}, None, stamp)
                if changed:
                    published.append(IncidentChange(account_id, change.incident_id, event_type))
            await self._record_changes(db, published, stamp)
        return published

    async def _record_changes(self, db: aiosqlite.Connection, changes: list[IncidentChange], stamp: str) -> None:
        """In the transaction that made them: the changes webhooks must be made for (see `webhook_changes`)."""
        rows = _webhook_change_rows(changes, stamp)
        if rows and await self._any_webhook_targets():
            await db.executemany(_INSERT_WEBHOOK_CHANGE, rows)

    # ---- REST API: services, integrations, change events -------------------------------------------------

    async def list_services(
        self, account_id: str, page: rest_query.Page, name_query: str | None = None
    ) -> tuple[list[dict], bool, int | None]:
        """One page of an account's services by name; `name_query` keeps names containing it (any case)."""
        where, params = "account_id = ?", [account_id]
        if name_query:
            where += " AND instr(lower(name), lower(?)) > 0"
            params.append(name_query)
        return await self._paged(
            f"SELECT * FROM services WHERE {where} ORDER BY name COLLATE NOCASE, id LIMIT ? OFFSET ?", params, page,
            f"SELECT COUNT(*) FROM services WHERE {where}",
        )

    async def service(self, account_id: str, service_id: str) -> dict | None:
        row = await self._one("SELECT * FROM services WHERE id = ? AND account_id = ?", (service_id, account_id))
        return dict(row) if row else None

    async def services_extras(self, service_ids: list[str]) -> tuple[dict[str, list[dict]], dict[str, str]]:
        """For a page of services: their integrations (oldest first) and their last incident's time."""
        if not service_ids:
            return {}, {}
        marks = ", ".join("?" * len(service_ids))
        integrations: dict[str, list[dict]] = {sid: [] for sid in service_ids}
        for row in await self._all(
            f"SELECT * FROM integrations WHERE service_id IN ({marks}) ORDER BY created_at, rowid", tuple(service_ids)
        ):
            integrations[row["service_id"]].append(dict(row))
        last = await self._all(
            f"SELECT service_id, MAX(created_at) FROM incidents WHERE service_id IN ({marks}) GROUP BY service_id",
            tuple(service_ids),
        )
        return integrations, {sid: at for sid, at in last}

    async def create_service(
        self,
        account_id: str,
        *,
        name: str,
        description: str,
        acknowledgement_timeout: int | None,
        auto_resolve_timeout: int | None,
        urgency_rule: str,
        now: datetime,
    ) -> dict | None:
        """A new service; None if the account already has one by that name."""
        service_id = ids.short_id()
        try:
            async with self.transaction() as db:
                await db.execute(
                    "INSERT INTO services (id, account_id, name, description, urgency_rule, acknowledgement_timeout,"
                    " auto_resolve_timeout, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (service_id, account_id, name, description, urgency_rule, acknowledgement_timeout,
                     auto_resolve_timeout, iso(now), iso(now)),
                )
        except aiosqlite.IntegrityError:
            return None
        return await self.service(account_id, service_id)

    async def create_integration(
        self, account_id: str, service_id: str, *, name: str, type: str, now: datetime
    ) -> dict | None:
        """A new Events API integration with a fresh 32-hex key; None if the service is not the account's."""
        integration_id = ids.short_id()
        async with self.transaction() as db:
            async with db.execute(
                "SELECT 1 FROM services WHERE id = ? AND account_id = ?", (service_id, account_id)
            ) as cursor:
                if await cursor.fetchone() is None:
                    return None
            await db.execute(
                "INSERT INTO integrations (id, service_id, integration_key, name, type, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (integration_id, service_id, ids.integration_key(), name, type, iso(now)),
            )
        return await self.integration(account_id, service_id, integration_id)

    async def integration(self, account_id: str, service_id: str, integration_id: str) -> dict | None:
        """One integration of one of the account's services (row plus `service_name`)."""
        row = await self._one(
            "SELECT g.*, s.name AS service_name FROM integrations g JOIN services s ON s.id = g.service_id"
            " WHERE g.id = ? AND g.service_id = ? AND s.account_id = ?",
            (integration_id, service_id, account_id),
        )
        return dict(row) if row else None

    async def list_change_events(
        self,
        account_id: str,
        page: rest_query.Page,
        since: str | None = None,
        until: str | None = None,
        integration_ids: tuple[str, ...] = (),
    ) -> tuple[list[dict], bool, int | None]:
        """One page of an account's change events, newest first."""
        where, params = ["c.account_id = ?"], [account_id]
        if since:
            where.append("c.timestamp >= ?")
            params.append(since)
        if until:
            where.append("c.timestamp <= ?")
            params.append(until)
        if integration_ids:
            where.append(f"c.integration_id IN ({', '.join('?' * len(integration_ids))})")
            params.extend(integration_ids)
        condition = " AND ".join(where)
        return await self._paged(
            "SELECT c.*, s.name AS service_name, g.type AS integration_type, g.name AS integration_name,"
            " g.integration_key FROM change_events c JOIN services s ON s.id = c.service_id"
            f" JOIN integrations g ON g.id = c.integration_id WHERE {condition}"
            " ORDER BY c.created_at DESC, c.rowid DESC LIMIT ? OFFSET ?",
            params, page, f"SELECT COUNT(*) FROM change_events c WHERE {condition}",
        )
    # ---- people: accounts, users, sessions ---------------------------------------------------------------

    async def user_for_sign_in(self, email: str) -> dict | None:
        """The user with this email (any case), with the password hash to check."""
        row = await self._one("SELECT id, name, email, password_hash, account_id FROM users WHERE email = ?", (email,))
        return dict(row) if row else None

    async def create_account(
        self, *, subdomain: str, account_name: str, user_name: str, email: str, password_hash: str, now: datetime
    ) -> tuple[str, str]:
        """A new account with its first user; raises Conflict if the subdomain or email is taken."""
        account_id, user_id = ids.short_id(), ids.short_id()
        async with self.transaction() as db:
            async with db.execute("SELECT 1 FROM accounts WHERE subdomain = ?", (subdomain,)) as cursor:
                if await cursor.fetchone():
                    raise Conflict("subdomain", "That subdomain is taken; choose another.")
            async with db.execute("SELECT 1 FROM users WHERE email = ?", (email,)) as cursor:
                if await cursor.fetchone():
                    raise Conflict("email", "An account with that email already exists; sign in instead.")
            await db.execute(
                "INSERT INTO accounts (id, subdomain, name, created_at) VALUES (?, ?, ?, ?)",
                (account_id, subdomain, account_name, iso(now)),
            )
            await db.execute(
                "INSERT INTO users (id, account_id, name, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, account_id, user_name, email, password_hash, iso(now)),
            )
        return account_id, user_id

    async def create_session(
        self, *, id_hash: str, user_id: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM sessions WHERE expires_at <= ?", (iso(now),))
            await db.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (id_hash, user_id, csrf_token, iso(now), iso(expires_at)),
            )

    async def session(self, id_hash: str, now: datetime) -> dict | None:
        """A live session with its user and account, or None."""
        row = await self._one(
            "SELECT s.id_hash, s.csrf_token, s.expires_at, u.id AS user_id, u.name AS user_name, u.email,"
            " a.id AS account_id, a.subdomain, a.name AS account_name FROM sessions s"
            " JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = u.account_id"
            " WHERE s.id_hash = ? AND s.expires_at > ?",
            (id_hash, iso(now)),
        )
        return dict(row) if row else None

    async def delete_session(self, id_hash: str) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    # ---- the handshake ------------------------------------------------------------------------------------

    async def connect_services(
        self,
        *,
        account_id: str,
        vendor_key: str,
        integration_name: str,
        new_names: list[str],
        existing_ids: list[str],
        now: datetime,
    ) -> list[dict]:
        """Create the services named in `new_names` (vendor_key set) and add one integration for the partner app
        to each of them and to each service in `existing_ids`, all in one transaction.

        Returns `{service_id, service_name, integration_id, integration_key}` per service, in order. Raises
        Conflict when a new name is taken or an existing id is not one of the account's services.
        """
        stamp = iso(now)
        made: list[dict] = []
        async with self.transaction() as db:
            targets: list[tuple[str, str]] = []
            for name in new_names:
                async with db.execute(
                    "SELECT 1 FROM services WHERE account_id = ? AND name = ? COLLATE NOCASE", (account_id, name)
                ) as cursor:
                    if await cursor.fetchone():
                        raise Conflict("service_name", f"A service named \u201c{name}\u201d already exists.")
                service_id = ids.short_id()
                await db.execute(
                    "INSERT INTO services (id, account_id, name, description, vendor_key, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (service_id, account_id, name, f"Created for {integration_name}.", vendor_key, stamp, stamp),
                )
                targets.append((service_id, name))
            for service_id in existing_ids:
                async with db.execute(
                    "SELECT id, name FROM services WHERE id = ? AND account_id = ?", (service_id, account_id)
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    raise Conflict("service_id", "That service does not exist in this account.")
                targets.append((row[0], row[1]))
            for service_id, name in targets:
                integration_id, key = ids.short_id(), ids.integration_key()
                await db.execute(
                    "INSERT INTO integrations (id, service_id, integration_key, name, type, vendor_key, created_at)"
                    " VALUES (?, ?, ?, ?, 'generic_events_api_inbound_integration', ?, ?)",
                    (integration_id, service_id, key, integration_name, vendor_key, stamp),
                )
                made.append({"service_id": service_id, "service_name": name,
                             "integration_id": integration_id, "integration_key": key})
        return made

    # ---- the console: services, incidents, the journal ---------------------------------------------------

    async def account_services(self, account_id: str) -> list[dict]:
        """The account's services by name, with how many open incidents and integrations each has."""
        rows = await self._all(
            "SELECT s.id, s.name, s.description, s.status, s.vendor_key, s.created_at,"
            " (SELECT COUNT(*) FROM integrations g WHERE g.service_id = s.id) AS integrations"
            " FROM services s WHERE s.account_id = ? ORDER BY s.name COLLATE NOCASE",
            (account_id,),
        )
        open_counts = dict(await self._all(  # through the (account_id, status, …) index: open rows only
            "SELECT service_id, COUNT(*) FROM incidents WHERE account_id = ?"
            " AND status IN ('triggered', 'acknowledged') GROUP BY service_id",
            (account_id,),
        ))
        return [{**dict(row), "open_incidents": open_counts.get(row["id"], 0)} for row in rows]

    async def service_integrations(self, service_id: str) -> list[dict]:
        rows = await self._all(
            "SELECT g.*, p.name AS vendor_name FROM integrations g LEFT JOIN partner_apps p"
            " ON p.vendor_key = g.vendor_key WHERE g.service_id = ? ORDER BY g.created_at, g.id",
            (service_id,),
        )
        return [dict(row) for row in rows]

    async def incidents_page(
        self,
        account_id: str,
        *,
        statuses: tuple[str, ...] | None = None,
        service_id: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """Incidents newest first (by incident number), `limit` of them below `before` if given."""
        sql = (
            "SELECT i.id, i.incident_number, i.title, i.status, i.urgency, i.created_at, i.service_id,"
            " s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id WHERE i.account_id = ?"
        )
        params: list = [account_id]
        if statuses:
            sql += f" AND i.status IN ({', '.join('?' for _ in statuses)})"
            params += list(statuses)
        if service_id:
            sql += " AND i.service_id = ?"
            params.append(service_id)
        if before is not None:
            sql += " AND i.incident_number < ?"
            params.append(before)
        sql += " ORDER BY i.incident_number DESC LIMIT ?"
        params.append(limit)
        return [dict(row) for row in await self._all(sql, tuple(params))]

    async def incident_alert_bodies(self, incident_id: str) -> list[dict]:
        rows = await self._all("SELECT * FROM alerts WHERE incident_id = ? ORDER BY created_at, id", (incident_id,))
        return [_row(row) for row in rows]

    async def incident_timeline(self, incident_id: str) -> list[dict]:
        rows = await self._all("SELECT * FROM log_entries WHERE incident_id = ? ORDER BY seq", (incident_id,))
        return [_row(row) for row in rows]

    async def service_events(self, service_id: str, limit: int = 20) -> list[dict]:
        rows = await self._all(
            "SELECT id, received_at, api, action, dedup_key, outcome, outcome_detail, response_status, incident_id"
            " FROM events WHERE service_id = ? ORDER BY id DESC LIMIT ?",
            (service_id, limit),
        )
        return [dict(row) for row in rows]

    async def account_journal_event(self, account_id: str, event_id: int) -> dict | None:
        row = await self._one("SELECT * FROM events WHERE id = ? AND account_id = ?", (event_id, account_id))
        return _row(row) if row else None

    # ---- sandbox controls: reset, state, journal, faults, settings, partner apps -------------------------

    async def _tables(self, db: aiosqlite.Connection) -> list[str]:
        async with db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ) as cursor:
            return [name for (name,) in await cursor.fetchall()]

    async def reset(self, *, full: bool) -> dict[str, int]:
        """Wipe activity (journal, incidents, alerts, log entries, change events, webhook deliveries, fault
        rules, sandbox settings), or with `full` every row of every table. Journal ids keep counting up."""
        async with self.transaction() as db:
            tables = await self._tables(db)
            if full:
                await db.execute("PRAGMA defer_foreign_keys = ON")
                wipe = [t for t in ACTIVITY_TABLES if t in tables] + [t for t in tables if t not in ACTIVITY_TABLES]
            else:
                wipe = [t for t in ACTIVITY_TABLES if t in tables]
            deleted = {}
            for table in wipe:  # counted first: deleting incidents cascades to their alerts
                if table in _UNREPORTED:
                    continue
                async with db.execute(f'SELECT COUNT(*) FROM "{table}"') as cursor:
                    (deleted[_REPORTED_AS.get(table, table)],) = await cursor.fetchone()
            for table in wipe:
                await db.execute(f'DELETE FROM "{table}"')
        return deleted

    async def existing_seed_keys(self) -> SeedKeys:
        async with self._snapshot():
            return await self._seed_keys()

    async def _seed_keys(self) -> SeedKeys:
        return SeedKeys(
            vendor_keys=frozenset(r[0] for r in await self._all("SELECT vendor_key FROM partner_apps")),
            accounts={r[0]: r[1] for r in await self._all("SELECT subdomain, id FROM accounts")},
            emails=frozenset(r[0].lower() for r in await self._all("SELECT email FROM users")),
            api_keys=frozenset(r[0] for r in await self._all("SELECT token FROM api_keys")),
            services={(r[0], r[1]): r[2] for r in await self._all("SELECT account_id, name, id FROM services")},
            integration_keys=frozenset(r[0] for r in await self._all("SELECT integration_key FROM integrations")),
        )

    async def last_event_id(self) -> int:
        row = await self._one("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        return row[0] if row else 0

    async def journal(self, query: JournalQuery, *, limit: int, offset: int = 0,
                      newest_first: bool = True) -> tuple[list[dict], int, int]:
        """A page of the journal, how many entries match in all and the last journal id, from one snapshot."""
        where, params = query.where()
        order = "DESC" if newest_first else "ASC"
        async with self._snapshot():
            (total,) = await self._one(f"SELECT COUNT(*) FROM events{where}", params)
            rows = await self._all(f"SELECT * FROM events{where} ORDER BY id {order} LIMIT ? OFFSET ?",
                                   [*params, limit, offset])
            last_id = await self.last_event_id()
        return [journal_event(row) for row in rows], total, last_id

    async def first_journal_match(self, query: JournalQuery) -> dict | None:
        """The oldest journal entry that matches (with `after_id`: the first one after it)."""
        where, params = query.where()
        row = await self._one(f"SELECT * FROM events{where} ORDER BY id ASC LIMIT 1", params)
        return journal_event(row) if row else None

    async def find_incident(self, *, status: str | None = None, incident_key: str | None = None,
                            service_id: str | None = None, incident_number: int | None = None) -> dict | None:
        """The newest incident that matches every filter given."""
        clauses, params = [], []
        for column, value in (("status", status), ("incident_key", incident_key), ("service_id", service_id),
                              ("incident_number", incident_number)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        row = await self._one(f"SELECT * FROM incidents{where} ORDER BY created_at DESC, incident_number DESC"
                              " LIMIT 1", params)
        return _row(row) if row else None

    async def snapshot(self, *, limit: int) -> dict:
        """Everything the sandbox holds, as plain data; incidents and change events capped at `limit` newest."""
        async with self._snapshot():
            return await self._snapshot_in_one_read(limit)

    async def _snapshot_in_one_read(self, limit: int) -> dict:
        accounts = [_row(r) for r in await self._all("SELECT * FROM accounts ORDER BY created_at, id")]
        users = await self._all("SELECT * FROM users ORDER BY created_at, id")
        keys = await self._all("SELECT * FROM api_keys ORDER BY created_at, token")
        services = [_row(r) for r in await self._all("SELECT * FROM services ORDER BY created_at, id")]
        integrations = await self._all("SELECT * FROM integrations ORDER BY created_at, id")
        by_service: dict[str, list] = {}
        for row in integrations:
            by_service.setdefault(row["service_id"], []).append(_row(row))
        for service in services:
            service["integrations"] = by_service.get(service["id"], [])
        for account in accounts:
            account["users"] = [_row(u, drop=("password_hash",)) for u in users if u["account_id"] == account["id"]]
            account["api_keys"] = [_row(k) for k in keys if k["account_id"] == account["id"]]
            account["services"] = [s for s in services if s["account_id"] == account["id"]]

        latest = "SELECT id FROM incidents ORDER BY created_at DESC, incident_number DESC LIMIT ?"
        incidents = [_row(r) for r in await self._all(
            f"SELECT * FROM incidents WHERE id IN ({latest}) ORDER BY created_at DESC, incident_number DESC",
            (limit,))]
        alerts: dict[str, list] = {}
        for row in await self._all(f"SELECT * FROM alerts WHERE incident_id IN ({latest}) ORDER BY created_at",
                                   (limit,)):
            alerts.setdefault(row["incident_id"], []).append(_row(row))
        log_entries: dict[str, list] = {}
        for row in await self._all(
            f"SELECT * FROM log_entries WHERE incident_id IN ({latest}) ORDER BY incident_id, seq", (limit,)
        ):
            log_entries.setdefault(row["incident_id"], []).append(_row(row))
        for incident in incidents:
            incident["alerts"] = alerts.get(incident["id"], [])
            incident["log_entries"] = log_entries.get(incident["id"], [])
        (incident_count,) = await self._one("SELECT COUNT(*) FROM incidents")
        change_events = [_row(r) for r in await self._all(
            "SELECT * FROM change_events ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))]
        (change_count,) = await self._one("SELECT COUNT(*) FROM change_events")
        (journal_count,) = await self._one("SELECT COUNT(*) FROM events")
        webhooks: dict[str, Any] = {"subscriptions": [], "deliveries": [], "delivery_count": 0}
        tables = {r[0] for r in await self._all("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "webhook_subscriptions" in tables:
            webhooks["subscriptions"] = [_row(r) for r in await self._all(
                "SELECT * FROM webhook_subscriptions ORDER BY created_at, id")]
        if "webhook_deliveries" in tables:
            webhooks["deliveries"] = [_row(r) for r in await self._all(
                "SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT ?", (limit,))]
            (webhooks["delivery_count"],) = await self._one("SELECT COUNT(*) FROM webhook_deliveries")
        return {
            "accounts": accounts,
            "partner_apps": await self.partner_apps(),
            "incidents": incidents,
            "incident_count": incident_count,
            "change_events": change_events,
            "change_event_count": change_count,
            "journal": {"count": journal_count, "last_event_id": await self.last_event_id()},
            "webhooks": webhooks,
        }

    # fault rules

    async def fault_rules(self) -> list[FaultRule]:
        rows = await self._all("SELECT * FROM sandbox_faults ORDER BY position")
        return [FaultRule.restore(r["id"], json.loads(r["rule"]), fired=r["fired"], created_at=r["created_at"])
                for r in rows]

    async def replace_fault_rules(self, rules: list[FaultRule]) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM sandbox_faults")
            for position, rule in enumerate(rules):
                await db.execute(
                    "INSERT INTO sandbox_faults (id, position, rule, fired, created_at) VALUES (?, ?, ?, ?, ?)",
                    (rule.id, position, _dumps(rule.definition()), rule.fired, rule.created_at),
                )

    async def add_fault_rule(self, rule: FaultRule) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO sandbox_faults (id, position, rule, fired, created_at) VALUES"
                " (?, (SELECT COALESCE(MAX(position), -1) + 1 FROM sandbox_faults), ?, ?, ?)",
                (rule.id, _dumps(rule.definition()), rule.fired, rule.created_at),
            )

    async def delete_fault_rule(self, rule_id: str) -> int:
        async with self.transaction() as db:
            cursor = await db.execute("DELETE FROM sandbox_faults WHERE id = ?", (rule_id,))
            return cursor.rowcount

    # sandbox settings (JSON values by name)

    async def sandbox_setting(self, name: str) -> Any:
        row = await self._one("SELECT value FROM sandbox_settings WHERE name = ?", (name,))
        return json.loads(row[0]) if row else None

    async def put_sandbox_setting(self, name: str, value: Any) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO sandbox_settings (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, _dumps(value)),
            )

    # partner apps

    async def partner_apps(self) -> list[dict]:
        return [_row(r) for r in await self._all("SELECT * FROM partner_apps ORDER BY created_at, vendor_key")]

    async def partner_app(self, vendor_key: str) -> dict | None:
        row = await self._one("SELECT * FROM partner_apps WHERE vendor_key = ?", (vendor_key,))
        return _row(row) if row else None

    async def partner_app_by_app_id(self, app_id: str) -> dict | None:
        row = await self._one("SELECT * FROM partner_apps WHERE app_id = ?", (app_id,))
        return _row(row) if row else None

    async def delete_partner_app(self, vendor_key: str) -> int:
        async with self.transaction() as db:
            cursor = await db.execute("DELETE FROM partner_apps WHERE vendor_key = ?", (vendor_key,))
            return cursor.rowcount

    # ---- webhooks v3: subscriptions and durable deliveries -------------------------------------------------

    async def create_webhook_subscription(
        self,
        *,
        id: str,
        account_id: str,
        description: str,
        active: bool,
        events: list[str],
        filter_type: str,
        filter_id: str,
        delivery_method_id: str,
        url: str,
        secret: str,
        custom_headers: list[dict],
        now: datetime,
    ) -> dict:
        stamp = iso(now)
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO webhook_subscriptions (id, account_id, description, active, events, filter_type,"
                " filter_id, delivery_method_id, url, secret, custom_headers, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (id, account_id, description, int(active), _dumps(events), filter_type, filter_id,
                 delivery_method_id, url, secret, _dumps(custom_headers), stamp, stamp),
            )
            async with db.execute("SELECT * FROM webhook_subscriptions WHERE id = ?", (id,)) as cursor:
                return dict(await cursor.fetchone())

    async def list_webhook_subscriptions(
        self, account_id: str, *, limit: int, offset: int, filter_type: str | None = None,
        filter_id: str | None = None,
    ) -> tuple[list[dict], int]:
        """One page of an account's subscriptions (oldest first), and how many there are in all."""
        where, params = ["account_id = ?"], [account_id]
        if filter_type:
            where.append("filter_type = ?")
            params.append(filter_type)
        if filter_id:
            where.append("filter_id = ?")
            params.append(filter_id)
        clause = " AND ".join(where)
        (total,) = await self._one(f"SELECT COUNT(*) FROM webhook_subscriptions WHERE {clause}", tuple(params))
        rows = await self._all(
            f"SELECT * FROM webhook_subscriptions WHERE {clause} ORDER BY created_at, rowid LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [dict(r) for r in rows], total

    async def webhook_subscription(self, account_id: str, id: str) -> dict | None:
        row = await self._one("SELECT * FROM webhook_subscriptions WHERE id = ? AND account_id = ?", (id, account_id))
        return dict(row) if row else None

    async def update_webhook_subscription(self, account_id: str, id: str, changes: dict, now: datetime) -> dict | None:
        """Change any of description, events, filter_type/filter_id, active; the updated row, or None."""
        columns = {k: v for k, v in changes.items() if k in ("description", "events", "filter_type", "filter_id",
                                                               "active")}
        if "events" in columns:
            columns["events"] = _dumps(columns["events"])
        if "active" in columns:
            columns["active"] = int(columns["active"])
        async with self.transaction() as db:
            assignments = "".join(f"{name} = ?, " for name in columns)
            cursor = await db.execute(
                f"UPDATE webhook_subscriptions SET {assignments}updated_at = ? WHERE id = ? AND account_id = ?",
                (*columns.values(), iso(now), id, account_id),
            )
            if cursor.rowcount == 0:
                return None
            async with db.execute("SELECT * FROM webhook_subscriptions WHERE id = ?", (id,)) as cursor:
                return dict(await cursor.fetchone())

    async def delete_webhook_subscription(self, account_id: str, id: str, now: datetime) -> bool:
        """Delete a subscription; its pending deliveries fail (nothing more is sent to it)."""
        stamp = iso(now)
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM webhook_subscriptions WHERE id = ? AND account_id = ?", (id, account_id)
            )
            if cursor.rowcount == 0:
                return False
            await db.execute(
                "UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscription deleted',"
                " updated_at = ? WHERE subscription_id = ? AND status = 'pending'",
                (stamp, id),
            )
            return True

    async def webhook_event_context(self, incident_id: str, log_entry_type: str, first: bool = False) -> dict | None:
        """What an incident event's body is made of: the incident row (plus `service_name`) and the log entry
        that recorded the change (the first of its type when `first`, else the latest), or None."""
        incident = await self._one(
            "SELECT i.*, s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            " WHERE i.id = ?",
            (incident_id,),
        )
        if incident is None:
            return None
        order = "ASC" if first else "DESC"
        entry = await self._one(
            f"SELECT agent, channel, created_at FROM log_entries WHERE incident_id = ? AND type = ?"
            f" ORDER BY seq {order} LIMIT 1",
            (incident_id, log_entry_type),
        )
        return {
            "incident": dict(incident),
            "log_entry": (
                {"agent": json.loads(entry["agent"]), "channel": json.loads(entry["channel"]),
                 "created_at": entry["created_at"]}
                if entry else None
            ),
        }

    async def webhook_targets(self, incident_ids: list[str]) -> dict[str, list[dict]]:
        """Where events on these incidents may go, in one query: per incident, the account's active
        subscriptions (filtered on the incident's service or on the account), oldest first, then the partner
        app that owns the service, if it has a webhook URL. Each: target, subscription_id, vendor_key, label
        (the X-Webhook-Subscription value), url, secret, custom_headers, service_id, and `events` (the event
        types a subscription takes; None for a partner app, which takes every type)."""
        if not incident_ids or not await self._any_webhook_targets():
            return {}
        unique = list(dict.fromkeys(incident_ids))
        marks = ", ".join("?" * len(unique))
        rows = await self._all(
            "SELECT i.id AS incident_id, 0 AS kind, w.created_at AS created_at, w.rowid AS n,"
            " 'subscription:' || w.id AS target, w.id AS subscription_id, NULL AS vendor_key, w.id AS label,"
            " w.url AS url, w.secret AS secret, w.custom_headers AS custom_headers, i.service_id AS service_id,"
            " w.events AS events"
            " FROM incidents i JOIN webhook_subscriptions w ON w.account_id = i.account_id AND w.active = 1"
            " AND ((w.filter_type = 'service_reference' AND w.filter_id = i.service_id)"
            " OR w.filter_type = 'account_reference')"
            f" WHERE i.id IN ({marks})"
            " UNION ALL"
            " SELECT i.id, 1, '', 0, 'partner_app:' || p.vendor_key, NULL, p.vendor_key, p.app_id, p.webhook_url,"
            " COALESCE(p.webhook_secret, ''), '[]', i.service_id, NULL"
            " FROM incidents i JOIN services s ON s.id = i.service_id JOIN partner_apps p ON p.vendor_key = s.vendor_key"
            f" WHERE i.id IN ({marks}) AND COALESCE(p.webhook_url, '') != ''"
            " ORDER BY incident_id, kind, created_at, n",
            (*unique, *unique),
        )
        targets: dict[str, list[dict]] = {}
        for row in rows:
            target = {k: row[k] for k in ("target", "subscription_id", "vendor_key", "label", "url", "secret",
                                           "service_id")}
            target["custom_headers"] = json.loads(row["custom_headers"])
            target["events"] = json.loads(row["events"]) if row["events"] is not None else None
            targets.setdefault(row["incident_id"], []).append(target)
        return targets

    def known_without_webhook_targets(self) -> bool:
        """True when the last look found no webhook target and nothing was written since: changes then need
        no delivery rows, and the webhook writer need not even wake up."""
        known = self._webhook_targets_exist
        return known is not None and known[0] == self._writes and not known[1]

    async def _any_webhook_targets(self) -> bool:
        """Whether any active subscription exists, or any service of a partner app with a webhook URL;
        re-read only after a write (events never change them), so that events on a sandbox without
        webhooks cost no query."""
        writes = self._writes
        if self._webhook_targets_exist is None or self._webhook_targets_exist[0] != writes:
            row = await self._one(_ANY_WEBHOOK_TARGETS)
            self._webhook_targets_exist = (writes, bool(row[0]))
        return self._webhook_targets_exist[1]

    async def pending_webhook_changes(self, limit: int) -> list[tuple[int, IncidentChange]]:
        """The oldest incident changes not yet turned into webhook deliveries, with their row ids."""
        rows = await self._all("SELECT id, account_id, incident_id, event_type FROM webhook_changes ORDER BY id"
                               " LIMIT ?", (limit,))
        return [(row[0], IncidentChange(row[1], row[2], row[3])) for row in rows]

    async def add_webhook_deliveries(self, deliveries: list[dict], now: datetime,
                                     done_changes: tuple[int, ...] | list[int] = ()) -> None:
        """Queue deliveries (each: webhook_id, event_id, event_type, account_id, service_id, incident_id, target,
        subscription_id, vendor_key, url, headers, body), due now, in one short transaction — the one that also
        deletes the `webhook_changes` rows they were made for, so each change gets its deliveries once."""
        if not deliveries and not done_changes:
            return
        stamp = iso(now)
        async with self.transaction() as db:
            if done_changes:
                await db.executemany("DELETE FROM webhook_changes WHERE id = ?", [(i,) for i in done_changes])
            await db.executemany(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, account_id, service_id,"
                " incident_id, target, subscription_id, vendor_key, url, headers, body, status, attempts,"
                " next_attempt_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                [
                    (d["webhook_id"], d["event_id"], d["event_type"], d["account_id"], d["service_id"],
                     d["incident_id"], d["target"], d["subscription_id"], d["vendor_key"], d["url"],
                     _dumps(d["headers"]), d["body"], stamp, stamp, stamp)
                    for d in deliveries
                ],
            )

    @staticmethod
    def _delivery(row: aiosqlite.Row) -> dict:
        delivery = dict(row)
        delivery["headers"] = json.loads(delivery["headers"])
        return delivery

    async def due_webhook_deliveries(self, now: datetime, limit: int = 20) -> list[dict]:
        """Pending deliveries whose time has come and that are first in line for their incident and target
        (a later event never overtakes an earlier one that is still being retried)."""
        rows = await self._all(
            "SELECT * FROM webhook_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending'"
            " AND e.incident_id = d.incident_id AND e.target = d.target AND e.id < d.id)"
            " ORDER BY d.id LIMIT ?",
            (iso(now), limit),
        )
        return [self._delivery(r) for r in rows]

    async def next_webhook_attempt_at(self) -> str | None:
        """When the next delivery that is first in line falls due, or None when nothing is pending."""
        row = await self._one(
            "SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d WHERE d.status = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending'"
            " AND e.incident_id = d.incident_id AND e.target = d.target AND e.id < d.id)"
        )
        return row[0] if row else None

    async def record_webhook_attempt(
        self,
        id: int,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
        now: datetime,
    ) -> None:
        """Record one attempt: `delivered`, `failed` (no more attempts), or `pending` again (retry later)."""
        stamp = iso(now)
        async with self.transaction() as db:
            await db.execute(
                "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_status_code = ?,"
                " last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at),"
                " delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, updated_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, status_code, error, iso(next_attempt_at) if next_attempt_at else None, status, stamp,
                 stamp, id),
            )

    async def list_webhook_deliveries(self, service_id: str, limit: int = 20) -> list[dict]:
        """A service's most recent webhook deliveries, newest first (for the service page)."""
        rows = await self._all(
            "SELECT * FROM webhook_deliveries WHERE service_id = ? ORDER BY id DESC LIMIT ?", (service_id, limit)
        )
        return [self._delivery(r) for r in rows]

    async def webhook_deliveries_for_subscription(self, subscription_id: str, limit: int = 20) -> list[dict]:
        """A subscription's most recent deliveries (pings included), newest first."""
        rows = await self._all(
            "SELECT * FROM webhook_deliveries WHERE subscription_id = ? ORDER BY id DESC LIMIT ?",
            (subscription_id, limit),
        )
        return [self._delivery(r) for r in rows]

    async def webhook_deliveries_for_incident(self, incident_id: str) -> list[dict]:
        """An incident's webhook deliveries, in the order they were made."""
        rows = await self._all("SELECT * FROM webhook_deliveries WHERE incident_id = ? ORDER BY id", (incident_id,))
        return [self._delivery(r) for r in rows]

    # ---- back to the seeded rows in one statement batch (added for the pytest fixtures' reset, issue 13) --
    # `fake_pagerduty/reset.py` takes `seeded_rows()` once, right after seeding, and puts them back with
    # `restore_rows()` on every full reset: a fraction of a millisecond, where deleting every table and
    # seeding again row by row takes several.

    async def seeded_rows(self) -> tuple[tuple[str, ...], str]:
        """Every table's name, and every row as `INSERT` statements, for `restore_rows` to put back."""

        def literal(value: Any) -> str:
            if value is None:
                return "NULL"
            if isinstance(value, bytes):
                return f"X'{value.hex()}'"
            if isinstance(value, int | float):
                return repr(value)
            return "'" + str(value).replace("'", "''") + "'"

        tables = tuple(name for (name,) in await self._all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"))
        inserts = []
        for table in tables:
            rows = await self._all(f'SELECT * FROM "{table}" ORDER BY rowid')
            if rows:
                inserts.append(f'INSERT INTO "{table}" VALUES '
                               + ", ".join("(" + ", ".join(map(literal, row)) + ")" for row in rows) + ";")
        return tables, "\n".join(inserts)

    async def restore_rows(self, seeded: tuple[tuple[str, ...], str], *, restart_ids: bool,
                           count: bool = False) -> dict[str, int]:
        """Empty every table and insert the rows `seeded_rows` saw, in one transaction run as one script (one
        trip to the writer's thread). Foreign keys are off meanwhile (the rows put back are the consistent
        set they were), so each DELETE empties its table at once. With `restart_ids`, AUTOINCREMENT ids (the
        journal's) start from 1 again, as in a new database; else they keep counting. With `count`, returns
        how many rows each table held."""
        tables, inserts = seeded
        self._writes_waiting += 1  # as `transaction()`: the events writer's turn ends soon
        try:
            await self._lock.acquire()
        finally:
            self._writes_waiting -= 1
        try:
            deleted: dict[str, int] = {}
            if count:  # under the write lock: nothing changes between the count and the restore
                counts = await self._one("SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{t}")' for t in tables))
                deleted = {_REPORTED_AS.get(t, t): n for t, n in zip(tables, counts, strict=True)}
            script = "\n".join(["PRAGMA foreign_keys = OFF;", "BEGIN IMMEDIATE;",
                                *(f'DELETE FROM "{table}";' for table in tables), inserts,
                                "DELETE FROM sqlite_sequence;" if restart_ids else "", "COMMIT;"])
            try:
                await self._writer.executescript(script)  # not `transaction()`: executescript commits first
            except BaseException:
                if self._writer.in_transaction:
                    await self._writer.execute("ROLLBACK")
                raise
            finally:
                await self._writer.execute("PRAGMA foreign_keys = ON")
            self._writes += 1  # what `transaction()` counts: a cached "no webhook targets" is stale now
        finally:
            self._lock.release()
        return deleted


# ---- the event path, run on the events thread inside a group-commit batch --------------------------------

MAX_BATCH = 256
MAX_WRITER_RESTARTS = 3
SPLIT_FROM = 8  # events queued with nothing in flight: from this many, they go as two batches
MIN_FOLLOWING = 4  # events queued before a second batch goes while one is in flight (small batches cost more)
IN_FLIGHT = 2  # batches sent to the writer process and not yet answered: it starts the next as it ends one
MAX_BATCHES_PER_TURN = 16  # at least, before the events writer gives the write lock to another write waiting
CHECKPOINT_SECONDS = 1.0
CHECKPOINT_PASSES = 4  # at most, in a row, while each finds more than CHECKPOINT_LEFT_FRAMES new frames
CHECKPOINT_LEFT_FRAMES = 256  # 1 MB: little enough for the events writer to copy between two batches

_INSERT_JOURNAL = (
    "INSERT INTO events (received_at, api, method, path, content_type, raw_body, routing_key, dedup_key,"
    " action, response_status, response_body, outcome, outcome_detail, account_id, service_id,"
    " incident_id, alert_id, warnings, fault_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_COUNT_FAULT_FIRED = "UPDATE sandbox_faults SET fired = fired + 1 WHERE id = ?"
_INSERT_LOG = (
    "INSERT INTO log_entries (id, seq, account_id, incident_id, alert_id, type, summary, agent, channel,"
    " event_id, created_at) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM log_entries"
    " WHERE incident_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _journal_params(entry: JournalEntry) -> tuple:
    return (entry.received_at, entry.api, entry.method, entry.path, entry.content_type, entry.raw_body,
            entry.routing_key, entry.dedup_key, entry.action, entry.response_status, entry.response_body,
            entry.outcome, entry.outcome_detail, entry.account_id, entry.service_id, entry.incident_id,
            entry.alert_id, _dumps(entry.warnings) if entry.warnings else "[]", entry.fault_id)


def _log_params(account_id: str, incident_id: str, alert_id: str | None, type: str, summary: str, agent_json: str,
                channel: dict, event_id: int | None, stamp: str) -> tuple:
    return (ids.log_entry_id(), incident_id, account_id, incident_id, alert_id, type, summary, agent_json,
            _dumps(channel), event_id, stamp)


# ---- incident transitions: the one set of statements every path uses (Events API, REST, console, timeouts) --


def _acknowledge_statements(incident_id: str, agent: dict, stamp: str,
                            ack_timeout_at: datetime | None) -> list[tuple[str, tuple]]:
    """Acknowledge: the status and who changed it move only when the status does (acknowledging again adds an
    acknowledgement and starts the acknowledgement timeout again, as at PagerDuty, but the incident's
    `last_status_change_at`/`_by` stay those of the first acknowledgement)."""
    return [(
        "UPDATE incidents SET status = 'acknowledged', updated_at = ?,"
        " last_status_change_at = CASE WHEN status = 'acknowledged' THEN last_status_change_at ELSE ? END,"
        " last_status_change_by = CASE WHEN status = 'acknowledged' THEN last_status_change_by ELSE ? END,"
        " ack_timeout_at = ?, acknowledgements = json_insert(acknowledgements, '$[#]', json(?)) WHERE id = ?",
        (stamp, stamp, _dumps(agent), iso(ack_timeout_at) if ack_timeout_at else None,
         _dumps({"at": stamp, "acknowledger": agent}), incident_id),
    )]


def _resolve_statements(incident_id: str, agent_json: str, stamp: str) -> list[tuple[str, tuple]]:
    """Resolve the incident and every alert of it still open."""
    return [
        ("UPDATE incidents SET status = 'resolved', updated_at = ?, last_status_change_at = ?, resolved_at = ?,"
         " last_status_change_by = ?, ack_timeout_at = NULL, auto_resolve_at = NULL WHERE id = ?",
         (stamp, stamp, stamp, agent_json, incident_id)),
        ("UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE incident_id = ? AND status != 'resolved'",
         (stamp, incident_id)),
    ]


def _unacknowledge_statements(incident_id: str, agent_json: str, stamp: str) -> list[tuple[str, tuple]]:
    """Back to triggered (the acknowledgement timeout ran out)."""
    return [(
        "UPDATE incidents SET status = 'triggered', updated_at = ?, last_status_change_at = ?,"
        " last_status_change_by = ?, ack_timeout_at = NULL, acknowledgements = '[]' WHERE id = ?",
        (stamp, stamp, agent_json, incident_id),
    )]


_ANY_WEBHOOK_TARGETS = ("SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active = 1)"
                        " OR EXISTS (SELECT 1 FROM services s JOIN partner_apps p ON p.vendor_key = s.vendor_key"
                        " WHERE COALESCE(p.webhook_url, '') != '')")
_INSERT_WEBHOOK_CHANGE = ("INSERT INTO webhook_changes (account_id, incident_id, event_type, created_at)"
                          " VALUES (?, ?, ?, ?)")


def _webhook_change_rows(changes: list[IncidentChange], stamp: str) -> list[tuple]:
    return [(c.account_id, c.incident_id, c.event_type, stamp) for c in changes
            if c.event_type in webhook_rules.EMITTED_EVENT_TYPES]


class _EventsConnection(sqlite3.Connection):
    """The events writer's connection, and what it remembers between batches: integrations by routing key,
    each account's next incident number, and agents (`_agent`). They stay true while no other connection
    commits (events themselves change neither integrations nor, except through this connection, incident
    numbers), so each batch first compares `PRAGMA data_version`, which moves when another connection
    commits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_version: int | None = None
        self.integrations: dict[str, sqlite3.Row] = {}
        self.next_incident_number: dict[str, int] = {}
        self.agents: dict[tuple[str, str | None], tuple[dict, str]] = {}  # see `_agent`
        self._webhook_targets: bool | None = None

    def begin_batch(self) -> None:
        """BEGIN IMMEDIATE, forgetting what another connection may have changed since the last batch."""
        self.execute("BEGIN IMMEDIATE")
        (version,) = self.execute("PRAGMA data_version").fetchone()
        if version != self.data_version:
            self.forget()
            self.data_version = version

    def forget(self) -> None:
        self.integrations.clear()
        self.next_incident_number.clear()
        self.agents.clear()
        self._webhook_targets = None

    def webhook_targets_exist(self) -> bool:
        """Whether any webhook may be sent (see `Store._any_webhook_targets`): only then are an event's
        changes recorded for webhooks. Subscriptions and partner apps change only through other connections."""
        if self._webhook_targets is None:
            (self._webhook_targets,) = self.execute(_ANY_WEBHOOK_TARGETS).fetchone()
        return bool(self._webhook_targets)


def connect_events(path: str) -> _EventsConnection:
    """The events writer's connection; it lives on (and is only used from) the events thread or process."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=_EventsConnection)
    conn.row_factory = sqlite3.Row
    for pragma in ("synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000", "wal_autocheckpoint=0",
                   "cache_size=-16000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _connect_checkpointer(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Only `shrink_wal` waits for a lock (PASSIVE never does): it waits for the writers and blocks new ones
    # while it waits, so it gives up quickly and tries again after the next quiet interval.
    conn.execute("PRAGMA busy_timeout=50")
    return conn


def copy_wal(conn: sqlite3.Connection) -> bool:
    """The checkpointer's passes: copy the WAL into the database, beside the events writer (PASSIVE), pass
    after pass while each finds many new frames. True when little is left for `finish_checkpoint`."""
    copied = None
    for _ in range(CHECKPOINT_PASSES):
        busy, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy or frames < 0:
            return False
        if copied is not None and frames - copied <= CHECKPOINT_LEFT_FRAMES:
            return True
        copied = frames
    return False  # events come faster than this disk copies them: the writer is not held up for it


def finish_checkpoint(conn: sqlite3.Connection) -> None:
    """On the events connection, between two batches: copy what was committed since the checkpointer's
    passes, so that the next batch finds the whole WAL copied and SQLite writes it again from its
    beginning. Takes a millisecond or a few, against a WAL that otherwise grows for as long as events come.
    A failure here loses nothing (the WAL still holds every frame); it is logged and the writer goes on."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        logger.exception("checkpointing the WAL failed")


def shrink_wal(conn: sqlite3.Connection) -> bool:
    """After an interval without events: copy the rest of the WAL and truncate it to nothing (the disk it
    held is given back). False if a reader or writer was busy: the caller tries again later."""
    (busy, _, _) = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


def apply_batch(conn: _EventsConnection, writes: list[Write]) -> list[tuple]:
    """Apply writes in order in one transaction; [(ok, result or exception)].

    First without a savepoint per write (a savepoint and its release cost about as much as an insert); if any
    write fails, that attempt is rolled back whole and the batch applied again with each write in a savepoint
    of its own, so that the failing write is rolled back alone and spoils nothing else."""
    conn.begin_batch()
    try:
        try:
            results = [(True, write(conn, *args)) for write, *args in writes]
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.forget()  # incident numbers handed out by the rolled-back attempt
            conn.begin_batch()
            results = [_apply_in_savepoint(conn, write) for write in writes]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.forget()
        raise
    return results


def _apply_in_savepoint(conn: _EventsConnection, write: Write) -> tuple:
    conn.execute("SAVEPOINT event")
    try:
        value = write[0](conn, *write[1:])
    except Exception as exc:
        conn.execute("ROLLBACK TO event")
        conn.execute("RELEASE event")
        conn.forget()  # any incident number it took is free again
        return False, exc
    conn.execute("RELEASE event")
    return True, value


def _answer(batch: list[tuple[Write, asyncio.Future]], results: list[tuple]) -> None:
    """On the loop: tell each caller of a batch how its write went."""
    for (_, future), (ok, value) in zip(batch, results, strict=True):
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)


def _journal_sync(conn: sqlite3.Connection, entry: JournalEntry) -> int:
    journal_id = conn.execute(_INSERT_JOURNAL, _journal_params(entry)).lastrowid
    if entry.fault_id:
        conn.execute(_COUNT_FAULT_FIRED, (entry.fault_id,))
    return journal_id


def _log_sync(conn: sqlite3.Connection, *args: Any) -> None:
    conn.execute(_INSERT_LOG, _log_params(*args))


def _integration_sync(conn: _EventsConnection, key: str) -> sqlite3.Row | None:
    row = conn.integrations.get(key)
    if row is None:
        row = conn.execute(
            "SELECT i.id, i.service_id, i.type, s.account_id, s.urgency_rule, s.acknowledgement_timeout,"
            " s.auto_resolve_timeout FROM integrations i JOIN services s ON s.id = i.service_id"
            " WHERE i.integration_key = ?",
            (key,),
        ).fetchone()
        if row is not None:  # unknown keys are not remembered: anyone can send any number of them
            conn.integrations[key] = row
    return row


def _agent(conn: _EventsConnection, integration: sqlite3.Row, client: str | None) -> tuple[dict, str]:
    """Who did it, for incidents and log entries — the integration, named after the event's client — and its
    JSON, each made once per integration and client."""
    key = (integration["id"], client)
    known = conn.agents.get(key)
    if known is None:
        if len(conn.agents) >= 256:  # clients are whatever senders write
            conn.agents.clear()
        agent = {"id": integration["id"], "type": f"{integration['type']}_reference", "summary": client or "Events API"}
        known = conn.agents[key] = (agent, _dumps(agent))
    return known


def _apply_alert_sync(conn: _EventsConnection, event: AlertEvent, entry: JournalEntry, now: datetime) -> EventResult:
    """A valid trigger/acknowledge/resolve: its effect on alerts and incidents, its journal row, its log entry."""
    stamp = iso(now)
    integration = _integration_sync(conn, event.routing_key)
    if integration is None:
        entry.outcome, entry.outcome_detail = lifecycle.DROPPED, "unknown integration key"
        return EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)
    account_id = integration["account_id"]
    entry.account_id, entry.service_id = account_id, integration["service_id"]
    row = conn.execute(
        "SELECT a.id, a.incident_id, i.status FROM alerts a JOIN incidents i ON i.id = a.incident_id"
        " WHERE a.integration_id = ? AND a.alert_key = ? AND a.status != 'resolved'",
        (integration["id"], event.dedup_key),
    ).fetchone()
    open_alert = lifecycle.OpenAlert(row[0], row[1], row[2]) if row else None
    decision = lifecycle.decide(event, open_alert)
    agent, agent_json = _agent(conn, integration, event.client)
    channel = {"type": "api", "api": event.api, "summary": event.summary, "details": event.custom_details,
               "client": event.client, "client_url": event.client_url}
    changes: list[IncidentChange] = []
    incident_id = open_alert.incident_id if open_alert else None
    entry.outcome, entry.outcome_detail = decision.outcome, decision.reason

    if decision.outcome == lifecycle.CREATED:
        incident_id, alert_id = ids.long_id(), ids.long_id()
        number = conn.next_incident_number.get(account_id)
        if number is None:
            (number,) = conn.execute(
                "SELECT COALESCE(MAX(incident_number), 0) + 1 FROM incidents WHERE account_id = ?", (account_id,)
            ).fetchone()
        conn.next_incident_number[account_id] = number + 1
        auto_resolve_at = lifecycle.deadline(now, integration["auto_resolve_timeout"])
        conn.execute(
            "INSERT INTO incidents (id, account_id, service_id, incident_number, title, status, urgency,"
            " incident_key, created_at, updated_at, last_status_change_at, last_status_change_by,"
            " auto_resolve_at) VALUES (?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?, ?, ?, ?)",
            (incident_id, account_id, integration["service_id"], number, event.summary,
             lifecycle.urgency(integration["urgency_rule"], event.severity), event.dedup_key,
             stamp, stamp, stamp, agent_json, iso(auto_resolve_at) if auto_resolve_at else None),
        )
        conn.execute(
            "INSERT INTO alerts (id, account_id, service_id, integration_id, incident_id, alert_key,"
            " status, severity, summary, body, created_at) VALUES (?, ?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?)",
            (alert_id, account_id, integration["service_id"], integration["id"],
             incident_id, event.dedup_key, event.severity, event.summary, _dumps(event.alert_body()), stamp),
        )
        entry.alert_id = alert_id
        entry.outcome_detail = f"created incident {incident_id} (#{number})"
        changes.append(IncidentChange(account_id, incident_id, "incident.triggered"))
        log_type, log_summary = "trigger_log_entry", f"Triggered through the API ({event.api})."
    elif decision.outcome == lifecycle.DEDUPLICATED:
        entry.alert_id = open_alert.alert_id
        entry.outcome_detail = f"deduplicated into incident {incident_id}"
        log_type, log_summary = "trigger_log_entry", f"Triggered through the API ({event.api}), deduplicated."
    elif decision.outcome == lifecycle.ACKNOWLEDGED:
        entry.alert_id = open_alert.alert_id
        entry.outcome_detail = f"acknowledged incident {incident_id}"
        for sql, params in _acknowledge_statements(
                incident_id, agent, stamp, lifecycle.deadline(now, integration["acknowledgement_timeout"])):
            conn.execute(sql, params)
        if open_alert.incident_status != "acknowledged":
            changes.append(IncidentChange(account_id, incident_id, "incident.acknowledged"))
        log_type, log_summary = "acknowledge_log_entry", f"Acknowledged through the API ({event.api})."
    elif decision.outcome == lifecycle.RESOLVED:
        entry.alert_id = open_alert.alert_id
        entry.outcome_detail = f"resolved incident {incident_id}"
        for sql, params in _resolve_statements(incident_id, agent_json, stamp):
            conn.execute(sql, params)
        changes.append(IncidentChange(account_id, incident_id, "incident.resolved"))
        log_type, log_summary = "resolve_log_entry", f"Resolved through the API ({event.api})."
    else:
        return EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)

    entry.incident_id = incident_id
    journal_id = _journal_sync(conn, entry)
    _log_sync(conn, account_id, incident_id, entry.alert_id, log_type, log_summary, agent_json,
              {**channel, "event_id": journal_id}, journal_id, stamp)
    if changes and conn.webhook_targets_exist():
        conn.executemany(_INSERT_WEBHOOK_CHANGE, _webhook_change_rows(changes, stamp))
    return EventResult(journal_id, entry.outcome, entry.outcome_detail, incident_id, changes)


def _apply_request_sync(conn: _EventsConnection, api: str, entry: JournalEntry, now: datetime) -> EventResult:
    """One Events API request: `event_requests.decide` (parse, validate, word the answer), then the event's
    effect and journal row — or the journal row alone, for a refusal."""
    decision = event_requests.decide(event_requests.SURFACES[api], entry.raw_body)
    entry.routing_key, entry.dedup_key, entry.action = decision.routing_key, decision.dedup_key, decision.action
    entry.response_status, entry.response_body = decision.status, decision.body
    if decision.event is None:
        entry.outcome, entry.outcome_detail = lifecycle.REJECTED, decision.detail
        result = EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)
    elif isinstance(decision.event, AlertEvent):
        result = _apply_alert_sync(conn, decision.event, entry, now)
    else:
        result = _apply_change_sync(conn, decision.event, entry, now)
    result.response_status, result.response_body, result.dedup_key = decision.status, decision.body, entry.dedup_key
    return result


def _apply_change_sync(conn: _EventsConnection, event: ChangeEvent, entry: JournalEntry,
                       now: datetime) -> EventResult:
    integration = _integration_sync(conn, event.routing_key)
    if integration is None:
        entry.outcome, entry.outcome_detail = lifecycle.DROPPED, "unknown integration key"
        return EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)
    entry.account_id, entry.service_id = integration["account_id"], integration["service_id"]
    change_id = ids.long_id()
    entry.outcome, entry.outcome_detail = lifecycle.RECORDED, f"recorded change event {change_id}"
    journal_id = _journal_sync(conn, entry)
    conn.execute(
        "INSERT INTO change_events (id, account_id, service_id, integration_id, summary, source, timestamp,"
        " custom_details, links, images, event_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (change_id, integration["account_id"], integration["service_id"], integration["id"], event.summary,
         event.source, event.timestamp or iso(now), _dumps(event.custom_details or {}),
         _dumps(event.links), _dumps(event.images), journal_id, iso(now)),
    )
    return EventResult(journal_id, entry.outcome, entry.outcome_detail)
