"""The fixtures' reset rewrites only the tables that differ from the seeded rows (store/sandbox.py,
`restore_rows`, on an in-process app's inline database): whatever changed, by the app or by another
connection, in a value, a row or a rowid, is put back; what did not change is not touched; and through
aiosqlite (`serve`) every table is rewritten as before. Every case ends with the database exactly as seeded."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from fake_pagerduty.reset import SEEDED_ROWS, SandboxApp
from fake_pagerduty.settings import Settings


def _settings(tmp_path, *, inline: bool = True) -> Settings:
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test", sqlite_on_loop=inline)


def _everything(path: str) -> dict[str, list[tuple]]:
    """Every table's rows with rowid, each value with its SQLite type, and sqlite_sequence."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: db.execute(f'SELECT rowid, *, {_types(db, table)} FROM "{table}" ORDER BY rowid').fetchall()
                for table in tables}


def _held(path: str) -> dict[str, int]:
    """How many rows each table holds, by name, and the `notifications` view (since migration 0016 a
    notification is its notify log entry; a full reset's answer counts it as the table it was)."""
    held = {table: len(rows) for table, rows in _everything(path).items()}
    with contextlib.closing(sqlite3.connect(path)) as db:
        (held["notifications"],) = db.execute("SELECT COUNT(*) FROM notifications").fetchone()
    return dict(sorted(held.items()))


def _types(db: sqlite3.Connection, table: str) -> str:
    columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
    return ", ".join(f'typeof("{column}")' for column in columns) or "1"


async def _traced_reset(sandbox: SandboxApp) -> list[str]:
    """Reset, and the tables the writer connection or the events writer's (which runs the reset when it is
    on the loop too) emptied meanwhile (sqlite_sequence aside)."""
    seen: list[str] = []
    store = sandbox.app.state.store
    writer, events = store.database._writer, store.events._events_conn
    await writer.set_trace_callback(seen.append)
    events.set_trace_callback(seen.append)
    try:
        await sandbox.reset()
    finally:
        await writer.set_trace_callback(None)
        events.set_trace_callback(None)
    return sorted(line.split('"')[1] for line in map(str.strip, seen) if line.startswith('DELETE FROM "'))


def _outside(path: str, *statements: str) -> None:
    """Writes through a connection of its own, as a test that opens the database file does."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


CHANGES = {
    "an updated seeded row": ("UPDATE users SET name = 'Someone Else' WHERE email = 'demo@acme.test'",),
    "an emptied seeded table": ("DELETE FROM priorities",),
    "a row in a table seeded empty": ("INSERT INTO sandbox_settings (name, value) VALUES ('x', '1')",),
    "the same rows at other rowids": ("UPDATE team_members SET rowid = rowid + 100",),
}


@pytest.mark.parametrize("statements", list(CHANGES.values()), ids=list(CHANGES))
async def test_a_change_made_through_another_connection_is_put_back(tmp_path, statements):
    settings = _settings(tmp_path)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        seeded = _everything(settings.db_path)
        _outside(settings.db_path, *statements)
        assert _everything(settings.db_path) != seeded
        touched = await _traced_reset(sandbox)
        assert touched  # the changed table, at least
        assert _everything(settings.db_path) == seeded


async def test_an_unchanged_database_is_not_rewritten_and_a_test_s_tables_are(tmp_path):
    settings = _settings(tmp_path)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        seeded = _everything(settings.db_path)
        assert await _traced_reset(sandbox) == []
        async with sandbox.client("http://sandbox.test") as client:
            answer = await client.post("/v2/enqueue", json={
                "routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "trigger", "dedup_key": "k",
                "payload": {"summary": "Disk full", "source": "db", "severity": "critical"}})
            assert answer.status_code == 202
        touched = await _traced_reset(sandbox)
        assert {"alerts", "events", "incidents", "log_entries"} <= set(touched) and "users" not in touched
        assert _everything(settings.db_path) == seeded


async def test_through_aiosqlite_every_table_is_rewritten(tmp_path):
    settings = _settings(tmp_path, inline=False)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        seeded = _everything(settings.db_path)
        _outside(settings.db_path, *CHANGES["an updated seeded row"])
        touched = await _traced_reset(sandbox)
        assert touched == sorted(getattr(sandbox.app.state, SEEDED_ROWS)[1].tables)
        assert _everything(settings.db_path) == seeded


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "aiosqlite"])
async def test_a_full_reset_answers_how_many_rows_every_table_held(tmp_path, inline):
    """`POST /_sandbox/reset?full=true` counts each table's rows before it is put back: inline, a table left as
    it is counts its seeded rows and only the tables rewritten are counted; both ways the same answer."""
    settings = _settings(tmp_path, inline=inline)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        async with sandbox.client("http://sandbox.test") as client:
            for key in ("a", "b"):
                answer = await client.post("/v2/enqueue", json={
                    "routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "trigger", "dedup_key": key,
                    "payload": {"summary": "Disk full", "source": "db", "severity": "critical"}})
                assert answer.status_code == 202
            _outside(settings.db_path, *CHANGES["an emptied seeded table"], *CHANGES["a row in a table seeded empty"])
            held = _held(settings.db_path)
            body = (await client.post("/_sandbox/reset?full=true")).json()
        assert body["deleted"] == {
            {"sandbox_faults": "faults", "sandbox_settings": "settings"}.get(table, table): count
            for table, count in held.items() if table not in ("sqlite_sequence", "webhook_changes")}
        assert (body["deleted"]["incidents"], body["deleted"]["priorities"], body["deleted"]["settings"]) == (2, 0, 1)
        assert body["deleted"]["notifications"] == 4  # Dana's push and SMS for each incident
        assert body["deleted"]["users"] > 0
