"""The database itself: connections, pragmas, `:memory:`, migrations, the write transaction, reads that see
every write answered before them, one row codec, and the small WHERE builder every list uses.

One writer connection behind an asyncio lock (short `BEGIN IMMEDIATE` transactions, so no client ever sees
"database is locked"), and a small pool of reader connections; WAL lets them work side by side. The Events
API's writes go through the events writer (`events_writer.py`), which takes the same lock. `:memory:` uses a
private temporary file, deleted on close, so every connection sees the same database.

Reads. Every read that starts after a write was answered must see it, however many clients read at once. In
SQLite a read sees the database as of the moment its transaction began, and on a connection in autocommit
mode that transaction lasts while ANY statement of the connection is still running: one reader connection
shared by concurrent requests almost always had some statement open, so its snapshot could stay older than
writes already answered (docs/benchmarks.md, sixth pass, has the figures). So each read has a
connection of its own for as long as it runs, taken from the pool (`READERS`; aiosqlite gives each its
thread), and a read made of several statements — a page and its total — runs them in one transaction
(`snapshot`), one consistent view begun after the write.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import aiosqlite

from fake_pagerduty.errors import compact_json
from fake_pagerduty.store.inline import InlineConnection

_MEMORY_DIR = "/dev/shm"  # where `:memory:` keeps its private file, where there is one: memory, not a disk
READERS = 4  # reader connections: reads at once (see `reader`)
_SNAPSHOT: contextvars.ContextVar[aiosqlite.Connection | None] = contextvars.ContextVar("snapshot", default=None)
_JSON_COLUMNS = {"callback_origins", "acknowledgements", "last_status_change_by", "body", "agent", "channel",
                 "custom_details", "links", "images", "warnings", "events", "custom_headers", "headers"}

dumps = compact_json  # what is stored as JSON is compact, as PagerDuty's answers are


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def row_dict(row: aiosqlite.Row, *, drop: tuple[str, ...] = ()) -> dict:
    """A row as a dict, JSON columns decoded."""
    out = {}
    for key in row.keys():
        if key in drop:
            continue
        value = row[key]
        out[key] = loads(value) if key in _JSON_COLUMNS and isinstance(value, str) else value
    return out


def migrations() -> list[tuple[int, str]]:
    folder = resources.files("fake_pagerduty") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class Where:
    """A WHERE clause built a condition at a time: `sql` (" WHERE …", or "" when nothing narrows) and `params`."""

    def __init__(self, *conditions: tuple[str, Any]) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []
        for clause, value in conditions:
            self.add(clause, value)

    def add(self, clause: str, *values: Any) -> Where:
        """`clause` with one `?` per value."""
        self.clauses.append(clause)
        self.params.extend(values)
        return self

    def equal(self, column: str, value: Any) -> Where:
        """`column = value`, unless value is None (then nothing)."""
        return self if value is None else self.add(f"{column} = ?", value)

    def any_of(self, column: str, values: tuple | list) -> Where:
        """`column IN (values)`, unless there are none."""
        if values:
            self.add(f"{column} IN ({', '.join('?' * len(values))})", *values)
        return self

    @property
    def condition(self) -> str:
        """The conditions joined by AND (without the WHERE keyword), "1" when there are none."""
        return " AND ".join(self.clauses) or "1"

    @property
    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


class Database:
    def __init__(self, path: str, *, inline: bool = False) -> None:
        """`inline`: run SQLite on the loop's own thread (`inline.py`: in-process apps), else on aiosqlite's
        threads (`fake-pagerduty serve`)."""
        self.inline = inline
        self._requested_path = path
        self.path = path
        self._tempdir: str | None = None
        self._writer: aiosqlite.Connection | None = None
        self._all_readers: list[aiosqlite.Connection] = []
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None  # the ones free now
        self.lock = asyncio.Lock()  # the write lock: `transaction()` and the events writer take it
        self.writes = 0  # transactions through `transaction()`: what may have changed webhook targets
        self.writes_waiting = 0  # transactions waiting for the write lock

    async def open(self) -> None:
        if self._requested_path == ":memory:":
            self._tempdir = tempfile.mkdtemp(prefix="fake-pagerduty-", dir=_MEMORY_DIR if os.access(_MEMORY_DIR, os.W_OK) else None)
            self.path = os.path.join(self._tempdir, "sandbox.db")
        else:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._writer = await self._connect()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
            await self._writer.execute(f"PRAGMA {pragma}")
        await self._migrate()
        self._readers = asyncio.Queue()
        for _ in range(READERS):
            reader = await self._connect()
            for pragma in ("busy_timeout=10000", "query_only=ON"):
                await reader.execute(f"PRAGMA {pragma}")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)

    async def _connect(self) -> aiosqlite.Connection | InlineConnection:
        if self.inline:
            return InlineConnection(self.path)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        return conn

    async def close(self) -> None:
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
        for number, sql in migrations():
            if number > version:
                await self._writer.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")

    async def schema_version(self) -> int:
        (version,) = await self.one("PRAGMA user_version")
        return version

    # ---- writes -------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        """The write lock, telling the events writer that a write waits (its turn ends soon)."""
        self.writes_waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self.writes_waiting -= 1
        try:
            yield
        finally:
            self.lock.release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction; the only way anything but the events writer writes."""
        async with self.write_lock():
            db = self._writer
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
            self.writes += 1  # after COMMIT: a read that started earlier is then known to be stale

    async def write(self, sql: str, params: tuple | list | dict = ()) -> int:
        """One statement in a transaction of its own; how many rows it changed."""
        async with self.transaction() as db:
            return (await db.execute(sql, params)).rowcount

    async def executescript(self, script: str | Callable[[Any], Awaitable[str]], *,
                            first: str | None = None) -> tuple | None:
        """A script of statements on the writer connection, under the write lock; it manages its own
        transaction (`executescript` commits first) and counts as a write. With `first`, that query is read
        under the same lock before the script runs (nothing changes in between) and its row returned. A
        callable `script` is given the writer connection under the lock and returns the script to run."""
        async with self.write_lock():
            row = None
            if first is not None:
                row = tuple(await (await self._writer.execute(first)).fetchone())
            if callable(script):
                script = await script(self._writer)
            try:
                await self._writer.executescript(script)
            except BaseException:
                if self._writer.in_transaction:
                    await self._writer.execute("ROLLBACK")
                await self._writer.execute("PRAGMA foreign_keys = ON")
                raise
            self.writes += 1  # what `transaction()` counts: a cached "no webhook targets" is stale now
            return row

    # ---- reads --------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
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
    async def snapshot(self) -> AsyncIterator[None]:
        """Every `one`/`all` inside (in this task) reads one consistent state of the database, taken at the
        first of them. Nested uses join the outer one."""
        if _SNAPSHOT.get() is not None:
            yield
            return
        async with self.reader() as conn:
            await conn.execute("BEGIN")
            token = _SNAPSHOT.set(conn)
            try:
                yield
            finally:
                _SNAPSHOT.reset(token)
                await conn.execute("COMMIT")

    async def one(self, sql: str, params: tuple | list | dict = ()) -> aiosqlite.Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def first(self, sql: str, params: tuple | list | dict = (), codec: Any = dict) -> Any:
        """The first row, through `codec` (a dict by default), or None when there is none."""
        row = await self.one(sql, params)
        return None if row is None else codec(row)

    async def all(self, sql: str, params: tuple | list | dict = ()) -> list[aiosqlite.Row]:
        async with self.reader() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def paged(self, sql: str, params: tuple | list, page: Any, count_sql: str,
                    count_params: tuple | list | None = None) -> tuple[list[dict], bool, int | None]:
        """One page of a list (`sql` ends with `LIMIT ? OFFSET ?`; `page` has limit, offset and total): its
        rows, whether there are more, and the total, counted with `count_sql` (and `count_params`, by default
        `params`) only when the page asks — rows and total from one snapshot."""
        total = None
        if not page.total:  # one statement reads one state of the database: no snapshot to hold
            rows = await self.all(sql, (*params, page.limit + 1, page.offset))
        else:
            async with self.snapshot():
                rows = await self.all(sql, (*params, page.limit + 1, page.offset))
                (total,) = await self.one(count_sql, tuple(params if count_params is None else count_params))
        return [dict(r) for r in rows[: page.limit]], len(rows) > page.limit, total
