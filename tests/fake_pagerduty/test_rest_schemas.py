"""REST API objects checked against PagerDuty's own schemas in rest.json (Incident, Service, Alert, LogEntry,
Integration, ChangeEvent, Pagination), with their `$ref`s resolved through `referencing`."""

from __future__ import annotations

import pytest

from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.rest_helpers import FROM_DANA, incident_by_key, trigger
from tests.openapi import component_validator


def _without_nulls(value):
    """rest.json is OpenAPI 3.0 and leaves `nullable` off fields PagerDuty itself sends as null (`resolved_at`,
    `priority`, `last_incident_timestamp`, `vendor`…): nulls are dropped, every other value is checked."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _check(component: str, instance: dict) -> None:
    validator = component_validator("rest.json", component)
    errors = sorted(validator.iter_errors(_without_nulls(instance)), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.fixture
async def acked_incident(sandbox) -> dict:
    await trigger(sandbox, "k1", summary="The server is on fire.")
    incident = await incident_by_key(sandbox, "k1")
    response = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                                 json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    assert response.status_code == 200
    return response.json()["incident"]


async def test_incident_matches_rest_json(sandbox, acked_incident):
    response = await sandbox.get(f"/api/incidents/{acked_incident['id']}", headers=REST_HEADERS)
    incident = response.json()["incident"]
    _check("Incident", incident)
    for field in ("id", "type", "summary", "self", "html_url", "incident_number", "title", "status", "urgency",
                  "incident_key", "created_at", "updated_at", "last_status_change_at", "resolved_at", "service",
                  "acknowledgements", "assignments", "alert_counts", "escalation_policy", "last_status_change_by"):
        assert field in incident, field
    listing = (await sandbox.get("/api/incidents?total=true", headers=REST_HEADERS)).json()
    _check("Pagination", {k: v for k, v in listing.items() if k != "total"})
    for item in listing["incidents"]:
        _check("Incident", item)


async def test_resolved_incident_matches_rest_json(sandbox, acked_incident):
    response = await sandbox.put(f"/api/incidents/{acked_incident['id']}", headers=FROM_DANA,
                                 json={"incident": {"type": "incident_reference", "status": "resolved"}})
    _check("Incident", response.json()["incident"])


async def test_service_matches_rest_json(sandbox):
    response = await sandbox.get("/api/services/PWEBS00", headers=REST_HEADERS)
    _check("Service", response.json()["service"])
    response = await sandbox.post("/api/services", headers=REST_HEADERS, json={"service": {
        "type": "service", "name": "Payments", "acknowledgement_timeout": 600, "auto_resolve_timeout": 0}})
    _check("Service", response.json()["service"])


async def test_integration_matches_rest_json(sandbox):
    response = await sandbox.get("/api/services/PWEBS00/integrations/PINTG00", headers=REST_HEADERS)
    _check("Integration", response.json()["integration"])


async def test_alerts_and_log_entries_match_rest_json(sandbox, acked_incident):
    alerts = (await sandbox.get(f"/api/incidents/{acked_incident['id']}/alerts", headers=REST_HEADERS)).json()
    for alert in alerts["alerts"]:
        _check("Alert", alert)
    entries = (await sandbox.get(f"/api/incidents/{acked_incident['id']}/log_entries",
                                 headers=REST_HEADERS)).json()
    assert [e["type"] for e in entries["log_entries"]] == ["acknowledge_log_entry", "notify_log_entry",
                                                           "notify_log_entry", "assign_log_entry", "trigger_log_entry"]
    for entry in entries["log_entries"]:
        # rest.json's `channel` is a oneOf of loose objects that all accept any channel, so no channel can
        # match exactly one: it is checked by hand instead.
        assert isinstance(entry["channel"].get("type"), str)
        checked = {k: v for k, v in entry.items() if k != "channel"}
        if entry["agent"]["type"].endswith("_inbound_integration_reference"):
            # Events API agents are integration references, as PagerDuty sends them; AgentReference's enum
            # only lists the generic `integration_reference`, so they are checked as IntegrationReference.
            _check("IntegrationReference", checked.pop("agent"))
        _check("LogEntry", checked)


async def test_change_event_matches_rest_json(sandbox):
    response = await sandbox.post("/v2/change/enqueue", json={
        "routing_key": SAMPLE_KEY, "payload": {"summary": "Deploy 7", "source": "ci"}})
    assert response.status_code == 202
    body = (await sandbox.get("/api/change_events", headers=REST_HEADERS)).json()
    (event,) = body["change_events"]
    _check("ChangeEvent", event)
