"""A notification is its notify log entry (issue 13, migration 0016): a new incident writes one row per
notification — the entry, carrying whom it went to, the address and the text — and `notifications` is a view
with the old table's columns, so every read sees the same values. The entry's REST shape does not change, and a
database from before keeps every notification it held."""

from __future__ import annotations

import contextlib
import sqlite3

from fake_pagerduty.store import Store
from fake_pagerduty.store.database import migrations
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.rest_helpers import BASE, incident_by_key, trigger
from tests.fake_pagerduty.schema_before import database_before
from tests.fake_pagerduty.test_rest_schemas import _check

SMS_TEXT = "ALRT #1 : You were assigned to an incident. Go to PagerDuty to learn more. Reply 4: Ack, 6: Resolve"
SERVICE = {"id": "PWEBS00", "type": "service_reference", "summary": "Acme Website",
           "self": f"{BASE}/api/services/PWEBS00", "html_url": f"{BASE}/services/PWEBS00"}
_NOTIFICATION = "SELECT account_id, incident_id, user_id, type, address, text, log_entry_id, sent_at FROM notifications"


def _counts(path: str) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables}


def _rows(path: str, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


async def test_a_new_incident_writes_no_row_but_its_log_entries_for_its_notifications(sandbox, sandbox_settings):
    path = sandbox_settings.db_path
    before = _counts(path)
    await trigger(sandbox, "disk")
    after = _counts(path)
    grown = {table: after[table] - before[table] for table in after if after[table] != before[table]}
    # the journal's event (and its id counter), the incident, its alert, and its trigger, assign and two notify
    # entries: nothing else
    assert grown == {"events": 1, "sqlite_sequence": 1, "incidents": 1, "alerts": 1, "log_entries": 4}
    assert _rows(path, "SELECT type FROM sqlite_master WHERE name = 'notifications'") == [("view",)]
    entries = _rows(path, "SELECT type, user_id, notification_address, notification_text FROM log_entries"
                          " ORDER BY rowid")
    assert entries == [("trigger_log_entry", None, None, None), ("assign_log_entry", None, None, None),
                       ("notify_log_entry", "PDANA00", "dana-phone", "#1 Acme Website: Disk full on web-1"),
                       ("notify_log_entry", "PDANA00", "5550100001", SMS_TEXT)]
    (incident_id,) = {row[1] for row in _rows(path, _NOTIFICATION)}
    ids = [row[0] for row in _rows(path, "SELECT id FROM log_entries WHERE type = 'notify_log_entry' ORDER BY rowid")]
    (stamp,) = {row[7] for row in _rows(path, _NOTIFICATION)}
    assert _rows(path, f"{_NOTIFICATION} ORDER BY id") == [
        ("PACME00", incident_id, "PDANA00", "push_notification", "dana-phone", "#1 Acme Website: Disk full on web-1",
         ids[0], stamp),
        ("PACME00", incident_id, "PDANA00", "sms_notification", "5550100001", SMS_TEXT, ids[1], stamp)]


async def test_a_notify_log_entry_shows_over_rest_exactly_as_before(sandbox, sandbox_settings):
    """The columns the entry carries for its notification are not PagerDuty fields: REST and the state dump do
    not show them."""
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    listed = (await sandbox.get(f"/api/incidents/{incident['id']}/log_entries", headers=REST_HEADERS)).json()
    sms = listed["log_entries"][0]  # newest first: the SMS went last
    stamp, entry_id = sms["created_at"], sms["id"]
    expected = {
        "id": entry_id, "type": "notify_log_entry", "summary": "Notified Dana Demo by SMS.",
        "self": f"{BASE}/api/log_entries/{entry_id}?incident_id={incident['id']}",
        "html_url": f"{BASE}/incidents/{incident['id']}/log_entries/{entry_id}", "created_at": stamp,
        "agent": SERVICE,
        "channel": {"type": "auto", "notification": {"type": "sms_notification", "address": "5550100001",
                                                     "status": "success", "started_at": stamp}},
        "service": SERVICE,
        "incident": {"id": incident["id"], "type": "incident_reference", "summary": "[#1] Disk full on web-1",
                     "self": f"{BASE}/api/incidents/{incident['id']}",
                     "html_url": f"{BASE}/incidents/{incident['id']}"},
        "teams": [{"id": "PTEAM00", "type": "team_reference", "summary": "Acme Web Team",
                   "self": f"{BASE}/api/teams/PTEAM00", "html_url": f"{BASE}/teams/PTEAM00"}],
        "contexts": [], "event_details": {"description": "Notified Dana Demo by SMS."},
        "user": {"id": "PDANA00", "type": "user_reference", "summary": "Dana Demo",
                 "self": f"{BASE}/api/users/PDANA00", "html_url": f"{BASE}/users/PDANA00"},
    }
    assert sms == expected
    one = await sandbox.get(f"/api/log_entries/{entry_id}", headers=REST_HEADERS)
    # the entry alone names its incident's teams, as the incident's list does (it used to name none)
    assert one.status_code == 200 and one.json() == {"log_entry": expected}
    listed = (await sandbox.get("/api/log_entries", headers=REST_HEADERS)).json()["log_entries"]
    assert [e for e in listed if e["id"] == entry_id] == [expected]  # and so does the account's list
    _check("LogEntry", {k: v for k, v in expected.items() if k != "channel"})  # channel: see test_rest_schemas
    state = (await sandbox.get("/_sandbox/state")).json()
    (dumped,) = state["incidents"]
    assert {tuple(entry) for entry in dumped["log_entries"]} == {(
        "id", "seq", "account_id", "incident_id", "alert_id", "type", "summary", "agent", "channel", "event_id",
        "created_at", "extra")}


_INCIDENT = ("INSERT INTO incidents (id, account_id, service_id, incident_number, title, status, urgency, created_at,"
             " updated_at, last_status_change_at) VALUES (?, 'PACME00', 'PWEBS00', ?, 'Disk full', 'triggered',"
             " 'high', '2026-12-01T10:00:00Z', '2026-12-01T10:00:00Z', '2026-12-01T10:00:00Z')")
_LOG = ("INSERT INTO log_entries (id, seq, account_id, incident_id, type, summary, agent, channel, created_at)"
        " VALUES (?, ?, 'PACME00', ?, ?, ?, '{}', ?, ?)")
_SENT = ("INSERT INTO notifications (account_id, incident_id, user_id, type, address, text, log_entry_id, sent_at)"
         " VALUES ('PACME00', ?, ?, ?, ?, ?, ?, ?)")


def _channel(kind: str, address: str | None) -> str:
    return ('{"type":"auto","notification":{"type":"' + kind + '"'
            + (f',"address":"{address}"' if address else "") + ',"status":"success"}}')


async def test_migrating_keeps_every_notification_on_its_notify_entry(tmp_path):
    path = str(tmp_path / "old.db")
    assert database_before(path, 16) >= 14
    # two incidents whose entries interleave: the notifications' order is not the incidents'
    sent = [
        ("QONE", "PDANA00", "push_notification", "dana-phone", "#1 Acme Website: Disk full", "2026-12-01T10:00:00Z"),
        ("QTWO", "PSAMR00", "sms_notification", "5550100002", "ALRT #2 : You were assigned.", "2026-12-01T10:01:00Z"),
        ("QONE", "PDANA00", "sms_notification", "5550100001", "ALRT #1 : You were assigned.", "2026-12-01T10:02:00Z"),
        ("QTWO", "PSAMR00", "email_notification", "sam@acme.test", "[PagerDuty Alert] #2", "2026-12-01T10:03:00Z")]
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(_INCIDENT, ("QONE", 1))
        db.execute(_INCIDENT, ("QTWO", 2))
        seq = {"QONE": 0, "QTWO": 0}
        for i, (incident, user, kind, address, text, stamp) in enumerate(sent):
            seq[incident] += 1
            db.execute(_LOG, (f"RTRIG{i}", seq[incident], incident, "trigger_log_entry", "Triggered.", '{"type":"api"}',
                              stamp))
            seq[incident] += 1
            entry = f"RNOTE{i}"
            db.execute(_LOG, (entry, seq[incident], incident, "notify_log_entry", "Notified.",
                              _channel(kind, None if kind == "push_notification" else address), stamp))
            db.execute(_SENT, (incident, user, kind, address, text, entry, stamp))
        db.commit()
        before = db.execute(f"{_NOTIFICATION} ORDER BY id").fetchall()
        newest_of_sam = db.execute(f"{_NOTIFICATION} WHERE user_id = 'PSAMR00' ORDER BY id DESC").fetchall()
    assert before == [(("PACME00",) + row[:3] + row[3:5] + (f"RNOTE{i}", row[5])) for i, row in enumerate(sent)]

    store = Store(path)
    await store.open()
    try:
        assert await store.schema_version() == migrations()[-1][0]
    finally:
        await store.close()

    assert _rows(path, f"{_NOTIFICATION} ORDER BY id") == before
    assert _rows(path, f"{_NOTIFICATION} WHERE user_id = 'PSAMR00' ORDER BY id DESC") == newest_of_sam
    assert _rows(path, "SELECT id, user_id, notification_address, notification_text FROM log_entries"
                       " ORDER BY rowid") == [
        entry for i, (_, user, _, address, text, _) in enumerate(sent)
        for entry in ((f"RTRIG{i}", None, None, None), (f"RNOTE{i}", user, address, text))]
    assert _rows(path, "SELECT type FROM sqlite_master WHERE name = 'notifications'") == [("view",)]
