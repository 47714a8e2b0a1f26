"""Webhooks v3 delivery: incident changes reach subscriptions and partner apps, signed, retried, in order,
durably (they survive a restart)."""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
import pytest

from fake_pagerduty.settings import Settings
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.webhook_helpers import (
    PARTNER_SECRET,
    PARTNER_URL,
    RECEIVER_URL,
    Receiver,
    action,
    expected_signature,
    make_app,
    running,
    trigger,
    until,
)

ALL_TYPES = ["incident.triggered", "incident.acknowledged", "incident.resolved", "incident.unacknowledged",
             "incident.reopened"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                    webhook_backoff_seconds=0, webhook_max_attempts=3)


@pytest.fixture
async def app(settings, receiver):
    app = make_app(settings, receiver)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as c:
        yield c


async def subscribe(client, events=None, *, url=RECEIVER_URL, flt=None, active=True) -> dict:
    body = {"webhook_subscription": {
        "type": "webhook_subscription",
        "delivery_method": {"type": "http_delivery_method", "url": url,
                            "custom_headers": [{"name": "X-Partner-Token", "value": "abc123"}]},
        "events": events or ALL_TYPES,
        "filter": flt or {"type": "service_reference", "id": "PWEBS00"},
        "active": active,
    }}
    response = await client.post("/api/webhook_subscriptions", json=body, headers=REST_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["webhook_subscription"]


async def send(client, event: dict) -> None:
    response = await client.post("/v2/enqueue", json=event)
    assert response.status_code == 202, response.text


def deliveries(app, service_id="PWEBS00"):
    async def check():
        return await app.state.store.webhooks.deliveries_for_service(service_id)
    return check


async def wait_delivered(app, count: int, service_id: str = "PWEBS00") -> list[dict]:
    """Wait until `count` deliveries on the service are no longer pending; returns them oldest first."""
    async def check():
        rows = await app.state.store.webhooks.deliveries_for_service(service_id)
        done = [r for r in rows if r["status"] != "pending"]
        return list(reversed(rows)) if len(rows) >= count and len(done) == len(rows) else None
    rows = await until(app, check)
    assert len(rows) == count
    return rows


def incident_row(settings: Settings, incident_id: str) -> dict:
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        return dict(db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone())


async def test_trigger_delivers_one_signed_incident_triggered_event(app, client, receiver, settings):
    sub = await subscribe(client)
    secret = sub["delivery_method"]["secret"]
    await send(client, trigger("disk-1"))

    [row] = await wait_delivered(app, 1)
    assert (row["status"], row["attempts"], row["last_status_code"], row["last_error"]) == (
        "delivered", 1, 200, None)
    assert [str(r.url) for r in receiver.requests] == [RECEIVER_URL]
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.headers["X-PagerDuty-Signature"] == expected_signature(secret, request.content)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "PagerDuty-Webhook/V3.0"
    assert request.headers["X-Webhook-Subscription"] == sub["id"]
    assert request.headers["X-Webhook-Id"] == row["webhook_id"]
    assert request.headers["X-Partner-Token"] == "abc123"
    assert request.content.decode() == row["body"]

    event = json.loads(request.content)["event"]
    incident = incident_row(settings, row["incident_id"])
    assert UUID.fullmatch(event["id"])
    assert event["event_type"] == "incident.triggered"
    assert event["resource_type"] == "incident"
    assert event["occurred_at"] == incident["created_at"]
    assert event["agent"] == {
        "html_url": "http://sandbox.test/services/PWEBS00/integrations/PINTG00",
        "id": "PINTG00",
        "self": "http://sandbox.test/api/services/PWEBS00/integrations/PINTG00",
        "summary": "Demo Monitor",
        "type": "events_api_v2_inbound_integration_reference",
    }
    assert event["client"] == {"name": "Demo Monitor"}
    data = event["data"]
    assert {k: data[k] for k in ("id", "type", "number", "incident_number", "status", "title", "incident_key",
                                 "urgency", "self", "html_url", "created_at", "summary")} == {
        "id": incident["id"],
        "type": "incident",
        "number": 1,
        "incident_number": 1,
        "status": "triggered",
        "title": "Disk full on disk-1",
        "incident_key": "disk-1",
        "urgency": "high",
        "self": f"http://sandbox.test/api/incidents/{incident['id']}",
        "html_url": f"http://sandbox.test/incidents/{incident['id']}",
        "created_at": incident["created_at"],
        "summary": "[#1] Disk full on disk-1",
    }
    assert data["service"] == {
        "id": "PWEBS00", "type": "service_reference", "summary": "Acme Website",
        "self": "http://sandbox.test/api/services/PWEBS00", "html_url": "http://sandbox.test/services/PWEBS00",
    }
    assert data["alert_counts"] == {"all": 1, "triggered": 1, "resolved": 0}


async def test_a_delivery_body_is_compact_utf8_json(app, client, receiver):
    await subscribe(client)
    event = trigger("disk-snow")
    event["payload"]["summary"] = "Disk ☃ full on web-1"
    await send(client, event)
    await wait_delivered(app, 1)
    [request] = receiver.requests
    assert "Disk ☃ full on web-1".encode() in request.content and b"\\u2603" not in request.content  # UTF-8
    assert json.dumps(json.loads(request.content), separators=(",", ":"), ensure_ascii=False).encode() == (
        request.content)


async def test_acknowledge_and_resolve_follow_in_order(app, client, receiver):
    sub = await subscribe(client)
    await send(client, trigger("disk-2"))
    await send(client, trigger("disk-2"))  # deduplicated: no new event
    await send(client, action("acknowledge", "disk-2"))
    await send(client, action("resolve", "disk-2"))

    rows = await wait_delivered(app, 3)
    assert [r["event_type"] for r in rows] == ["incident.triggered", "incident.acknowledged", "incident.resolved"]
    assert all(r["status"] == "delivered" for r in rows)
    events = receiver.events()
    assert [e["event_type"] for e in events] == ["incident.triggered", "incident.acknowledged",
                                                 "incident.resolved"]
    assert [e["data"]["status"] for e in events] == ["triggered", "acknowledged", "resolved"]
    assert len({e["data"]["id"] for e in events}) == 1
    assert len({e["id"] for e in events}) == 3
    for request in receiver.requests:
        assert request.headers["X-PagerDuty-Signature"] == expected_signature(
            sub["delivery_method"]["secret"], request.content)
    assert events[1]["agent"]["summary"] == "Events API"  # the acknowledge named no client
    assert events[1]["client"] is None


async def test_only_subscribed_event_types_are_delivered(app, client, receiver):
    await subscribe(client, ["incident.resolved"])
    await send(client, trigger("disk-3"))
    await send(client, action("acknowledge", "disk-3"))
    await send(client, action("resolve", "disk-3"))
    rows = await wait_delivered(app, 1)
    assert [r["event_type"] for r in rows] == ["incident.resolved"]
    assert [e["event_type"] for e in receiver.events()] == ["incident.resolved"]


async def test_inactive_and_other_service_subscriptions_get_nothing(app, client, receiver):
    store, now = app.state.store, app.state.clock.now()
    other = await store.services.upsert(id="POTHER0", account_id="PACME00", name="Other", now=now)
    await subscribe(client, url="https://inactive.test/", active=False)
    await subscribe(client, url="https://other-service.test/", flt={"type": "service_reference", "id": other})
    await subscribe(client, url="https://whole-account.test/", flt={"type": "account_reference"})
    await send(client, trigger("disk-4"))
    rows = await wait_delivered(app, 1)
    assert [r["url"] for r in rows] == ["https://whole-account.test/"]
    assert [str(r.url) for r in receiver.requests] == ["https://whole-account.test/"]


async def test_partner_app_service_delivers_to_the_partner_webhook(app, client, receiver):
    store, now = app.state.store, app.state.clock.now()
    service_id = await store.services.upsert(id="PPARTNR", account_id="PACME00", name="Monitor alerts",
                                            vendor_key="demo-monitor", now=now)
    key = "0123456789abcdef0123456789abcdef"
    await store.services.upsert_integration(id="PPINTG0", service_id=service_id, integration_key=key,
                                   name="Demo Monitor", vendor_key="demo-monitor", now=now)
    await send(client, trigger("web-down", routing_key=key))
    await send(client, action("resolve", "web-down", routing_key=key))

    rows = await wait_delivered(app, 2, service_id)
    assert [(r["target"], r["vendor_key"], r["subscription_id"]) for r in rows] == [
        ("partner_app:demo-monitor", "demo-monitor", None)] * 2
    assert [str(r.url) for r in receiver.requests] == [PARTNER_URL, PARTNER_URL]
    for request in receiver.requests:
        assert request.headers["X-PagerDuty-Signature"] == expected_signature(PARTNER_SECRET, request.content)
        assert request.headers["X-Webhook-Subscription"] == "PDEMOMN"
    assert [e["event_type"] for e in receiver.events()] == ["incident.triggered", "incident.resolved"]
    assert receiver.events()[0]["data"]["service"]["id"] == service_id


async def test_failing_receiver_is_retried_and_recorded(app, client, receiver):
    await subscribe(client)
    receiver.script = [500]
    await send(client, trigger("disk-5"))
    [row] = await wait_delivered(app, 1)
    assert (row["status"], row["attempts"], row["last_status_code"], row["last_error"]) == (
        "delivered", 2, 200, None)
    first, second = receiver.requests
    assert first.content == second.content
    assert first.headers["X-Webhook-Id"] == second.headers["X-Webhook-Id"] == row["webhook_id"]
    assert first.headers["X-PagerDuty-Signature"] == second.headers["X-PagerDuty-Signature"]


async def test_network_errors_are_retried(app, client, receiver):
    await subscribe(client)
    receiver.script = [httpx.ConnectError("connection refused")]
    await send(client, trigger("disk-6"))
    [row] = await wait_delivered(app, 1)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 2, 200)
    assert len(receiver.requests) == 2


async def test_delivery_fails_after_the_last_attempt(app, client, receiver):
    await subscribe(client)
    receiver.script = [503, httpx.ReadTimeout("timed out"), 500]
    await send(client, trigger("disk-7"))
    [row] = await wait_delivered(app, 1)
    assert (row["status"], row["attempts"], row["last_status_code"], row["last_error"]) == (
        "failed", 3, 500, "HTTP 500")
    assert len(receiver.requests) == 3


async def test_later_events_wait_for_an_earlier_one_being_retried(tmp_path, receiver):
    settings = Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                        webhook_backoff_seconds=600)
    app = make_app(settings, receiver)
    receiver.script = [500]
    async for client in running(app):
        await subscribe(client)
        await send(client, trigger("disk-8"))

        async def first_attempt_failed():
            rows = await app.state.store.webhooks.deliveries_for_service("PWEBS00")
            return rows and rows[-1]["attempts"] == 1
        await until(app, first_attempt_failed)
        await send(client, action("acknowledge", "disk-8"))

        async def ack_queued_and_worker_idle():
            rows = await app.state.store.webhooks.deliveries_for_service("PWEBS00")
            return len(rows) == 2 and await app.state.store.webhooks.due_deliveries(app.state.clock.now()) == []
        await until(app, ack_queued_and_worker_idle)
        triggered, acknowledged = reversed(await app.state.store.webhooks.deliveries_for_service("PWEBS00"))
        assert (triggered["status"], triggered["attempts"]) == ("pending", 1)
        assert (acknowledged["status"], acknowledged["attempts"]) == ("pending", 0)
        assert len(receiver.requests) == 1

        app.state.clock.advance(601)
        app.state.webhooks.wake()
        rows = await wait_delivered(app, 2)
        assert [(r["event_type"], r["status"]) for r in rows] == [
            ("incident.triggered", "delivered"), ("incident.acknowledged", "delivered")]
        assert [e["event_type"] for e in receiver.events()] == [
            "incident.triggered", "incident.triggered", "incident.acknowledged"]


async def test_pending_deliveries_survive_a_restart(tmp_path):
    settings = Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                        webhook_backoff_seconds=3600)
    down = Receiver()
    down.script = [503]
    first = make_app(settings, down)
    async for client in running(first):
        sub = await subscribe(client)
        await send(client, trigger("disk-9"))

        async def attempted():
            rows = await first.state.store.webhooks.deliveries_for_service("PWEBS00")
            return rows and rows[0]["attempts"] == 1
        await until(first, attempted)
    assert len(down.requests) == 1

    up = Receiver()
    second = make_app(settings, up)
    second.state.clock.advance(3601)
    async for _client in running(second):
        [row] = await wait_delivered(second, 1)
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 2, 200)
    [request] = up.requests
    assert request.content == down.requests[0].content
    assert request.headers["X-PagerDuty-Signature"] == expected_signature(
        sub["delivery_method"]["secret"], request.content)


async def test_deleting_a_subscription_stops_its_pending_deliveries(tmp_path, receiver):
    settings = Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                        webhook_backoff_seconds=3600)
    app = make_app(settings, receiver)
    receiver.script = [500]
    async for client in running(app):
        sub = await subscribe(client)
        await send(client, trigger("disk-10"))

        async def attempted():
            rows = await app.state.store.webhooks.deliveries_for_service("PWEBS00")
            return rows and rows[0]["attempts"] == 1
        await until(app, attempted)
        response = await client.delete(f"/api/webhook_subscriptions/{sub['id']}", headers=REST_HEADERS)
        assert response.status_code == 204
        [row] = await app.state.store.webhooks.deliveries_for_service("PWEBS00")
        assert (row["status"], row["last_error"]) == ("failed", "subscription deleted")


async def test_event_data_is_the_incident_as_the_rest_api_shows_it(app, client, receiver):
    await subscribe(client, ["incident.triggered"])
    await send(client, trigger("disk-11"))
    [row] = await wait_delivered(app, 1)
    data = json.loads(row["body"])["event"]["data"]
    shown = await client.get(f"/api/incidents/{row['incident_id']}", headers=REST_HEADERS)
    assert shown.status_code == 200
    incident = shown.json()["incident"]
    assert [a["assignee"]["id"] for a in incident["assignments"]] == ["PDANA00"]  # on call: test_escalation.py
    extra = {"number": 1, "assignees": [a["assignee"] for a in incident["assignments"]], "conference_bridge": None}
    assert data == {**incident, **extra}


async def test_a_person_acknowledging_through_the_rest_api_is_the_agent(app, client, receiver):
    await subscribe(client, ["incident.acknowledged"])
    await send(client, trigger("disk-12"))
    incident_id = (await client.get("/api/incidents", params={"incident_key": "disk-12"},
                                    headers=REST_HEADERS)).json()["incidents"][0]["id"]
    response = await client.put(f"/api/incidents/{incident_id}",
                                json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
                                headers={**REST_HEADERS, "From": "demo@acme.test"})
    assert response.status_code == 200, response.text
    [row] = await wait_delivered(app, 1)
    event = json.loads(row["body"])["event"]
    assert event["event_type"] == "incident.acknowledged"
    assert event["agent"] == {"id": "PDANA00", "type": "user_reference", "summary": "Dana Demo",
                              "self": "http://sandbox.test/api/users/PDANA00",
                              "html_url": "http://sandbox.test/users/PDANA00"}
    assert event["client"] is None
    assert event["data"]["status"] == "acknowledged"
    assert [a["acknowledger"]["summary"] for a in event["data"]["acknowledgements"]] == ["Dana Demo"]


async def test_acknowledgement_timeout_sends_incident_unacknowledged(app, client, receiver):
    await subscribe(client, ["incident.unacknowledged"])
    await send(client, trigger("disk-13"))
    await send(client, action("acknowledge", "disk-13"))
    moved = await client.post("/_sandbox/clock", json={"advance_seconds": 1801})
    assert moved.status_code == 200, moved.text
    [row] = await wait_delivered(app, 1)
    event = json.loads(row["body"])["event"]
    assert event["event_type"] == "incident.unacknowledged"
    assert event["data"]["status"] == "triggered"
    assert event["agent"]["type"] == "service_reference"


async def test_ping_sends_pagey_ping_to_the_subscription(app, client, receiver):
    sub = await subscribe(client, ["incident.triggered"])
    response = await client.post(f"/api/webhook_subscriptions/{sub['id']}/ping", headers=REST_HEADERS)
    assert response.status_code == 202
    assert response.content == b""
    async def sent():
        rows = await app.state.store.webhooks.deliveries_for_subscription(sub["id"])
        return rows if rows and rows[0]["status"] != "pending" else None
    [row] = await until(app, sent)
    assert (row["event_type"], row["status"], row["service_id"], row["incident_id"]) == (
        "pagey.ping", "delivered", None, "")
    assert await app.state.store.webhooks.deliveries_for_service("PWEBS00") == []
    [request] = receiver.requests
    assert str(request.url) == RECEIVER_URL
    assert request.headers["X-PagerDuty-Signature"] == expected_signature(
        sub["delivery_method"]["secret"], request.content)
    event = json.loads(request.content)["event"]
    assert UUID.fullmatch(event["id"])
    assert {k: v for k, v in event.items() if k not in ("id", "occurred_at")} == {
        "event_type": "pagey.ping", "resource_type": "pagey", "agent": None, "client": None,
        "data": {"message": "Hello from your friend Pagey!", "type": "ping"}}
    assert request.content == (  # compact, as PagerDuty sends it
        f'{{"event":{{"id":"{event["id"]}","event_type":"pagey.ping","resource_type":"pagey","occurred_at":'
        f'"{event["occurred_at"]}","agent":null,"client":null,"data":{{"message":"Hello from your friend Pagey!",'
        f'"type":"ping"}}}}}}').encode()


async def test_an_inactivated_subscription_stops_receiving(app, client, receiver):
    quiet = await subscribe(client, ["incident.triggered", "incident.resolved"], url="https://quiet.test/")
    await subscribe(client, ["incident.resolved"], url="https://sentinel.test/")
    response = await client.put(f"/api/webhook_subscriptions/{quiet['id']}",
                                json={"webhook_subscription": {"active": False}}, headers=REST_HEADERS)
    assert response.status_code == 200
    await send(client, trigger("disk-14"))
    await send(client, action("resolve", "disk-14"))
    rows = await wait_delivered(app, 1)
    assert [(r["url"], r["event_type"]) for r in rows] == [("https://sentinel.test/", "incident.resolved")]
    assert [str(r.url) for r in receiver.requests] == ["https://sentinel.test/"]


def test_delivery_settings_come_from_the_environment():
    settings = Settings.from_env({"FAKE_PAGERDUTY_WEBHOOK_MAX_ATTEMPTS": "3", "FAKE_PAGERDUTY_WEBHOOK_BACKOFF": "0.5",
                                  "FAKE_PAGERDUTY_WEBHOOK_TIMEOUT": "2"})
    assert (settings.webhook_max_attempts, settings.webhook_backoff_seconds, settings.webhook_timeout_seconds) == (
        3, 0.5, 2.0)
    defaults = Settings.from_env({})
    assert (defaults.webhook_max_attempts, defaults.webhook_backoff_seconds, defaults.webhook_timeout_seconds) == (
        8, 1.0, 5.0)


async def test_events_without_any_webhook_target_do_not_wake_the_webhook_writer(tmp_path, receiver):
    """With no subscription and no partner app service with a webhook URL, events record no webhook changes,
    and once the writer has looked (at start) they no longer wake it (it would cost a query per batch)."""
    app = make_app(Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test"), receiver)
    async with app.router.lifespan_context(app):
        webhooks = app.state.webhooks

        async def looked() -> bool:
            return app.state.store.webhooks.known_without_targets()

        await until(app, looked)  # the writer's pass at start has found no target
        wakes = []
        webhooks._changes_waiting.set = lambda: wakes.append(1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as c:
            for n in range(20):
                await send(c, trigger(f"quiet-{n}"))
        assert wakes == []
        assert await app.state.store.database.all("SELECT * FROM webhook_changes") == []


def test_the_retry_backoff_doubles_from_the_base_and_stops_at_an_hour():
    from fake_pagerduty.domain.webhooks import backoff_seconds

    assert [backoff_seconds(n, 1) for n in range(1, 8)] == [1, 2, 4, 8, 16, 32, 64]  # README: 1 s, 2 s, 4 s, …
    assert [backoff_seconds(n, 100) for n in (1, 2, 3)] == [100, 200, 400]
    assert backoff_seconds(20, 1) == backoff_seconds(40, 600) == 3600


def test_a_retry_never_comes_before_its_backoff_though_times_are_kept_to_the_second():
    """Rounded down to the second as the store keeps it, a retry after a 1 s backoff fell due 0–1 s after the
    failure (at 12:00:00.900, due at 12:00:01: a tenth of a second later). It is rounded up now."""
    from datetime import UTC, datetime

    from fake_pagerduty.domain.clock import iso
    from fake_pagerduty.domain.webhooks import next_attempt_at

    failed = datetime(2026, 12, 2, 12, 0, 0, 900_000, tzinfo=UTC)
    assert iso(next_attempt_at(failed, 1, 1.0)) == "2026-12-02T12:00:02Z"
    assert iso(next_attempt_at(failed, 2, 1.0)) == "2026-12-02T12:00:03Z"
    assert iso(next_attempt_at(failed, 1, 0.25)) == "2026-12-02T12:00:02Z"
    on_the_second = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)
    assert next_attempt_at(on_the_second, 1, 1.0) == datetime(2026, 12, 2, 12, 0, 1, tzinfo=UTC)
    assert next_attempt_at(failed, 1, 0) == failed  # a backoff of 0 (tests) is due at once


async def test_each_retry_waits_twice_as_long_as_the_one_before(tmp_path, receiver):
    """The mutant that made the backoff constant survived: other tests use a base of 0, 600 or 3,600 s and
    never look at the second wait. Here each failed attempt's next_attempt_at is read off the row."""
    from fake_pagerduty.domain.clock import parse_iso

    settings = Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                        webhook_backoff_seconds=100, webhook_max_attempts=4)
    app = make_app(settings, receiver)
    receiver.script = [500, 500, 500]
    waits = []
    async for client in running(app):
        await subscribe(client, ["incident.triggered"])
        await send(client, trigger("disk-backoff"))
        for attempts in (1, 2, 3):
            async def attempted(n=attempts):
                rows = await app.state.store.webhooks.deliveries_for_service("PWEBS00")
                return rows[0] if rows and rows[0]["attempts"] == n else None
            row = await until(app, attempted)
            waits.append((parse_iso(row["next_attempt_at"]) - parse_iso(row["updated_at"])).total_seconds())
            await client.post("/_sandbox/clock", json={"advance_seconds": waits[-1]})
            app.state.webhooks.wake()
    # times are kept to the second and the next attempt is rounded up to one: each wait is its backoff, or a
    # second more when the failure came part way through a second
    assert [round(wait - backoff) in (0, 1) for wait, backoff in zip(waits, [100, 200, 400], strict=True)] == [True] * 3
