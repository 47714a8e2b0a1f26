"""A new incident's log entries and notifications go in as INSERTs of many rows (`assignments.write_new_sync`, the
events writer's): however many people a step notifies — more than one statement's rows — every entry is there,
numbered from 1 in order, and every notification points at its own notify entry (no ports here)."""

from __future__ import annotations

from fake_pagerduty.app import create_app
from fake_pagerduty.domain.escalation import About
from fake_pagerduty.settings import Settings
from fake_pagerduty.store.assignments import NOBODY, StepRows, write_new_sync
from fake_pagerduty.store.events_connection import connect_events
from fake_pagerduty.store.transitions import log_params

AGENT = '{"id":"PWEBS00","type":"service_reference","summary":"Acme Website"}'
STAMP = "2026-12-02T03:00:00Z"


async def _migrated(tmp_path) -> str:
    settings = Settings(db_path=str(tmp_path / "sandbox.db"))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    return settings.db_path


async def test_a_step_notifying_more_people_than_one_insert_takes_writes_every_row_in_order(tmp_path):
    conn = connect_events(await _migrated(tmp_path))
    people = 150  # 151 notify and assign entries with the trigger's: three statements' worth
    rows = StepRows(NOBODY, (("assign_log_entry", "Assigned to many.", AGENT, '{"type":"auto"}', '{"assignees":[]}'),
                             *((("notify_log_entry", f"Notified person {i} by SMS.", AGENT, '{"type":"auto"}',
                                 f'{{"user":"{i}"}}')) for i in range(people))),
                    tuple((f"PUSER{i:03d}", "sms_notification", f"555{i:04d}", "") for i in range(people)))
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO incidents (id, account_id, service_id, incident_number, title, status, urgency,"
                 " created_at, updated_at, last_status_change_at) VALUES ('QNEW', 'PACME00', 'PWEBS00', 9001,"
                 " 'Disk full', 'triggered', 'high', ?, ?, ?)", (STAMP, STAMP, STAMP))
    trigger = log_params("PACME00", "QNEW", None, "trigger_log_entry", "Triggered through the API (v2).", AGENT,
                         {"type": "api"}, None, STAMP)
    write_new_sync(conn, rows, trigger, "PACME00", "QNEW", About(9001, "Disk full", "Acme Website", "high"), STAMP)
    conn.execute("COMMIT")

    entries = conn.execute("SELECT id, seq, type, summary FROM log_entries WHERE incident_id = 'QNEW'"
                           " ORDER BY rowid").fetchall()
    assert [e["seq"] for e in entries] == list(range(1, people + 3))
    assert [e["type"] for e in entries] == ["trigger_log_entry", "assign_log_entry"] + ["notify_log_entry"] * people
    assert entries[-1]["summary"] == f"Notified person {people - 1} by SMS."
    sent = conn.execute("SELECT user_id, address, text, log_entry_id FROM notifications WHERE incident_id = 'QNEW'"
                        " ORDER BY id").fetchall()
    assert [(n["user_id"], n["address"]) for n in sent] == [(f"PUSER{i:03d}", f"555{i:04d}") for i in range(people)]
    assert [n["log_entry_id"] for n in sent] == [e["id"] for e in entries[2:]]
    assert {n["text"] for n in sent} == {"ALRT #9001 : You were assigned to an incident. Go to PagerDuty to learn"
                                         " more. Reply 4: Ack, 6: Resolve"}
    conn.close()
