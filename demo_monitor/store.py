"""The only module with SQL: the monitor's SQLite database (aiosqlite, WAL, numbered migrations).

Writes: one writer connection behind a lock; every write is a short transaction, so every state change is on
disk before the caller acknowledges it to anyone. Reads: a small pool of reader connections, never the write
lock (WAL lets them run beside the writer). Each read takes a connection of its own for as long as it runs, so
no other statement holds that connection's snapshot open: a read that starts after a write was answered sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import aiosqlite

from demo_monitor.domain.alerts import Alert
from demo_monitor.domain.rules import Rule
from demo_monitor.store_oauth import OAuthRows

READERS = 3  # reader connections: reads at once
_ALERT_COLUMNS = (
    "id, number, server, metric, rule_id, severity, operator, threshold, value, description, details, state, "
    "opened_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, pd_status, pd_agent, pd_incident_url"
)
_ALERT_UPDATABLE = {
    "state", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "pd_status", "pd_agent",
    "pd_incident_url",
}


def migrations() -> list[tuple[int, str]]:
    """(number, SQL) of every file in demo_monitor/migrations, in order."""
    found = []
    for entry in resources.files("demo_monitor").joinpath("migrations").iterdir():
        match = re.match(r"^(\d{4})_.*\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _alert_from_row(row: sqlite3.Row) -> Alert:
    data = dict(row)
    data["details"] = json.loads(data["details"] or "{}")
    return Alert(**data)


def _prepare_path(path: str) -> tuple[str, str | None]:
    """(file to open, temporary folder to delete on close). `:memory:` becomes a private temporary file, so WAL
    and several connections behave exactly as with a real file."""
    if path == ":memory:":
        tmpdir = tempfile.mkdtemp(prefix="demo-monitor-")
        return os.path.join(tmpdir, "monitor.db"), tmpdir
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return path, None


class Store(OAuthRows):
    def __init__(self, db: aiosqlite.Connection, tmpdir: str | None) -> None:
        self._db = db
        self._tmpdir = tmpdir
        self._lock = asyncio.Lock()  # the write lock
        self._all_readers: list[aiosqlite.Connection] = []
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()  # the ones free now

    @classmethod
    async def open(cls, path: str) -> Store:
        path, tmpdir = _prepare_path(path)
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = sqlite3.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db, tmpdir)
        await store.migrate()
        for _ in range(READERS):
            reader = await aiosqlite.connect(path, isolation_level=None)
            reader.row_factory = sqlite3.Row
            await reader.execute("PRAGMA busy_timeout=5000")
            await reader.execute("PRAGMA query_only=ON")
            store._all_readers.append(reader)
            store._readers.put_nowait(reader)
        return store

    async def close(self) -> None:
        for reader in self._all_readers:
            await reader.close()
        self._all_readers = []
        await self._db.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    async def migrate(self) -> int:
        async with self._lock:
            version = (await (await self._db.execute("PRAGMA user_version")).fetchone())[0]
            for number, sql in migrations():
                if number > version:
                    await self._db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
                    version = number
            return version

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _all(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        """One read statement on a reader connection of its own (not the write lock)."""
        reader = await self._readers.get()
        try:
            return list(await reader.execute_fetchall(sql, params))
        finally:
            self._readers.put_nowait(reader)

    async def _one(self, sql: str, params: tuple | list = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    # -- meta ---------------------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def secret_key(self) -> str:
        """A random secret made on first use and kept, for CSRF tokens."""
        async with self._tx() as db:
            cursor = await db.execute("SELECT value FROM meta WHERE key = 'secret_key'")
            row = await cursor.fetchone()
            if row:
                return row["value"]
            value = secrets.token_hex(32)
            await db.execute("INSERT INTO meta (key, value) VALUES ('secret_key', ?)", (value,))
            return value

    # -- rules --------------------------------------------------------------------------------------------

    async def list_rules(self) -> list[Rule]:
        rows = await self._all("SELECT * FROM rules ORDER BY id")
        return [Rule(**{**dict(r), "enabled": bool(r["enabled"])}) for r in rows]

    async def update_rule(self, rule_id: int, *, metric: str, operator: str, threshold: float, severity: str,
                          for_seconds: int, enabled: bool) -> bool:
        async with self._tx() as db:
            cursor = await db.execute(
                "UPDATE rules SET metric = ?, operator = ?, threshold = ?, severity = ?, for_seconds = ?, enabled = ? "
                "WHERE id = ?",
                (metric, operator, threshold, severity, for_seconds, int(enabled), rule_id),
            )
            return cursor.rowcount == 1

    # -- faults -------------------------------------------------------------------------------------------

    async def put_fault(self, server: str, metric: str, value: float, now: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO faults (server, metric, value, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(server, metric) DO UPDATE SET value = excluded.value, created_at = excluded.created_at",
                (server, metric, value, now),
            )

    async def delete_fault(self, server: str, metric: str | None = None) -> int:
        async with self._tx() as db:
            if metric is None:
                cursor = await db.execute("DELETE FROM faults WHERE server = ?", (server,))
            else:
                cursor = await db.execute("DELETE FROM faults WHERE server = ? AND metric = ?", (server, metric))
            return cursor.rowcount

    async def list_faults(self) -> list[dict]:
        return [dict(r) for r in await self._all("SELECT server, metric, value FROM faults ORDER BY server, metric")]

    # -- alerts and their outbox rows ----------------------------------------------------------------------

    async def create_alert(self, make_alert, outbox_rows) -> Alert:
        """Insert an alert built by make_alert(number) and the outbox rows built by outbox_rows(alert)."""
        async with self._tx() as db:
            cursor = await db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM alerts")
            number = (await cursor.fetchone())[0]
            alert: Alert = make_alert(number)
            await db.execute(
                f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES ({', '.join('?' * 20)})",
                (
                    alert.id, alert.number, alert.server, alert.metric, alert.rule_id, alert.severity,
                    alert.operator, alert.threshold, alert.value, alert.description, json.dumps(alert.details),
                    alert.state, alert.opened_at, alert.acknowledged_at, alert.acknowledged_by, alert.resolved_at,
                    alert.resolved_by, alert.pd_status, alert.pd_agent, alert.pd_incident_url,
                ),
            )
            for row in outbox_rows(alert):
                await self._insert_outbox(db, row)
            return alert

    async def update_alert(self, alert_id: str, changes: dict[str, Any], outbox_rows: list[dict] = ()) -> None:
        unknown = set(changes) - _ALERT_UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        async with self._tx() as db:
            if changes:
                assignments = ", ".join(f"{name} = ?" for name in changes)
                await db.execute(f"UPDATE alerts SET {assignments} WHERE id = ?", (*changes.values(), alert_id))
            for row in outbox_rows:
                await self._insert_outbox(db, row)

    @staticmethod
    async def _insert_outbox(db: aiosqlite.Connection, row: dict) -> None:
        await db.execute(
            "INSERT INTO outbox (alert_id, incident_key, event_type, api_version, url, body, status, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?)",
            (row["alert_id"], row["incident_key"], row["event_type"], row["api_version"], row["url"],
             json.dumps(row["body"]), row["created_at"]),
        )

    async def get_alert(self, alert_id: str) -> Alert | None:
        row = await self._one(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        return _alert_from_row(row) if row else None

    async def list_alerts(self, *, state: str | None = None, open_only: bool = False, server: str | None = None,
                          rule_id: int | None = None, limit: int | None = 200) -> list[Alert]:
        """Newest first, filtered here in SQL (before the limit): by `state` (else not resolved with `open_only`),
        `server` and `rule_id`. `limit=None`: every one."""
        clauses: list[str] = []
        params: list[Any] = []
        if state:
            clauses.append("state = ?")
            params.append(state)
        elif open_only:
            clauses.append("state != 'resolved'")
        for column, value in (("server", server), ("rule_id", rule_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._all(
            f"SELECT {_ALERT_COLUMNS} FROM alerts {where} ORDER BY number DESC LIMIT ?",
            (*params, -1 if limit is None else limit),
        )
        return [_alert_from_row(r) for r in rows]

    # -- outbox -------------------------------------------------------------------------------------------

    async def outbox_for_alerts(self, alert_ids: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {alert_id: [] for alert_id in alert_ids}
        if not alert_ids:
            return out
        marks = ", ".join("?" * len(alert_ids))
        rows = await self._all(f"SELECT * FROM outbox WHERE alert_id IN ({marks}) ORDER BY id", alert_ids)
        for row in rows:
            out[row["alert_id"]].append(dict(row))
        return out

    async def first_outbox(self, alert_id: str, event_type: str) -> dict | None:
        row = await self._one(
            "SELECT * FROM outbox WHERE alert_id = ? AND event_type = ? ORDER BY id LIMIT 1", (alert_id, event_type)
        )
        return dict(row) if row else None

    async def outbox_heads(self) -> list[dict]:
        """The oldest pending row of every incident key: only these may be sent (order per key is kept)."""
        rows = await self._all(
            "SELECT * FROM outbox WHERE id IN ("
            " SELECT MIN(id) FROM outbox WHERE status IN ('queued', 'retrying') GROUP BY incident_key"
            ") ORDER BY next_attempt_at, id"
        )
        return [dict(r) for r in rows]

    async def mark_outbox(self, row_id: int, **changes: Any) -> None:
        allowed = {"status", "attempts", "next_attempt_at", "last_error", "response", "sent_at", "attempt_started_at",
                   "interrupted"}
        if set(changes) - allowed:
            raise ValueError(f"not updatable: {sorted(set(changes) - allowed)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        async with self._tx() as db:
            await db.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", (*changes.values(), row_id))

    async def list_outbox(self) -> list[dict]:
        return [dict(r) for r in await self._all("SELECT * FROM outbox ORDER BY id")]

    # -- the PagerDuty integration --------------------------------------------------------------------------

    async def get_integration(self) -> dict | None:
        row = await self._one(
            "SELECT account, service_key, service_name, connected_at, via FROM integration WHERE id = 1")
        return dict(row) if row else None

    async def save_integration(self, account: str, service_key: str, service_name: str, now: str,
                               via: str = "connect") -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO integration (id, account, service_key, service_name, connected_at, via) "
                "VALUES (1, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET account = excluded.account, service_key = excluded.service_key, "
                "service_name = excluded.service_name, connected_at = excluded.connected_at, via = excluded.via",
                (account, service_key, service_name, now, via),
            )

    async def delete_integration(self) -> bool:
        async with self._tx() as db:
            cursor = await db.execute("DELETE FROM integration WHERE id = 1")
            return cursor.rowcount == 1

    async def add_connect_state(self, token: str, now: float) -> None:
        async with self._tx() as db:
            await db.execute("DELETE FROM connect_states WHERE created_at < ?", (now - 86400,))
            await db.execute("INSERT INTO connect_states (token, created_at) VALUES (?, ?)", (token, now))

    async def consume_connect_state(self, token: str, now: float, max_age: float = 3600) -> bool:
        """True if the token was issued here, is fresh, and had not been used; it is used up either way."""
        async with self._tx() as db:
            cursor = await db.execute("SELECT created_at FROM connect_states WHERE token = ?", (token,))
            row = await cursor.fetchone()
            if row is None:
                return False
            await db.execute("DELETE FROM connect_states WHERE token = ?", (token,))
            return now - row["created_at"] <= max_age

    # -- webhooks -----------------------------------------------------------------------------------------

    async def apply_webhook(self, event_id: str, event_type: str, now: str, alert_id: str | None,
                            changes: dict[str, Any]) -> bool:
        """Record a webhook event id and apply its changes to the alert; False if the id was seen before."""
        if set(changes) - _ALERT_UPDATABLE:
            raise ValueError("not updatable")
        async with self._tx() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO webhook_events (id, event_type, received_at) VALUES (?, ?, ?)",
                (event_id, event_type, now),
            )
            if cursor.rowcount == 0:
                return False
            if alert_id and changes:
                assignments = ", ".join(f"{name} = ?" for name in changes)
                await db.execute(f"UPDATE alerts SET {assignments} WHERE id = ?", (*changes.values(), alert_id))
            return True
