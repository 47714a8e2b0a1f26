"""sqlite3 on the event loop's own thread, behind the part of aiosqlite's interface the store uses.

For in-process apps (the fast tests, the pytest plugin's `fake_pagerduty_app`): there a request's SQLite
work is tiny, nothing else waits on the loop, and aiosqlite's hop to a thread and back for every statement
was most of a request's cost (docs/benchmarks.md, sixth pass). `fake-pagerduty serve` keeps aiosqlite's
threads (and the events writer process), so that a long read never holds up other clients, unless told
`--sqlite-on-loop` (one client at a time, as the pytest plugin's server).

Each call runs the statement at once; `execute` returns something that can be awaited (the cursor) or
entered (the cursor, closed on leaving), as aiosqlite's does."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> sqlite3.Row | None:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Executed:
    """A statement already run: awaited, its cursor; entered, its cursor, closed on leaving."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = InlineCursor(cursor)

    def __await__(self):
        return self._cursor_now().__await__()

    async def _cursor_now(self) -> InlineCursor:
        return self._cursor

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._cursor.close()


class InlineConnection:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, params: Iterable[Any] | dict = ()) -> _Executed:
        return _Executed(self._conn.execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> _Executed:
        return _Executed(self._conn.executemany(sql, rows))

    async def execute_fetchall(self, sql: str, params: Iterable[Any] | dict = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, params).fetchall()

    async def executescript(self, script: str) -> None:
        self._conn.executescript(script)

    async def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        self._conn.set_trace_callback(callback)

    async def close(self) -> None:
        self._conn.close()
