"""One truth per incident transition: the same story told through the Events API, the REST API and the
console leaves the same incident, the same log entry types and the same webhooks — whoever did it.

The story: trigger (Events API), acknowledge, acknowledge again, let the acknowledgement timeout run out,
acknowledge, resolve, trigger again on the same key (a new incident), let the auto-resolve timeout resolve
it. Between steps the sandbox clock moves on 10 s, so every step has a time of its own; times are compared by
their order (t0, t1, …) since the clock is the machine's plus an offset."""

from __future__ import annotations

import re
import sqlite3

import httpx

from fake_pagerduty.domain.webhooks import EMITTED_EVENT_TYPES
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.webhook_helpers import Receiver, make_app, until
from tests.fake_pagerduty.webpages import csrf, sign_in

KEY = "disk-full"
ACK_TIMEOUT, AUTO_RESOLVE = 1800, 14400  # the seeded "Acme Website" service's
SENT_TYPES = ["incident.triggered", "incident.acknowledged", "incident.unacknowledged", "incident.acknowledged",
              "incident.resolved", "incident.triggered", "incident.resolved"]


async def _events(client: httpx.AsyncClient, action: str, _incident_id: str) -> None:
    event = {"routing_key": SAMPLE_KEY, "event_action": action, "dedup_key": KEY}
    if action == "trigger":
        event["payload"] = {"summary": "Disk full on web-1", "source": "web-1", "severity": "critical"}
    answer = await client.post("/v2/enqueue", json=event)
    assert answer.status_code == 202, answer.text


async def _rest(client: httpx.AsyncClient, action: str, incident_id: str) -> None:
    status = {"acknowledge": "acknowledged", "resolve": "resolved"}[action]
    answer = await client.put(f"/api/incidents/{incident_id}", headers={**REST_HEADERS, "From": "demo@acme.test"},
                              json={"incident": {"type": "incident_reference", "status": status}})
    assert answer.status_code == 200, answer.text


async def _console(client: httpx.AsyncClient, action: str, incident_id: str) -> None:
    page = (await client.get(f"/incidents/{incident_id}")).text  # an acknowledged incident shows no Acknowledge
    answer = await client.post(f"/incidents/{incident_id}/{action}", data={"csrf_token": csrf(page)})  # button
    assert answer.status_code == 303, answer.text


WAYS = {"events": _events, "rest": _rest, "console": _console}


def _rows(db_path: str, sql: str, *params) -> list[dict]:
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


async def _story(tmp_path, way: str) -> dict:
    receiver = Receiver()
    settings_path = str(tmp_path / f"{way}.db")
    from fake_pagerduty.settings import Settings

    app = make_app(Settings(db_path=settings_path, public_url="http://sandbox.test", webhook_backoff_seconds=0),
                   receiver)
    act = WAYS[way]
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as c:
            await sign_in(c)
            subscription = {"webhook_subscription": {
                "type": "webhook_subscription",
                "delivery_method": {"type": "http_delivery_method", "url": "https://receiver.test/pd"},
                "events": list(EMITTED_EVENT_TYPES), "filter": {"type": "account_reference", "id": "PACME00"}}}
            assert (await c.post("/api/webhook_subscriptions", json=subscription,
                                 headers=REST_HEADERS)).status_code == 200

            async def tick(seconds: int = 10) -> None:
                assert (await c.post("/_sandbox/clock", json={"advance_seconds": seconds})).status_code == 200

            await _events(c, "trigger", "")
            (first,) = _rows(settings_path, "SELECT id FROM incidents")
            first = first["id"]
            for step in ("acknowledge", "acknowledge"):
                await tick()
                await act(c, step, first)
            await tick(ACK_TIMEOUT + 1)  # the acknowledgement timeout runs out: back to triggered
            await tick()
            await act(c, "acknowledge", first)
            await tick()
            await act(c, "resolve", first)
            await tick()
            await _events(c, "trigger", "")  # the same key after the resolve: a new incident
            await tick(AUTO_RESOLVE + 1)  # resolved by the service's auto-resolve timeout

            async def all_sent():
                rows = await app.state.store.webhooks.deliveries_for_incident(first)
                return len(receiver.requests) >= len(SENT_TYPES) and all(r["status"] == "delivered" for r in rows)

            await until(app, all_sent)

    incidents = _rows(settings_path, "SELECT * FROM incidents ORDER BY incident_number")
    entries = _rows(settings_path, "SELECT * FROM log_entries ORDER BY incident_id, seq")
    alerts = _rows(settings_path, "SELECT * FROM alerts ORDER BY created_at")
    times = sorted({v for row in incidents + entries + alerts for v in row.values()
                    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", v)})

    def when(value):
        return f"t{times.index(value)}" if value in times else value

    def ack_times(text):
        return [when(a["at"]) for a in __import__("json").loads(text)]

    return {
        "incidents": [{"number": i["incident_number"], "status": i["status"], "urgency": i["urgency"],
                       "created_at": when(i["created_at"]), "last_status_change_at": when(i["last_status_change_at"]),
                       "resolved_at": when(i["resolved_at"]), "ack_timeout_at": i["ack_timeout_at"],
                       "auto_resolve_at": i["auto_resolve_at"], "acknowledgements": ack_times(i["acknowledgements"])}
                      for i in incidents],
        "log_entries": [(e["incident_id"] == first, e["type"], when(e["created_at"])) for e in entries],
        "alerts": [(a["status"], when(a["resolved_at"])) for a in alerts],
        # in order per incident (PagerDuty orders deliveries per incident, not across incidents)
        "webhooks": [(e["event_type"], e["data"]["status"]) for incident in incidents
                     for e in receiver.events() if e["data"]["id"] == incident["id"]],
        "pending_changes": _rows(settings_path, "SELECT * FROM webhook_changes"),
    }


async def test_every_way_leaves_the_same_incidents_log_entries_and_webhooks(tmp_path):
    stories = {way: await _story(tmp_path, way) for way in WAYS}
    for way, story in stories.items():
        assert story["webhooks"] == [
            ("incident.triggered", "triggered"), ("incident.acknowledged", "acknowledged"),
            ("incident.unacknowledged", "triggered"), ("incident.acknowledged", "acknowledged"),
            ("incident.resolved", "resolved"), ("incident.triggered", "triggered"), ("incident.resolved", "resolved")], way
        first, second = story["incidents"]
        assert first["status"] == "resolved" and second["status"] == "resolved", way
        assert [e[1] for e in story["log_entries"] if e[0]] == [
            "trigger_log_entry", "assign_log_entry", "notify_log_entry", "notify_log_entry",  # Dana: push, SMS
            "acknowledge_log_entry", "acknowledge_log_entry", "unacknowledge_log_entry",
            "notify_log_entry", "notify_log_entry",  # back to triggered: Dana is told again
            "acknowledge_log_entry", "resolve_log_entry"], way
        assert story["pending_changes"] == [], way
    assert stories["rest"] == stories["events"]
    assert stories["console"] == stories["events"]


async def test_reacknowledging_keeps_the_first_acknowledgements_status_change(tmp_path):
    """Checked on its own, for each way: after ack at t1 and ack again at t2, last_status_change_at is t1."""
    for way in WAYS:
        receiver = Receiver()
        from fake_pagerduty.settings import Settings

        db_path = str(tmp_path / f"re-{way}.db")
        app = make_app(Settings(db_path=db_path, public_url="http://sandbox.test"), receiver)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as c:
                await sign_in(c)
                await _events(c, "trigger", "")
                (incident,) = _rows(db_path, "SELECT id FROM incidents")
                await WAYS[way](c, "acknowledge", incident["id"])
                (after_first,) = _rows(db_path, "SELECT * FROM incidents")
                await c.post("/_sandbox/clock", json={"advance_seconds": 60})
                await WAYS[way](c, "acknowledge", incident["id"])
                (after_second,) = _rows(db_path, "SELECT * FROM incidents")
        assert after_second["last_status_change_at"] == after_first["last_status_change_at"], way
        assert after_second["last_status_change_by"] == after_first["last_status_change_by"], way
        assert after_second["ack_timeout_at"] > after_first["ack_timeout_at"], way  # the timeout starts again
        assert after_second["updated_at"] > after_first["updated_at"], way


def test_the_readme_lists_exactly_the_webhook_types_the_sandbox_sends():
    """`incident.reopened` was promised and never sent: the README lists what the story above produces."""
    readme = open("README.md", encoding="utf-8").read()
    line = next(line for line in readme.splitlines() if line.startswith("Incident changes (`incident."))
    listed = re.findall(r"`(?:incident)?(\.[a-z_.]+)`", line)
    # the story above sends these; escalation and reassignment send the rest (test_escalation.py)
    people = {"incident.escalated", "incident.reassigned"}
    assert {"incident" + suffix for suffix in listed} == set(SENT_TYPES) | people == set(EMITTED_EVENT_TYPES)
