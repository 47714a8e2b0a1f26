"""Alerts, incidents and deduplication (contract section 5), seen in the database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta

from fake_pagerduty.domain.clock import parse_iso
from fake_pagerduty.seed import apply_seed
from tests.conftest import SAMPLE_KEY

V1 = "/generic/2010-04-15/create_event.json"
V2 = "/v2/enqueue"
OTHER_KEY = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb"


def event(action: str, key: str = "disk-full", routing_key: str = SAMPLE_KEY, severity: str = "critical",
          summary: str = "Disk full on db1") -> dict:
    body = {"routing_key": routing_key, "event_action": action, "dedup_key": key}
    if action == "trigger":
        body["payload"] = {"summary": summary, "source": "db1", "severity": severity}
    return body


def rows(settings, sql: str, *params) -> list[dict]:
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


def incidents(settings) -> list[dict]:
    return rows(settings, "SELECT * FROM incidents ORDER BY incident_number")


def outcomes(settings) -> list[str]:
    return [r["outcome"] for r in rows(settings, "SELECT outcome FROM events ORDER BY id")]


async def test_trigger_opens_an_alert_and_a_triggered_incident(sandbox, sandbox_settings):
    await sandbox.post(V2, json=event("trigger"))
    (incident,) = incidents(sandbox_settings)
    assert incident["incident_number"] == 1
    assert incident["status"] == "triggered"
    assert incident["title"] == "Disk full on db1"
    assert incident["urgency"] == "high"
    assert incident["incident_key"] == "disk-full"
    assert incident["service_id"] == "PWEBS00"
    (alert,) = rows(sandbox_settings, "SELECT * FROM alerts")
    assert (alert["incident_id"], alert["status"], alert["alert_key"]) == (incident["id"], "triggered", "disk-full")


async def test_trigger_on_an_open_alert_is_added_to_it(sandbox, sandbox_settings):
    await sandbox.post(V2, json=event("trigger"))
    await sandbox.post(V2, json=event("trigger", summary="Disk still full"))
    (incident,) = incidents(sandbox_settings)
    assert len(rows(sandbox_settings, "SELECT * FROM alerts")) == 1
    logs = rows(sandbox_settings, "SELECT type FROM log_entries WHERE incident_id = ? ORDER BY seq", incident["id"])
    assert [entry["type"] for entry in logs] == ["trigger_log_entry", "assign_log_entry", "notify_log_entry",
                                                 "notify_log_entry", "trigger_log_entry"]  # no second assignment
    assert outcomes(sandbox_settings) == ["created", "deduplicated"]


async def test_acknowledged_incident_stays_acknowledged_on_a_new_trigger(sandbox, sandbox_settings):
    await sandbox.post(V2, json=event("trigger"))
    await sandbox.post(V2, json=event("acknowledge"))
    await sandbox.post(V2, json=event("trigger"))
    (incident,) = incidents(sandbox_settings)
    assert incident["status"] == "acknowledged"
    (ack,) = json.loads(incident["acknowledgements"])
    assert ack["acknowledger"]["type"] == "events_api_v2_inbound_integration_reference"
    assert outcomes(sandbox_settings) == ["created", "acknowledged", "deduplicated"]


async def test_resolve_resolves_alert_and_incident_then_a_trigger_opens_a_new_one(sandbox, sandbox_settings):
    await sandbox.post(V2, json=event("trigger"))
    await sandbox.post(V2, json=event("resolve"))
    first, = incidents(sandbox_settings)
    assert first["status"] == "resolved" and first["resolved_at"]
    await sandbox.post(V2, json=event("trigger"))
    first, second = incidents(sandbox_settings)
    assert (first["status"], second["status"]) == ("resolved", "triggered")
    assert second["incident_number"] == 2
    assert [a["status"] for a in rows(sandbox_settings, "SELECT status FROM alerts ORDER BY created_at, rowid")] == [
        "resolved", "triggered"]


async def test_ack_and_resolve_for_unknown_or_resolved_keys_are_accepted_and_dropped(sandbox, sandbox_settings):
    for action in ("acknowledge", "resolve"):
        response = await sandbox.post(V2, json=event(action, key="never-seen"))
        assert response.status_code == 202
        assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "never-seen"}
    await sandbox.post(V2, json=event("trigger"))
    await sandbox.post(V2, json=event("resolve"))
    response = await sandbox.post(V1, json={"service_key": SAMPLE_KEY, "event_type": "resolve",
                                            "incident_key": "disk-full"})
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "Event processed", "incident_key": "disk-full"}
    assert outcomes(sandbox_settings) == ["dropped", "dropped", "created", "resolved", "dropped"]
    (incident,) = incidents(sandbox_settings)
    assert incident["status"] == "resolved"
    dropped = rows(sandbox_settings, "SELECT outcome_detail FROM events WHERE outcome = 'dropped'")
    assert dropped[0]["outcome_detail"] == "no open alert with dedup key 'never-seen' on this integration"


async def test_the_same_key_on_two_integrations_never_deduplicates(sandbox, sandbox_app, sandbox_settings):
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await apply_seed(store, {"accounts": [{"subdomain": "acme", "services": [
        {"name": "Billing", "integrations": [{"key": OTHER_KEY}]}]}]}, now)
    await sandbox.post(V2, json=event("trigger"))
    await sandbox.post(V2, json=event("trigger", routing_key=OTHER_KEY))
    assert [i["incident_number"] for i in incidents(sandbox_settings)] == [1, 2]
    await sandbox.post(V2, json=event("resolve", routing_key=OTHER_KEY))
    assert [i["status"] for i in incidents(sandbox_settings)] == ["triggered", "resolved"]


async def test_urgency_follows_severity(sandbox, sandbox_settings):
    for n, severity in enumerate(["critical", "error", "warning", "info"]):
        await sandbox.post(V2, json=event("trigger", key=f"k{n}", severity=severity))
    assert [i["urgency"] for i in incidents(sandbox_settings)] == ["high", "high", "low", "low"]


async def test_incident_numbers_increase_per_account(sandbox, sandbox_app, sandbox_settings):
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await apply_seed(store, {"accounts": [{"subdomain": "globex", "name": "Globex", "services": [
        {"name": "Payments", "integrations": [{"key": OTHER_KEY}]}]}]}, now)
    await sandbox.post(V2, json=event("trigger", key="a"))
    await sandbox.post(V2, json=event("trigger", key="a", routing_key=OTHER_KEY))
    await sandbox.post(V2, json=event("trigger", key="b"))
    numbers = rows(sandbox_settings, "SELECT a.subdomain, i.incident_number FROM incidents i"
                                     " JOIN accounts a ON a.id = i.account_id ORDER BY i.rowid")
    assert [(n["subdomain"], n["incident_number"]) for n in numbers] == [("acme", 1), ("globex", 1), ("acme", 2)]


async def test_fifty_concurrent_triggers_on_one_key_make_one_incident(sandbox, sandbox_settings):
    responses = await asyncio.gather(*(sandbox.post(V2, json=event("trigger")) for _ in range(50)))
    assert [r.status_code for r in responses] == [202] * 50
    assert len(incidents(sandbox_settings)) == 1
    assert sorted(outcomes(sandbox_settings)) == ["created"] + ["deduplicated"] * 49


async def test_acknowledgement_timeout_returns_the_incident_to_triggered(sandbox, sandbox_app, sandbox_settings):
    await sandbox.post(V2, json=event("trigger"))
    await sandbox.post(V2, json=event("acknowledge"))
    store = sandbox_app.state.store
    # from the acknowledgement's own time, not the clock's now: however slowly this runs, 1799 s is before
    (acknowledgement,) = json.loads(incidents(sandbox_settings)[0]["acknowledgements"])
    acknowledged_at = parse_iso(acknowledgement["at"])
    assert await store.incidents.apply_due_timeouts(acknowledged_at + timedelta(seconds=1799)) == []
    changes = await store.incidents.apply_due_timeouts(acknowledged_at + timedelta(seconds=1801))
    assert [c.event_type for c in changes] == ["incident.unacknowledged"]
    (incident,) = incidents(sandbox_settings)
    assert incident["status"] == "triggered" and json.loads(incident["acknowledgements"]) == []


async def test_auto_resolve_timeout_resolves_the_incident(sandbox, sandbox_app, sandbox_settings):
    await sandbox.post(V2, json=event("trigger"))
    store, clock = sandbox_app.state.store, sandbox_app.state.clock
    changes = await store.incidents.apply_due_timeouts(clock.now() + timedelta(seconds=14401))
    assert [c.event_type for c in changes] == ["incident.resolved"]
    (incident,) = incidents(sandbox_settings)
    assert incident["status"] == "resolved"
    assert rows(sandbox_settings, "SELECT status FROM alerts") == [{"status": "resolved"}]
    # The key is free again: the next trigger opens a new incident.
    await sandbox.post(V2, json=event("trigger"))
    assert len(incidents(sandbox_settings)) == 2


async def test_timeouts_switched_off_never_fire(sandbox, sandbox_app, sandbox_settings):
    store, clock = sandbox_app.state.store, sandbox_app.state.clock
    await apply_seed(store, {"accounts": [{"subdomain": "acme", "services": [
        {"name": "Acme Website", "acknowledgement_timeout": False, "auto_resolve_timeout": False}]}]}, clock.now())
    await sandbox.post(V2, json=event("trigger"))
    await sandbox.post(V2, json=event("acknowledge"))
    assert await store.incidents.apply_due_timeouts(clock.now() + timedelta(days=30)) == []
    assert incidents(sandbox_settings)[0]["status"] == "acknowledged"


async def test_change_events_land_on_the_service(sandbox, sandbox_settings):
    await sandbox.post("/v2/change/enqueue", json={
        "routing_key": SAMPLE_KEY,
        "payload": {"summary": "Build Success", "source": "ci", "timestamp": "2015-07-17T08:42:58.315+0000",
                    "custom_details": {"build": 220}},
        "links": [{"href": "https://ci.test/220", "text": "Build 220"}]})
    (change,) = rows(sandbox_settings, "SELECT * FROM change_events")
    assert (change["service_id"], change["summary"], change["source"]) == ("PWEBS00", "Build Success", "ci")
    assert json.loads(change["custom_details"]) == {"build": 220}
    assert json.loads(change["links"]) == [{"href": "https://ci.test/220", "text": "Build 220"}]
    assert incidents(sandbox_settings) == []
