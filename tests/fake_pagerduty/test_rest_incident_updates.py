"""REST API writes to incidents: `PUT /incidents/{id}` and `PUT /incidents` (acknowledge, resolve)."""

from __future__ import annotations

import sqlite3

import pytest

from fake_pagerduty.domain import incident_actions
from fake_pagerduty.domain.incident_actions import StatusChange
from fake_pagerduty.domain.incident_change import IncidentChange
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.rest_helpers import BASE, FROM_DANA, incident_by_key, trigger

NOT_FOUND = {"error": {"message": "Not Found", "code": 2100}}
MISSING_FROM = {"error": {
    "message": 'You must specify a user\'s email address in the "From" header to perform this action',
    "code": 2016}}
DANA = {"id": "PDANA00", "type": "user_reference", "summary": "Dana Demo",
        "self": f"{BASE}/api/users/PDANA00", "html_url": f"{BASE}/users/PDANA00"}


def invalid(*errors: str) -> dict:
    return {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": list(errors)}}


def status_body(status: str) -> dict:
    return {"incident": {"type": "incident_reference", "status": status}}


@pytest.fixture
def published(sandbox_app) -> list[IncidentChange]:
    seen: list[IncidentChange] = []
    sandbox_app.state.changes.listen(seen.extend)
    return seen


def _rows(sandbox_app, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(sandbox_app.state.store.path) as db:
        return db.execute(sql, params).fetchall()


async def test_acknowledge_through_put_incident(sandbox, sandbox_app, published):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    published.clear()
    response = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                                 json=status_body("acknowledged"))
    assert response.status_code == 200
    body = response.json()["incident"]
    assert body["status"] == "acknowledged"
    (ack,) = body["acknowledgements"]
    assert ack["acknowledger"] == DANA
    assert ack["at"] == body["last_status_change_at"] == body["updated_at"]
    assert body["last_status_change_by"] == DANA
    assert published == [IncidentChange("PACME00", incident["id"], "incident.acknowledged")]
    # It is in the database, with the service's acknowledgement timeout (1800 s) set.
    ((status, ack_timeout_at),) = _rows(
        sandbox_app, "SELECT status, ack_timeout_at FROM incidents WHERE id = ?", (incident["id"],))
    assert status == "acknowledged" and ack_timeout_at is not None
    # And a log entry names Dana.
    entries = (await sandbox.get(f"/api/incidents/{incident['id']}/log_entries", headers=REST_HEADERS)).json()
    newest = entries["log_entries"][0]
    assert (newest["type"], newest["agent"], newest["channel"]) == ("acknowledge_log_entry", DANA, {"type": "api"})
    assert newest["summary"] == "Acknowledged by Dana Demo."


async def test_acknowledge_twice_keeps_status_and_announces_once(sandbox, published):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    published.clear()
    for _ in range(2):
        response = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                                     json=status_body("acknowledged"))
        assert response.status_code == 200
    assert len(response.json()["incident"]["acknowledgements"]) == 2
    assert [c.event_type for c in published] == ["incident.acknowledged"]


async def test_resolve_resolves_the_incident_and_its_alerts(sandbox, sandbox_app, published):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    published.clear()
    response = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json=status_body("resolved"))
    assert response.status_code == 200
    body = response.json()["incident"]
    assert body["status"] == "resolved"
    assert body["resolved_at"] == body["last_status_change_at"]
    assert body["last_status_change_by"] == DANA
    assert body["acknowledgements"] == []
    assert body["alert_counts"] == {"all": 1, "triggered": 0, "resolved": 1}
    assert published == [IncidentChange("PACME00", incident["id"], "incident.resolved")]
    assert _rows(sandbox_app, "SELECT status FROM alerts WHERE incident_id = ?", (incident["id"],)) == [
        ("resolved",)]
    entries = (await sandbox.get(f"/api/incidents/{incident['id']}/log_entries", headers=REST_HEADERS)).json()
    assert entries["log_entries"][0]["type"] == "resolve_log_entry"
    assert entries["log_entries"][0]["agent"] == DANA
    # A new trigger with the same key opens a new incident.
    await trigger(sandbox, "k1")
    response = await sandbox.get("/api/incidents?incident_key=k1", headers=REST_HEADERS)
    assert [i["status"] for i in response.json()["incidents"]] == ["resolved", "triggered"]


@pytest.mark.parametrize("status", ["acknowledged", "resolved"])
async def test_a_resolved_incident_cannot_change(sandbox, published, status):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json=status_body("resolved"))
    published.clear()
    response = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json=status_body(status))
    assert (response.status_code, response.json()) == (400, invalid("Incident Already Resolved"))
    assert published == []
    assert (await incident_by_key(sandbox, "k1"))["status"] == "resolved"


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        (REST_HEADERS, 400, MISSING_FROM),
        ({**REST_HEADERS, "From": "  "}, 400, MISSING_FROM),
        ({**REST_HEADERS, "From": "nobody@acme.test"}, 400, invalid("Requester User Not Found")),
    ],
)
async def test_put_needs_a_from_header_naming_a_user(sandbox, headers, status, expected):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    for path, body in ((f"/api/incidents/{incident['id']}", status_body("acknowledged")),
                       ("/api/incidents", {"incidents": [{"id": incident["id"], "type": "incident_reference",
                                                          "status": "acknowledged"}]})):
        response = await sandbox.put(path, headers=headers, json=body)
        assert (response.status_code, response.json()) == (status, expected), path
    assert (await incident_by_key(sandbox, "k1"))["status"] == "triggered"


async def test_from_email_matches_any_case(sandbox):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    response = await sandbox.put(f"/api/incidents/{incident['id']}", headers={**REST_HEADERS, "From": "Demo@ACME.test"},
                                 json=status_body("acknowledged"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"incident": {"type": "incident_reference", "status": "triggered"}},
         invalid("Status must be one of: acknowledged, resolved")),
        ({"incident": {"type": "incident_reference", "status": "closed"}},
         invalid("Status must be one of: acknowledged, resolved")),
        ({"incident": {"type": "service", "status": "resolved"}}, invalid("Type must be incident or incident_reference")),
        ({"incident": "resolved"}, invalid("Incident must be an object")),
        ({}, invalid("Incident must be an object")),
    ],
)
async def test_put_incident_rejects_bad_bodies(sandbox, body, expected):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    response = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json=body)
    assert (response.status_code, response.json()) == (400, expected)


async def test_put_incident_rejects_non_json(sandbox):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    response = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, content=b"{nope")
    assert (response.status_code, response.json()) == (400, invalid("The request body is not valid JSON"))


async def test_put_unknown_incident_is_404(sandbox):
    response = await sandbox.put("/api/incidents/QNOPE", headers=FROM_DANA, json=status_body("resolved"))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


async def test_bulk_update_in_one_go(sandbox, published):
    for key in ("a", "b", "c"):
        await trigger(sandbox, key)
    ids = {key: (await incident_by_key(sandbox, key))["id"] for key in ("a", "b", "c")}
    published.clear()
    response = await sandbox.put("/api/incidents", headers=FROM_DANA, json={"incidents": [
        {"id": ids["a"], "type": "incident_reference", "status": "acknowledged"},
        {"id": ids["b"], "type": "incident_reference", "status": "resolved"},
    ]})
    assert response.status_code == 200
    body = response.json()
    assert [(i["id"], i["status"]) for i in body["incidents"]] == [(ids["a"], "acknowledged"), (ids["b"], "resolved")]
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (2, 0, False, None)
    assert [c.event_type for c in published] == ["incident.acknowledged", "incident.resolved"]
    assert (await incident_by_key(sandbox, "c"))["status"] == "triggered"


async def test_bulk_update_is_all_or_nothing(sandbox, published):
    for key in ("a", "b"):
        await trigger(sandbox, key)
    ids = {key: (await incident_by_key(sandbox, key))["id"] for key in ("a", "b")}
    await sandbox.put(f"/api/incidents/{ids['b']}", headers=FROM_DANA, json=status_body("resolved"))
    published.clear()
    response = await sandbox.put("/api/incidents", headers=FROM_DANA, json={"incidents": [
        {"id": ids["a"], "type": "incident_reference", "status": "resolved"},
        {"id": ids["b"], "type": "incident_reference", "status": "acknowledged"},
    ]})
    assert (response.status_code, response.json()) == (400, invalid("Incident Already Resolved"))
    assert (await incident_by_key(sandbox, "a"))["status"] == "triggered"
    assert published == []
    response = await sandbox.put("/api/incidents", headers=FROM_DANA, json={"incidents": [
        {"id": ids["a"], "type": "incident_reference", "status": "resolved"},
        {"id": "QNOPE", "type": "incident_reference", "status": "resolved"},
    ]})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert (await incident_by_key(sandbox, "a"))["status"] == "triggered"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"incidents": []}, invalid("Incidents must be a non-empty array")),
        ({"incidents": {"id": "Q1"}}, invalid("Incidents must be a non-empty array")),
        ({}, invalid("Incidents must be a non-empty array")),
        ({"incidents": [{"type": "incident_reference", "status": "resolved"}]}, invalid("Id can't be blank")),
        # over 250: 413, as rest.json says (test_rest_params.py::test_a_bulk_update_over_250_is_413)
    ],
)
async def test_bulk_update_rejects_bad_bodies(sandbox, body, expected):
    response = await sandbox.put("/api/incidents", headers=FROM_DANA, json=body)
    assert (response.status_code, response.json()) == (400, expected)


async def test_bulk_update_accepts_250(sandbox):
    await trigger(sandbox, "k1")
    incident_id = (await incident_by_key(sandbox, "k1"))["id"]
    items = [{"id": incident_id, "type": "incident_reference", "status": "acknowledged"}] * 250
    response = await sandbox.put("/api/incidents", headers=FROM_DANA, json={"incidents": items})
    assert response.status_code == 200
    assert [i["id"] for i in response.json()["incidents"]] == [incident_id]


async def test_acknowledgement_timeout_returns_the_incident_to_triggered(sandbox, sandbox_app, published):
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA, json=status_body("acknowledged"))
    state = sandbox_app.state
    state.clock.advance(1801)
    published.clear()
    # The app's own sweeper may get there first; either way the change is published exactly once.
    state.changes.publish(await state.store.incidents.apply_due_timeouts(state.clock.now()))
    assert published == [IncidentChange("PACME00", incident["id"], "incident.unacknowledged")]
    refreshed = await incident_by_key(sandbox, "k1")
    assert (refreshed["status"], refreshed["acknowledgements"]) == ("triggered", [])


# ---- the store method the console shares ----------------------------------------------------------------


async def test_store_change_status_for_the_console(sandbox, sandbox_app):
    await trigger(sandbox, "k1")
    incident_id = (await incident_by_key(sandbox, "k1"))["id"]
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    dana = await store.accounts.user_by_email("PACME00", "demo@acme.test")
    changes = await store.incidents.change_status("PACME00", [StatusChange(incident_id, "resolved")], dana, now, channel="website")
    assert changes == [IncidentChange("PACME00", incident_id, "incident.resolved")]
    assert _rows(sandbox_app, "SELECT type, channel FROM log_entries WHERE incident_id = ? ORDER BY seq DESC LIMIT 1",
                 (incident_id,)) == [("resolve_log_entry", '{"type":"website"}')]
    with pytest.raises(incident_actions.IncidentAlreadyResolved):
        await store.incidents.change_status("PACME00", [StatusChange(incident_id, "acknowledged")], dana, now)
    with pytest.raises(incident_actions.IncidentNotFound):
        await store.incidents.change_status("POTHER0", [StatusChange(incident_id, "acknowledged")], dana, now)
