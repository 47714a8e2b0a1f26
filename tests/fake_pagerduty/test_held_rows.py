"""A batch of events writes each table's new rows together (`EventsConnection.hold_rows`: journal rows, new
incidents, their alerts, log entries and notifications in one INSERT of many rows per table, just before the
COMMIT). The rows must be exactly those written one event at a time: the same batch of writes — new incidents,
a trigger deduplicated into an incident opened earlier in the batch, its acknowledgement and resolution, a
refused body, an unknown routing key, a change event, a request refused before its body was read — applied
both ways leaves every table the events writer writes identical, ids and journal numbers included (the
journal's next id is remembered from one batch to the next); no ports here."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import UTC, datetime

import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.domain import ids
from fake_pagerduty.settings import Settings
from fake_pagerduty.store import JournalEntry
from fake_pagerduty.store.batch import WRITES_TO, apply_batch, apply_request, record_request
from fake_pagerduty.store.events_connection import EventsConnection, connect_events
from tests.conftest import SAMPLE_KEY

NOW = datetime(2026, 12, 2, 5, 0, 0, tzinfo=UTC)


def _entry(body: bytes | str, api: str = "v2", path: str = "/v2/enqueue") -> JournalEntry:
    return JournalEntry(received_at="2026-12-02T05:00:00Z", api=api, method="POST", path=path,
                        content_type="application/json",
                        raw_body=body if isinstance(body, bytes) else body.encode(), response_status=0,
                        response_body="", action="change" if api == "change" else None)


def _event(action: str, key: str, routing_key: str = SAMPLE_KEY) -> str:
    event = {"routing_key": routing_key, "event_action": action, "dedup_key": key}
    if action == "trigger":
        event["payload"] = {"summary": f"Disk full on {key}", "source": "web-1", "severity": "critical",
                            "custom_details": {"free_mb": 12}}
    return json.dumps(event)


def _writes() -> list[tuple]:
    change = json.dumps({"routing_key": SAMPLE_KEY, "payload": {"summary": "Deployed", "source": "ci"}})
    refused_early = _entry(b"")
    refused_early.response_status, refused_early.response_body = 413, '{"status":"invalid event"}'
    bodies = [_event("trigger", "a"), _event("trigger", "b"), _event("trigger", "b"), "{not json",
              _event("trigger", "c"), _event("acknowledge", "b"), _event("trigger", "d", routing_key="x" * 32),
              _event("trigger", "e"), _event("resolve", "c"), _event("trigger", "c"), _event("trigger", "f"),
              _event("trigger", "g"), _event("acknowledge", "g")]
    writes: list[tuple] = [(apply_request, "v2", _entry(body), NOW) for body in bodies]
    writes.insert(4, (apply_request, "change", _entry(change, "change", "/v2/change/enqueue"), NOW))
    writes.insert(7, (record_request, refused_early))
    return writes


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    tables = {table: [tuple(row) for row in conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid")]
              for table in sorted(WRITES_TO)}
    tables["sqlite_sequence"] = [tuple(row) for row in conn.execute("SELECT * FROM sqlite_sequence ORDER BY name")]
    return tables


def _numbered_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids drawn from a counter, the same whichever way the batch is applied."""
    counter = itertools.count(1)
    monkeypatch.setattr(ids, "long_id", lambda: f"Q{next(counter):013d}")
    monkeypatch.setattr(ids, "log_entry_id", lambda: f"R{next(counter):025d}")


async def _migrated(path: str) -> str:
    app = create_app(Settings(db_path=path))
    async with app.router.lifespan_context(app):
        pass
    return path


async def test_a_batch_holding_its_rows_back_writes_the_rows_of_one_event_at_a_time(tmp_path, monkeypatch):
    seeded = sqlite3.connect(await _migrated(str(tmp_path / "seeded.db")))
    for name in ("held", "one_at_a_time"):
        with sqlite3.connect(tmp_path / f"{name}.db") as copy:
            seeded.backup(copy)
    seeded.close()

    _numbered_ids(monkeypatch)
    held = connect_events(str(tmp_path / "held.db"))
    held.execute("INSERT INTO events (received_at, api, method, path, raw_body, response_status, response_body,"
                 " outcome) VALUES ('x', 'v2', 'POST', '/', x'', 202, '', 'x')")  # ids follow the largest used:
    held.execute("DELETE FROM events")  # AUTOINCREMENT's, not MAX(id)'s
    abandoned = []
    monkeypatch.setattr(EventsConnection, "abandon", lambda conn: abandoned.append(conn))
    writes = _writes()
    results = apply_batch(held, writes[:5]) + apply_batch(held, writes[5:])  # the journal's next id remembered
    assert abandoned == []  # the batch went in on its first attempt, its rows held back (no write failed)
    assert [ok for ok, _ in results] == [True] * len(results)

    _numbered_ids(monkeypatch)
    single = connect_events(str(tmp_path / "one_at_a_time.db"))
    single.execute("INSERT INTO events (received_at, api, method, path, raw_body, response_status, response_body,"
                   " outcome) VALUES ('x', 'v2', 'POST', '/', x'', 202, '', 'x')")
    single.execute("DELETE FROM events")
    single.execute("BEGIN IMMEDIATE")
    expected = [write(single, *args) for write, *args in _writes()]  # no batch: each row goes in at once
    single.execute("COMMIT")

    assert [value for _, value in results] == expected
    got, want = _tables(held), _tables(single)
    assert got == want
    incidents = want["incidents"]
    assert len(incidents) == 7 and {row[6] for row in incidents} == {"triggered", "acknowledged", "resolved"}
    assert len(want["notifications"]) == 2 * len(incidents)  # each new incident assigned and notified
    held.close()
    single.close()
