"""The monitor's webhook endpoint: a forged signature, a signature replayed on another body, and a replayed
delivery change nothing (PagerDuty signs the body only, so a replay is recognised by its event id)."""

from __future__ import annotations

import json
import time

import pytest

from demo_monitor.domain.webhooks import sign
from tests.demo_monitor.conftest import break_www15, connect

WEBHOOK = "/integrations/pagerduty/webhook"


def delivery(event_id: str, event_type: str, incident_key: str) -> bytes:
    return json.dumps({"event": {
        "id": event_id, "event_type": event_type, "resource_type": "incident",
        "occurred_at": "2026-11-26T12:00:00Z", "agent": {"type": "user_reference", "summary": "Dana Demo"},
        "data": {"id": "Q0000000000001", "type": "incident", "incident_key": incident_key,
                 "status": event_type.removeprefix("incident."), "html_url": "http://sandbox.test/incidents/Q1"},
    }}).encode()


@pytest.fixture
async def open_alert(app, clock):
    await connect(app)
    return await break_www15(app, clock)


async def post(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return await client.post(WEBHOOK, content=body, headers=headers)


async def alert_state(client, alert_id: str) -> str:
    return (await client.get(f"/api/alerts/{alert_id}")).json()["state"]


@pytest.mark.parametrize("signature", [
    None,
    "",
    "v1=",
    "v1=" + "0" * 64,
    "sha256=<right digest, wrong scheme>",
    "<forged with another secret>",
    "<right digest in upper case>",
    "v0=<right digest>",
], ids=["missing", "empty", "v1-empty", "zeros", "wrong-scheme", "other-secret", "upper-case", "v0"])
async def test_forged_signatures_are_refused_and_change_nothing(client, monitor_settings, open_alert, signature):
    body = delivery("EV-FORGED", "incident.acknowledged", open_alert["incident_key"])
    right = sign(monitor_settings.webhook_secret, body)
    forged = {
        "sha256=<right digest, wrong scheme>": right.replace("v1=", "sha256="),
        "<forged with another secret>": sign("not-the-secret", body),
        "<right digest in upper case>": "v1=" + right.removeprefix("v1=").upper(),
        "v0=<right digest>": right.replace("v1=", "v0="),
    }.get(signature, signature)
    answer = await post(client, body, forged)
    assert answer.status_code == 401
    assert await alert_state(client, open_alert["id"]) == "open"
    # The same body, rightly signed, is accepted: it was the signature that was refused, nothing else.
    assert (await post(client, body, right)).status_code == 200
    assert await alert_state(client, open_alert["id"]) == "acknowledged"


async def test_a_signature_replayed_on_another_body_is_refused(client, monitor_settings, open_alert):
    seen = delivery("EV-1", "incident.acknowledged", open_alert["incident_key"])
    signature = sign(monitor_settings.webhook_secret, seen)
    assert (await post(client, seen, signature)).status_code == 200

    tampered = delivery("EV-2", "incident.resolved", open_alert["incident_key"])
    assert (await post(client, tampered, signature)).status_code == 401
    assert await alert_state(client, open_alert["id"]) == "acknowledged"
    # Whitespace added to the signed body is another body too.
    assert (await post(client, seen + b" ", signature)).status_code == 401


async def test_a_replayed_delivery_changes_nothing(client, monitor_settings, open_alert):
    key = open_alert["incident_key"]
    acknowledged = delivery("EV-ACK", "incident.acknowledged", key)
    resolved = delivery("EV-RES", "incident.resolved", key)
    reopened = delivery("EV-REOPEN", "incident.unacknowledged", key)
    secret = monitor_settings.webhook_secret
    assert (await post(client, reopened, sign(secret, reopened))).status_code == 200
    assert (await post(client, acknowledged, sign(secret, acknowledged))).status_code == 200
    assert (await post(client, resolved, sign(secret, resolved))).status_code == 200
    assert await alert_state(client, open_alert["id"]) == "resolved"
    before = (await client.get(f"/api/alerts/{open_alert['id']}")).json()

    # An attacker who captured earlier deliveries replays them, signatures and all.
    for captured in (reopened, acknowledged):
        answer = await post(client, captured, sign(secret, captured))
        assert answer.status_code == 200
        assert answer.json()["status"] == "duplicate"
    after = (await client.get(f"/api/alerts/{open_alert['id']}")).json()
    assert after == before


async def test_a_correctly_signed_delivery_of_an_old_event_is_refused_as_a_replay(client, clock, monitor_settings,
                                                                                   open_alert):
    """PagerDuty signs the body only, so a captured delivery stays validly signed forever: one whose event is
    more than five minutes old (by the monitor's clock) is a replay, refused with a 400, and changes nothing.
    The integration exam sends one (fake_pagerduty/exam_runner.py)."""
    body = json.dumps({"event": {
        "id": "EV-OLD", "event_type": "incident.acknowledged", "resource_type": "incident",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now - 301)),
        "agent": {"type": "user_reference", "summary": "Dana Demo"},
        "data": {"id": "Q0000000000001", "type": "incident", "incident_key": open_alert["incident_key"],
                 "status": "acknowledged", "html_url": "http://sandbox.test/incidents/Q1"},
    }}).encode()
    r = await post(client, body, sign(monitor_settings.webhook_secret, body))
    assert r.status_code == 400
    assert r.json() == {"error": f"event.occurred_at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(clock.now - 301))}"
                                 " is more than 5 minutes old: a replayed delivery"}
    assert await alert_state(client, open_alert["id"]) == "open"
    fresh = body.replace(b'"EV-OLD"', b'"EV-FRESH"').replace(
        json.loads(body)["event"]["occurred_at"].encode(),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now - 299)).encode())
    r = await post(client, fresh, sign(monitor_settings.webhook_secret, fresh))
    assert r.status_code == 200, r.text
    assert await alert_state(client, open_alert["id"]) == "acknowledged"


async def test_each_answer_of_the_webhook_endpoint_says_what_happened(client, clock, monitor_settings, open_alert):
    secret = monitor_settings.webhook_secret

    async def signed(body: bytes):
        return await post(client, body, sign(secret, body))

    unsigned = await post(client, b"{}", "v1=" + "0" * 64)
    assert (unsigned.status_code, unsigned.json()) == (401, {"error": "invalid or missing X-PagerDuty-Signature"})
    not_json = await signed(b"{not json")
    assert (not_json.status_code, not_json.json()) == (400, {"error": "the body is not JSON"})
    not_an_event = await signed(b'{"event": "E1"}')
    assert (not_an_event.status_code, not_an_event.json()) == (
        400, {"error": "The body must be a JSON object with an 'event' object."})
    stranger = await signed(delivery("EV-STRANGER", "incident.acknowledged", "alert-nobody-knows"))
    assert (stranger.status_code, stranger.json()) == (
        202, {"status": "ignored", "reason": "no alert has this incident_key"})

    acknowledged = delivery("EV-ACK", "incident.acknowledged", open_alert["incident_key"])
    processed = await signed(acknowledged)
    assert (processed.status_code, processed.json()) == (200, {"status": "processed", "alert_id": open_alert["id"]})
    alert = (await client.get(f"/api/alerts/{open_alert['id']}")).json()
    assert alert["acknowledged_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now))
    again = await signed(acknowledged)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate", "event_id": "EV-ACK"})


async def test_signatures_may_be_listed_without_spaces(client, monitor_settings, open_alert):
    body = delivery("EV-LIST", "incident.acknowledged", open_alert["incident_key"])
    listed = "v1=" + "0" * 64 + "," + sign(monitor_settings.webhook_secret, body)  # as after a secret rotation
    assert (await post(client, body, listed)).status_code == 200
