"""Issue 16, point 4: an alert resolved in PagerDuty while its server is still broken stays on the dashboard
("condition still active"), every panel agrees, and a new alert opens if the condition outlasts the hold."""

import json

from demo_monitor.domain.webhooks import sign
from tests.demo_monitor.conftest import break_www15, connect, ticks


async def resolved_in_pagerduty(client, alert_id: str, event_id: str = "01EVTRES") -> None:
    body = json.dumps({"event": {
        "id": event_id, "event_type": "incident.resolved", "resource_type": "incident",
        "occurred_at": "2026-11-26T12:00:00Z", "agent": {"id": "PUSER", "type": "user_reference",
                                                         "summary": "Dana Demo"},
        "data": {"id": "PINC1", "type": "incident", "status": "resolved", "incident_key": alert_id,
                 "html_url": "http://pagerduty.test/incidents/PINC1"}}}).encode()
    r = await client.post("/integrations/pagerduty/webhook", content=body, headers={
        "content-type": "application/json", "X-PagerDuty-Signature": sign("demo-webhook-secret", body)})
    assert r.status_code == 200, r.text


async def test_resolved_in_pagerduty_while_broken_stays_visible_and_alerts_again(app, client, clock, fake_pd):
    await connect(app)
    alert = await break_www15(app, clock)
    await resolved_in_pagerduty(client, alert["id"])

    [shown] = await app.state.monitor.active_alerts_json()
    assert (shown["id"], shown["state"], shown["condition"]) == (alert["id"], "resolved", "active")
    assert shown["pagerduty"]["text"] == "Resolved in PagerDuty by Dana Demo"
    page = (await client.get("/")).text
    assert "All quiet" not in page and "No open alerts" not in page
    assert "condition still active" in page
    assert 'id="count-alerts">1<' in page  # the summary counts what the alerts panel lists
    server_page = (await client.get("/servers/www15")).text
    assert "condition still active" in server_page
    alert_page = (await client.get(f"/alerts/{alert['id']}")).text
    assert "condition still active" in alert_page.lower()

    # within the hold nothing new; after it, a new alert (and a new trigger to PagerDuty)
    await ticks(app, 30, clock)
    assert [a["id"] for a in await app.state.monitor.alerts_json(open_only=True)] == []
    await ticks(app, 31, clock)
    [again] = await app.state.monitor.alerts_json(open_only=True)
    assert again["id"] != alert["id"] and again["server"] == "www15" and again["severity"] == "critical"
    assert [a["id"] for a in await app.state.monitor.active_alerts_json()] == [again["id"]]
    await app.state.worker.run_once()
    assert [(r["body"]["event_type"], r["body"]["incident_key"]) for r in fake_pd.requests] == [
        ("trigger", alert["id"]), ("trigger", again["id"])]


async def test_a_condition_that_clears_within_the_hold_leaves_all_quiet(app, client, clock):
    await connect(app)
    alert = await break_www15(app, clock)
    await resolved_in_pagerduty(client, alert["id"])
    await app.state.monitor.clear_fault("www15", "memory_usage")
    await ticks(app, 70, clock)
    assert await app.state.monitor.active_alerts_json() == []
    assert len(await app.state.monitor.alerts_json()) == 1
    assert "No open alerts. All quiet." in (await client.get("/")).text


async def test_resolved_by_a_person_here_while_broken_is_still_active_too(app, client, clock):
    alert = await break_www15(app, clock)
    await app.state.monitor.act_on_alert(alert["id"], "resolve", who="Sam")
    [shown] = await app.state.monitor.active_alerts_json()
    assert (shown["state"], shown["condition"]) == ("resolved", "active") and shown["realert_at"]
