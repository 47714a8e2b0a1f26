"""REST API: services, their integrations, change events."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.rest_helpers import BASE, trigger

NOT_FOUND = {"error": {"message": "Not Found", "code": 2100}}


def invalid(*errors: str) -> dict:
    return {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": list(errors)}}


async def _create(sandbox, **fields) -> dict:
    response = await sandbox.post("/api/services", headers=REST_HEADERS, json={"service": {"type": "service", **fields}})
    assert response.status_code == 201, response.text
    return response.json()["service"]


async def test_list_services(sandbox):
    response = await sandbox.get("/api/services", headers=REST_HEADERS)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("limit", "offset", "more", "total")} == {
        "limit": 25, "offset": 0, "more": False, "total": None}
    (service,) = body["services"]
    assert {k: service[k] for k in ("id", "type", "summary", "name", "self", "html_url", "status",
                                    "acknowledgement_timeout", "auto_resolve_timeout")} == {
        "id": "PWEBS00", "type": "service", "summary": "Acme Website", "name": "Acme Website",
        "self": f"{BASE}/api/services/PWEBS00", "html_url": f"{BASE}/services/PWEBS00", "status": "active",
        "acknowledgement_timeout": 1800, "auto_resolve_timeout": 14400}
    assert service["integrations"] == [{
        "id": "PINTG00", "type": "events_api_v2_inbound_integration_reference", "summary": "Events API v2",
        "self": f"{BASE}/api/services/PWEBS00/integrations/PINTG00",
        "html_url": f"{BASE}/services/PWEBS00/integrations/PINTG00"}]
    assert service["last_incident_timestamp"] is None
    assert service["escalation_policy"]["type"] == "escalation_policy_reference"


async def test_list_services_by_name_and_pages(sandbox):
    for name in ("Billing", "Checkout", "Acme API"):
        await _create(sandbox, name=name)
    response = await sandbox.get("/api/services?limit=2&total=true", headers=REST_HEADERS)
    body = response.json()
    assert [s["name"] for s in body["services"]] == ["Acme API", "Acme Website"]
    assert (body["more"], body["total"]) == (True, 4)
    response = await sandbox.get("/api/services?limit=2&offset=2", headers=REST_HEADERS)
    assert [s["name"] for s in response.json()["services"]] == ["Billing", "Checkout"]
    response = await sandbox.get("/api/services?query=acme", headers=REST_HEADERS)
    assert [s["name"] for s in response.json()["services"]] == ["Acme API", "Acme Website"]


async def test_get_service_shows_last_incident(sandbox):
    await trigger(sandbox, "k1")
    response = await sandbox.get("/api/services/PWEBS00", headers=REST_HEADERS)
    assert response.status_code == 200
    service = response.json()["service"]
    assert service["id"] == "PWEBS00"
    incident = (await sandbox.get("/api/incidents", headers=REST_HEADERS)).json()["incidents"][0]
    assert service["last_incident_timestamp"] == incident["created_at"]


async def test_unknown_service_is_404(sandbox):
    for path in ("/api/services/PNOPE00", "/api/services/PNOPE00/integrations/PINTG00",
                 "/api/services/PWEBS00/integrations/PNOPE00"):
        response = await sandbox.get(path, headers=REST_HEADERS)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


async def test_create_service(sandbox):
    service = await _create(sandbox, name="Payments", description="Takes money", acknowledgement_timeout=600,
                            auto_resolve_timeout=3600)
    assert re.fullmatch(r"P[A-Z0-9]{6}", service["id"])
    assert {k: service[k] for k in ("type", "name", "summary", "description", "acknowledgement_timeout",
                                    "auto_resolve_timeout", "status", "integrations")} == {
        "type": "service", "name": "Payments", "summary": "Payments", "description": "Takes money",
        "acknowledgement_timeout": 600, "auto_resolve_timeout": 3600, "status": "active", "integrations": []}
    response = await sandbox.get(f"/api/services/{service['id']}", headers=REST_HEADERS)
    assert response.json() == {"service": service}


async def test_create_service_timeouts_zero_null_or_unset_are_off(sandbox):
    service = await _create(sandbox, name="Quiet", acknowledgement_timeout=0, auto_resolve_timeout=None)
    assert (service["acknowledgement_timeout"], service["auto_resolve_timeout"]) == (None, None)
    service = await _create(sandbox, name="Quieter")
    assert (service["acknowledgement_timeout"], service["auto_resolve_timeout"]) == (None, None)


async def test_create_service_urgency_rule(sandbox):
    service = await _create(sandbox, name="Always high", incident_urgency_rule={"type": "constant", "urgency": "low"})
    assert service["incident_urgency_rule"] == {"type": "constant", "urgency": "low"}
    response = await sandbox.post(f"/api/services/{service['id']}/integrations", headers=REST_HEADERS,
                                  json={"integration": {"type": "events_api_v2_inbound_integration"}})
    key = response.json()["integration"]["integration_key"]
    await trigger(sandbox, "k1", severity="critical", routing_key=key)
    response = await sandbox.get(f"/api/incidents?service_ids[]={service['id']}", headers=REST_HEADERS)
    assert response.json()["incidents"][0]["urgency"] == "low"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"service": {"type": "service", "name": "Acme Website"}}, invalid("Name has already been taken")),
        ({"service": {"type": "service", "name": "  "}}, invalid("Name can't be blank")),
        ({"service": {"type": "service"}}, invalid("Name can't be blank")),
        ({"service": {"type": "service", "name": "X", "acknowledgement_timeout": -5}},
         invalid("Acknowledgement timeout must be a non-negative integer or null")),
        ({"service": {"type": "service", "name": "X", "auto_resolve_timeout": "soon"}},
         invalid("Auto resolve timeout must be a non-negative integer or null")),
        ({"service": {"type": "service", "name": "X", "incident_urgency_rule": {"type": "constant", "urgency": "mid"}}},
         invalid("Incident urgency rule must be constant with urgency high, low or severity_based")),
        ({"name": "X"}, invalid("Service must be an object")),
    ],
)
async def test_create_service_rejects_bad_bodies(sandbox, body, expected):
    response = await sandbox.post("/api/services", headers=REST_HEADERS, json=body)
    assert (response.status_code, response.json()) == (400, expected)
    services = (await sandbox.get("/api/services", headers=REST_HEADERS)).json()["services"]
    assert [s["name"] for s in services] == ["Acme Website"]


async def test_get_integration_has_its_key(sandbox):
    response = await sandbox.get("/api/services/PWEBS00/integrations/PINTG00", headers=REST_HEADERS)
    assert response.status_code == 200
    integration = response.json()["integration"]
    assert integration == {
        "id": "PINTG00", "type": "events_api_v2_inbound_integration", "summary": "Events API v2",
        "self": f"{BASE}/api/services/PWEBS00/integrations/PINTG00",
        "html_url": f"{BASE}/services/PWEBS00/integrations/PINTG00", "name": "Events API v2",
        "service": {"id": "PWEBS00", "type": "service_reference", "summary": "Acme Website",
                    "self": f"{BASE}/api/services/PWEBS00", "html_url": f"{BASE}/services/PWEBS00"},
        "created_at": integration["created_at"], "vendor": None, "integration_key": SAMPLE_KEY,
    }


async def test_create_integration_gives_a_working_key(sandbox):
    service = await _create(sandbox, name="Payments")
    response = await sandbox.post(f"/api/services/{service['id']}/integrations", headers=REST_HEADERS,
                                  json={"integration": {"type": "events_api_v2_inbound_integration",
                                                        "name": "Monitoring"}})
    assert response.status_code == 201
    integration = response.json()["integration"]
    assert re.fullmatch(r"[0-9a-f]{32}", integration["integration_key"])
    assert (integration["type"], integration["name"], integration["service"]["id"]) == (
        "events_api_v2_inbound_integration", "Monitoring", service["id"])
    fetched = await sandbox.get(f"/api/services/{service['id']}/integrations/{integration['id']}",
                                headers=REST_HEADERS)
    assert fetched.json() == {"integration": integration}
    # Events sent with the new key land on the new service.
    await trigger(sandbox, "pay-1", summary="Payments down", routing_key=integration["integration_key"])
    response = await sandbox.get(f"/api/incidents?service_ids[]={service['id']}", headers=REST_HEADERS)
    assert [i["title"] for i in response.json()["incidents"]] == ["Payments down"]
    service = (await sandbox.get(f"/api/services/{service['id']}", headers=REST_HEADERS)).json()["service"]
    assert [i["id"] for i in service["integrations"]] == [integration["id"]]


async def test_create_v1_integration(sandbox):
    response = await sandbox.post("/api/services/PWEBS00/integrations", headers=REST_HEADERS,
                                  json={"integration": {"type": "generic_events_api_inbound_integration"}})
    assert response.status_code == 201
    integration = response.json()["integration"]
    assert (integration["type"], integration["name"]) == ("generic_events_api_inbound_integration", "Events API V1")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"integration": {"type": "generic_email_inbound_integration"}},
         invalid("Type must be one of: events_api_v2_inbound_integration, generic_events_api_inbound_integration")),
        ({"integration": {"type": "events_api_v2_inbound_integration", "name": ""}}, invalid("Name can't be blank")),
        ({"type": "events_api_v2_inbound_integration"}, invalid("Integration must be an object")),
    ],
)
async def test_create_integration_rejects_bad_bodies(sandbox, body, expected):
    response = await sandbox.post("/api/services/PWEBS00/integrations", headers=REST_HEADERS, json=body)
    assert (response.status_code, response.json()) == (400, expected)


async def test_create_integration_on_unknown_service_is_404(sandbox):
    response = await sandbox.post("/api/services/PNOPE00/integrations", headers=REST_HEADERS,
                                  json={"integration": {"type": "events_api_v2_inbound_integration"}})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# ---- change events --------------------------------------------------------------------------------------


async def _change(sandbox, summary: str, timestamp: str | None = None) -> None:
    payload = {"summary": summary, "source": "ci", "custom_details": {"build": 7}}
    if timestamp:
        payload["timestamp"] = timestamp
    response = await sandbox.post("/v2/change/enqueue", json={
        "routing_key": SAMPLE_KEY, "payload": payload, "links": [{"href": "https://ci.test/7", "text": "Build 7"}]})
    assert response.status_code == 202, response.text


async def test_change_events_are_listed_newest_first(sandbox):
    await _change(sandbox, "Deploy 1")
    await _change(sandbox, "Deploy 2")
    response = await sandbox.get("/api/change_events?total=true", headers=REST_HEADERS)
    assert response.status_code == 200
    body = response.json()
    assert [c["summary"] for c in body["change_events"]] == ["Deploy 2", "Deploy 1"]
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (25, 0, False, 2)
    event = body["change_events"][0]
    assert (event["type"], event["source"], event["custom_details"]) == ("change_event", "ci", {"build": 7})
    assert event["links"] == [{"href": "https://ci.test/7", "text": "Build 7"}]
    assert [s["id"] for s in event["services"]] == ["PWEBS00"]
    assert event["integration"]["id"] == "PINTG00"
    assert event["routing_key"] == SAMPLE_KEY
    response = await sandbox.get("/api/change_events?limit=1", headers=REST_HEADERS)
    body = response.json()
    assert ([c["summary"] for c in body["change_events"]], body["more"]) == (["Deploy 2"], True)


async def test_change_events_since_until(sandbox):
    await _change(sandbox, "Old deploy", timestamp="2026-01-10T10:00:00Z")
    await _change(sandbox, "Newer deploy", timestamp="2026-03-10T10:00:00Z")
    response = await sandbox.get("/api/change_events?since=2026-02-01T00:00:00Z", headers=REST_HEADERS)
    assert [c["summary"] for c in response.json()["change_events"]] == ["Newer deploy"]
    response = await sandbox.get("/api/change_events?until=2026-02-01T00:00:00Z", headers=REST_HEADERS)
    assert [c["summary"] for c in response.json()["change_events"]] == ["Old deploy"]
    response = await sandbox.get("/api/change_events?since=soon", headers=REST_HEADERS)
    assert (response.status_code, response.json()) == (400, invalid("Since must be a valid ISO 8601 date"))
