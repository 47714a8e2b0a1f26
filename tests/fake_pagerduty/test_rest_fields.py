"""Issue 17: the REST objects carry every field PagerDuty's schema documents for them (rest.json), but for a short
named list of fields PagerDuty itself sends only in cases the sandbox does not have — each with its reason."""

from __future__ import annotations

import pytest

from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.rest_spec import properties

ONLY_SOMETIMES = {
    ("Incident", "body"): "only with include[]=body, which GET /incidents and /incidents/{id} do not document",
    ("Incident", "conference_bridge"): "only with include[]=conference_bridge; the sandbox has no conference bridges",
    ("TriggerLogEntry", "note"): "only when a note came with the entry",
    ("TriggerLogEntry", "changeset"): "only for custom field updates, which the sandbox does not have",
    ("Service", "alert_grouping"): "deprecated (Alert Grouping Settings replace it); the sandbox groups no alerts",
    ("Service", "alert_grouping_timeout"): "deprecated, as alert_grouping",
    ("Service", "alert_grouping_parameters"): "deprecated, as alert_grouping",
    **{("Integration", name): "generic_email_inbound_integration only; the sandbox's integrations are Events API"
       for name in ("email_filter_mode", "email_filters", "email_incident_creation", "email_parsers",
                    "email_parsing_fallback", "integration_email")},
    ("WebhookSubscription", "oauth_client"): "only when the subscription was made with an oauth_client_id",
}


async def _objects(sandbox) -> dict[str, dict]:
    event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "fields",
             "payload": {"summary": "Disk full", "source": "web-1", "severity": "critical"}}
    assert (await sandbox.post("/v2/enqueue", json=event)).status_code == 202
    change = {"routing_key": SAMPLE_KEY, "payload": {"summary": "Deploy 7", "source": "ci"}}
    assert (await sandbox.post("/v2/change/enqueue", json=change)).status_code == 202

    async def get(url: str) -> dict:
        answer = await sandbox.get(url, headers=REST_HEADERS)
        assert answer.status_code == 200, answer.text
        return answer.json()

    (incident,) = (await get("/api/incidents?incident_key=fields"))["incidents"]
    entries = (await get(f"/api/incidents/{incident['id']}/log_entries"))["log_entries"]
    subscription = await sandbox.post("/api/webhook_subscriptions", headers=REST_HEADERS, json={
        "webhook_subscription": {"type": "webhook_subscription", "events": ["incident.triggered"],
                                 "delivery_method": {"type": "http_delivery_method", "url": "https://hooks.test/x"},
                                 "filter": {"type": "account_reference"}}})
    return {
        "Incident": (await get(f"/api/incidents/{incident['id']}"))["incident"],
        "Alert": (await get(f"/api/incidents/{incident['id']}/alerts"))["alerts"][0],
        "TriggerLogEntry": next(e for e in entries if e["type"] == "trigger_log_entry"),
        "Service": (await get("/api/services/PWEBS00"))["service"],
        "Integration": (await get("/api/services/PWEBS00/integrations/PINTG00"))["integration"],
        "ChangeEvent": (await get("/api/change_events"))["change_events"][0],
        "WebhookSubscription": subscription.json()["webhook_subscription"],
    }


@pytest.mark.parametrize("component", ["Incident", "Alert", "TriggerLogEntry", "Service", "Integration",
                                       "ChangeEvent", "WebhookSubscription"])
async def test_each_object_has_every_field_its_schema_documents(sandbox, component):
    obj = (await _objects(sandbox))[component]
    missing = {name for name in properties(component) - set(obj) if (component, name) not in ONLY_SOMETIMES}
    assert not missing, f"{component} lacks documented fields: {sorted(missing)}"
    stale = {name for (owner, name) in ONLY_SOMETIMES if owner == component and name in obj}
    assert not stale, f"{component} now sends {sorted(stale)}: take them off ONLY_SOMETIMES"


async def test_a_services_status_follows_its_incidents(sandbox):
    async def status() -> str:
        answer = await sandbox.get("/api/services/PWEBS00", headers=REST_HEADERS)
        listed = await sandbox.get("/api/services?name=Acme Website", headers=REST_HEADERS)
        assert listed.json()["services"][0]["status"] == answer.json()["service"]["status"]
        return answer.json()["service"]["status"]

    async def event(action: str, key: str) -> None:
        body = {"routing_key": SAMPLE_KEY, "event_action": action, "dedup_key": key,
                "payload": {"summary": key, "source": "web-1", "severity": "critical"}}
        assert (await sandbox.post("/v2/enqueue", json=body)).status_code == 202

    assert await status() == "active"
    await event("trigger", "one")
    assert await status() == "critical"
    await event("acknowledge", "one")
    assert await status() == "warning"
    await event("trigger", "two")
    assert await status() == "critical"
    await event("resolve", "two")
    await event("resolve", "one")
    assert await status() == "active"
