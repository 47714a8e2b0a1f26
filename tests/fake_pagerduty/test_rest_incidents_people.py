"""REST, the people side of incidents (issue 15): POST /incidents, reassigning, escalating, priority, title and
urgency through PUT /incidents/{id}, snooze, merge, notes, and the account's log entries. Every answer is also
checked against rest.json by the `sandbox` client's hook (tests/rest_validation.py)."""

from __future__ import annotations

import pytest

from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.rest_helpers import FROM_DANA, incident_by_key, trigger

BASE = "http://sandbox.test"
SAM = {"id": "PSAMR00", "type": "user_reference", "summary": "Sam Rivera", "self": f"{BASE}/api/users/PSAMR00",
       "html_url": f"{BASE}/users/PSAMR00"}
PRIYA_ID = "PPRIY00"
INVALID = "Invalid Input Provided"


def new_incident(**fields) -> dict:
    return {"incident": {"type": "incident", "title": "The server is on fire.",
                         "service": {"id": "PWEBS00", "type": "service_reference"}, **fields}}


async def create(sandbox, **fields):
    return await sandbox.post("/api/incidents", headers=FROM_DANA, json=new_incident(**fields))


def error(answer) -> tuple[int, str, int, list]:
    body = answer.json()["error"]
    return answer.status_code, body["message"], body["code"], body.get("errors")


async def entries(sandbox, incident_id: str) -> list[dict]:
    answer = await sandbox.get(f"/api/incidents/{incident_id}/log_entries", headers=REST_HEADERS)
    return list(reversed(answer.json()["log_entries"]))


# ---- POST /incidents --------------------------------------------------------------------------------------------


async def test_create_an_incident_assigned_by_the_services_policy(sandbox):
    answer = await create(sandbox, incident_key="fire-1", urgency="high",
                          priority={"id": "PPRIO01", "type": "priority_reference"},
                          body={"type": "incident_body", "details": "A disk is getting full."})
    assert answer.status_code == 201
    incident = answer.json()["incident"]
    assert (incident["title"], incident["status"], incident["urgency"], incident["incident_key"]) == (
        "The server is on fire.", "triggered", "high", "fire-1")
    assert [a["assignee"]["id"] for a in incident["assignments"]] == ["PDANA00"]
    assert incident["escalation_policy"]["id"] == "PPOLI00"
    assert (incident["priority"]["id"], incident["priority"]["name"], incident["priority"]["type"]) == (
        "PPRIO01", "P1", "priority")
    assert incident["last_status_change_by"]["id"] == "PDANA00"
    log = await entries(sandbox, incident["id"])
    assert [(e["type"], e["summary"]) for e in log] == [
        ("trigger_log_entry", "Triggered through the API."), ("assign_log_entry", "Assigned to Dana Demo."),
        ("notify_log_entry", "Notified Dana Demo by push notification."),
        ("notify_log_entry", "Notified Dana Demo by SMS.")]
    assert log[0]["agent"]["id"] == "PDANA00" and log[0]["channel"]["type"] == "api"
    again = await sandbox.get(f"/api/incidents/{incident['id']}", headers=REST_HEADERS)
    assert again.json()["incident"] == incident


async def test_create_with_assignments_assigns_directly_and_never_escalates(sandbox):
    answer = await create(sandbox, assignments=[{"assignee": {"id": "PSAMR00", "type": "user_reference"}}])
    assert answer.status_code == 201
    incident = answer.json()["incident"]
    assert [a["assignee"] for a in incident["assignments"]] == [SAM]
    assert incident["assigned_via"] == "direct_assignment"
    assert [e["summary"] for e in await entries(sandbox, incident["id"])][1] == "Assigned to Sam Rivera by Dana Demo."
    advanced = await sandbox.post("/_sandbox/clock", json={"advance_seconds": 3600})
    assert advanced.json()["applied"] == []


async def test_an_open_incident_with_the_same_key_refuses_a_second(sandbox):
    assert (await create(sandbox, incident_key="dup")).status_code == 201
    answer = await create(sandbox, incident_key="dup")
    assert error(answer) == (400, INVALID, 2001, ["Open incident with key 'dup' already exists"])
    (incident,) = (await sandbox.get("/api/incidents?incident_key=dup", headers=REST_HEADERS)).json()["incidents"]
    await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                      json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert (await create(sandbox, incident_key="dup")).status_code == 201  # resolved: the key is free again


async def test_an_incident_key_dedups_with_the_events_api_too(sandbox):
    await trigger(sandbox, "from-events")
    answer = await create(sandbox, incident_key="from-events")
    assert error(answer)[3] == ["Open incident with key 'from-events' already exists"]


@pytest.mark.parametrize(("fields", "errors"), [
    ({"type": "incident_reference"}, ["Incident type must be incident"]),
    ({"title": ""}, ["Title cannot be empty."]),  # PagerDuty's words (PagerDuty/pdpyras#85)
    ({"service": None}, ["Service must be a reference with an id"]),
    ({"urgency": "medium"}, ["Urgency must be one of: high, low"]),
    ({"assignments": [{"assignee": {"id": "PSAMR00"}}], "escalation_policy": {"id": "PPOLI00"}},
     ["Assignments cannot be specified if an escalation policy is given"]),
    ({"service": {"id": "PNOSUCH", "type": "service_reference"}}, ["Service not found"]),
    ({"priority": {"id": "PNOSUCH", "type": "priority_reference"}}, ["Priority not found"]),
    ({"assignments": [{"assignee": {"id": "PNOSUCH", "type": "user_reference"}}]}, ["Assignee not found"]),
    ({"escalation_policy": {"id": "PNOSUCH", "type": "escalation_policy_reference"}},
     ["Escalation policy not found"]),
])
async def test_create_refuses_bad_bodies(sandbox, fields, errors):
    assert error(await create(sandbox, **fields)) == (400, INVALID, 2001, errors)


async def test_create_needs_from(sandbox):
    answer = await sandbox.post("/api/incidents", headers=REST_HEADERS, json=new_incident())
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 2016


# ---- PUT /incidents/{id}: reassign, escalate, priority, title, urgency ---------------------------------------


async def test_reassign_to_a_person_notifies_them_and_sends_reassigned(sandbox, sandbox_app):
    heard = []
    sandbox_app.state.changes.listen(heard.extend)
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json={"incident": {
        "type": "incident_reference", "assignments": [{"assignee": {"id": "PSAMR00", "type": "user_reference"}}]}})
    assert answer.status_code == 200
    assert [a["assignee"] for a in answer.json()["incident"]["assignments"]] == [SAM]
    log = await entries(sandbox, incident["id"])
    assert [(e["type"], e["summary"]) for e in log[-3:]] == [
        ("assign_log_entry", "Assigned to Sam Rivera by Dana Demo."),
        ("notify_log_entry", "Notified Sam Rivera by push notification."),
        ("notify_log_entry", "Notified Sam Rivera by SMS.")]
    assert log[-3]["agent"]["id"] == "PDANA00"
    assert [c.event_type for c in heard][-1] == "incident.reassigned"


async def test_escalate_to_a_level(sandbox):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                               json={"incident": {"type": "incident_reference", "escalation_level": 2}})
    assert answer.status_code == 200
    assert [a["assignee"]["id"] for a in answer.json()["incident"]["assignments"]] == ["PSAMR00"]
    assert (await entries(sandbox, incident["id"]))[-3]["summary"] == "Escalated to Sam Rivera by Dana Demo."
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                               json={"incident": {"type": "incident_reference", "escalation_level": 3}})
    assert error(answer) == (400, INVALID, 2001, ["Escalation level 3 has nobody on call"])


async def test_priority_title_and_urgency(sandbox):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json={"incident": {
        "type": "incident_reference", "priority": {"id": "PPRIO02", "type": "priority_reference"},
        "title": "Disk full, again", "urgency": "low"}})
    assert answer.status_code == 200
    updated = answer.json()["incident"]
    assert (updated["priority"]["name"], updated["title"], updated["urgency"]) == ("P2", "Disk full, again", "low")
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                               json={"incident": {"type": "incident_reference", "priority": None}})
    assert answer.json()["incident"]["priority"] is None


async def test_the_bulk_put_reassigns_and_sets_priorities_too(sandbox):
    """PUT /incidents takes the same fields per incident as PUT /incidents/{id} (it answered 200 and ignored
    them); a bad reference in any item is a 400 before anything changes."""
    await trigger(sandbox, "disk")
    await trigger(sandbox, "cpu", summary="CPU hot on web-2")
    disk, cpu = await incident_by_key(sandbox, "disk"), await incident_by_key(sandbox, "cpu")
    bad = await sandbox.put("/api/incidents", headers=FROM_DANA, json={"incidents": [
        {"id": disk["id"], "type": "incident_reference", "priority": {"id": "PPRIO01", "type": "priority_reference"}},
        {"id": cpu["id"], "type": "incident_reference", "priority": {"id": "PNOPE00", "type": "priority_reference"}}]})
    assert error(bad) == (400, INVALID, 2001, ["Priority not found"])
    assert (await incident_by_key(sandbox, "disk"))["priority"] is None
    answer = await sandbox.put("/api/incidents", headers=FROM_DANA, json={"incidents": [
        {"id": disk["id"], "type": "incident_reference",
         "assignments": [{"assignee": {"id": "PSAMR00", "type": "user_reference"}}]},
        {"id": cpu["id"], "type": "incident_reference", "status": "acknowledged",
         "priority": {"id": "PPRIO01", "type": "priority_reference"}}]})
    assert answer.status_code == 200
    disk, cpu = answer.json()["incidents"]
    assert [a["assignee"] for a in disk["assignments"]] == [SAM]
    assert (cpu["priority"]["name"], cpu["status"]) == ("P1", "acknowledged")
    assert (await entries(sandbox, disk["id"]))[-3]["summary"] == "Assigned to Sam Rivera by Dana Demo."


async def test_a_resolved_incident_cannot_be_reassigned(sandbox):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                      json={"incident": {"type": "incident_reference", "status": "resolved"}})
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json={"incident": {
        "type": "incident_reference", "escalation_policy": {"id": "PPOLI00", "type": "escalation_policy_reference"}}})
    assert error(answer) == (400, INVALID, 2001, ["Incident Already Resolved"])


# ---- snooze and merge ---------------------------------------------------------------------------------------------


async def test_snooze_returns_it_to_triggered_after_the_duration(sandbox):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    url = f"/api/incidents/{incident['id']}/snooze"
    answer = await sandbox.post(url, headers=FROM_DANA, json={"duration": 600})
    assert error(answer) == (400, INVALID, 2001, ["Incident must be acknowledged to be snoozed"])
    await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                      json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    answer = await sandbox.post(url, headers=FROM_DANA, json={"duration": 600})
    assert answer.status_code == 201 and answer.json()["incident"]["status"] == "acknowledged"
    snooze = (await entries(sandbox, incident["id"]))[-1]
    assert (snooze["type"], snooze["summary"]) == ("snooze_log_entry", "Snoozed by Dana Demo.")
    assert snooze["changed_actions"][0]["type"] == "unacknowledge"
    applied = (await sandbox.post("/_sandbox/clock", json={"advance_seconds": 601})).json()["applied"]
    assert applied[0] == {"incident_id": incident["id"], "event_type": "incident.unacknowledged"}
    bad = await sandbox.post(url, headers=FROM_DANA, json={"duration": 0})
    assert error(bad) == (400, INVALID, 2001, ["Duration must be an integer from 1 to 604800 seconds"])


async def test_merge_moves_the_alerts_and_resolves_the_sources(sandbox):
    await trigger(sandbox, "a", summary="Disk full on web-1")
    await trigger(sandbox, "b", summary="Disk full on web-2")
    target, source = await incident_by_key(sandbox, "a"), await incident_by_key(sandbox, "b")
    answer = await sandbox.put(f"/api/incidents/{target['id']}/merge", headers=FROM_DANA,
                               json={"source_incidents": [{"id": source["id"], "type": "incident_reference"}]})
    assert answer.status_code == 200
    assert answer.json()["incident"] == {"id": target["id"], "type": "incident_reference",
                                         "summary": "[#1] Disk full on web-1",
                                         "self": f"{BASE}/api/incidents/{target['id']}",
                                         "html_url": f"{BASE}/incidents/{target['id']}"}
    target = (await sandbox.get(f"/api/incidents/{target['id']}", headers=REST_HEADERS)).json()["incident"]
    assert target["alert_counts"] == {"all": 2, "triggered": 2, "resolved": 0}
    merged = (await sandbox.get(f"/api/incidents/{source['id']}", headers=REST_HEADERS)).json()["incident"]
    assert merged["status"] == "resolved"
    assert merged["resolve_reason"]["type"] == "merge_resolve_reason"
    assert merged["resolve_reason"]["incident"]["id"] == target["id"]
    answer = await sandbox.put(f"/api/incidents/{target['id']}/merge", headers=FROM_DANA,
                               json={"source_incidents": [{"id": target["id"], "type": "incident_reference"}]})
    assert error(answer) == (400, INVALID, 2001, ["An incident cannot be merged into itself"])
    answer = await sandbox.put(f"/api/incidents/{target['id']}/merge", headers=FROM_DANA,
                               json={"source_incidents": [{"id": "QNOSUCH", "type": "incident_reference"}]})
    assert answer.status_code == 404


# ---- notes ------------------------------------------------------------------------------------------------------


async def test_notes(sandbox):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    url = f"/api/incidents/{incident['id']}/notes"
    assert (await sandbox.get(url, headers=REST_HEADERS)).json() == {"notes": []}
    answer = await sandbox.post(url, headers=FROM_DANA, json={"note": {"content": "Firefighters are on the scene."}})
    assert answer.status_code == 200
    note = answer.json()["note"]
    assert (note["content"], note["user"]["id"], note["channel"]) == (
        "Firefighters are on the scene.", "PDANA00", {"summary": "The PagerDuty website or APIs"})
    assert (await sandbox.get(url, headers=REST_HEADERS)).json() == {"notes": [note]}
    annotate = (await entries(sandbox, incident["id"]))[-1]
    assert (annotate["type"], annotate["summary"]) == ("annotate_log_entry", "Note added by Dana Demo.")
    blank = await sandbox.post(url, headers=FROM_DANA, json={"note": {"content": " "}})
    assert error(blank) == (400, INVALID, 2001, ["Content can't be blank"])
    assert (await sandbox.post(url, headers=REST_HEADERS, json={"note": {"content": "x"}})).status_code == 400
    assert (await sandbox.get("/api/incidents/QNOSUCH/notes", headers=REST_HEADERS)).status_code == 404


# ---- log entries across the account ------------------------------------------------------------------------------


async def test_log_entries_across_the_account(sandbox):
    await trigger(sandbox, "a")
    await trigger(sandbox, "b")
    listing = (await sandbox.get("/api/log_entries?total=true", headers=REST_HEADERS)).json()
    assert listing["total"] == 8 and len(listing["log_entries"]) == 8
    overview = (await sandbox.get("/api/log_entries?is_overview=true", headers=REST_HEADERS)).json()
    assert {e["type"] for e in overview["log_entries"]} == {"trigger_log_entry", "assign_log_entry"}
    first = listing["log_entries"][0]
    one = await sandbox.get(f"/api/log_entries/{first['id']}?include[]=incidents", headers=REST_HEADERS)
    assert one.status_code == 200
    entry = one.json()["log_entry"]
    assert entry["id"] == first["id"] and entry["incident"]["type"] == "incident"
    assert (await sandbox.get("/api/log_entries/RNOSUCH", headers=REST_HEADERS)).status_code == 404
    future = (await sandbox.get("/api/log_entries?since=2099-01-01T00:00:00Z", headers=REST_HEADERS)).json()
    assert future["log_entries"] == []
