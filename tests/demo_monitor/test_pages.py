"""Pages and forms: what a person sees and clicks, with CSRF on every form."""

from demo_monitor.domain.webhooks import sign
from tests.demo_monitor.conftest import break_www15, connect, csrf, ticks


async def test_dashboard_shows_fleet_alerts_and_connection_status(app, client, clock):
    await ticks(app, 2, clock)
    page = await client.get("/")
    assert page.status_code == 200
    assert "www15" in page.text and "db1" in page.text and "cache1" in page.text
    assert "No open alerts" in page.text
    assert "PagerDuty: not connected" in page.text
    assert "/static/vendor/uplot/uPlot.iife.min.js" in page.text
    assert "set-cookie" in page.headers
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    await break_www15(app, clock)
    page = await client.get("/")
    assert "Server www15 running low on memory" in page.text


async def test_vendored_chart_library_is_served_with_its_licence(client):
    assert (await client.get("/static/vendor/uplot/uPlot.iife.min.js")).status_code == 200
    licence = await client.get("/static/vendor/uplot/LICENSE")
    assert licence.status_code == 200 and "MIT" in licence.text


async def test_break_and_recover_buttons_on_the_server_page(app, client, clock):
    page = await client.get("/servers/www15")
    assert page.status_code == 200
    assert ">Break</button>" in page.text and ">Recover</button>" in page.text
    token = await csrf(client, "/servers/www15")
    r = await client.post("/servers/www15/fault", data={"csrf_token": token, "metric": "memory_usage",
                                                        "value": "", "action": "break"})
    assert r.status_code == 303
    assert await app.state.store.list_faults() == [{"server": "www15", "metric": "memory_usage", "value": 98.0}]
    r = await client.post("/servers/www15/fault", data={"csrf_token": token, "metric": "memory_usage",
                                                        "action": "recover"})
    assert r.status_code == 303
    assert await app.state.store.list_faults() == []


async def test_a_form_without_a_valid_csrf_token_is_refused_and_changes_nothing(app, client):
    await client.get("/")
    r = await client.post("/servers/www15/fault", data={"metric": "memory_usage", "action": "break"})
    assert r.status_code == 403
    assert "security token" in r.text
    r = await client.post("/servers/www15/fault", data={"csrf_token": "forged", "metric": "memory_usage",
                                                        "action": "break"})
    assert r.status_code == 403
    assert await app.state.store.list_faults() == []


async def test_unknown_pages_are_readable_404s(client):
    r = await client.get("/servers/nope")
    assert r.status_code == 404 and "There is no server named" in r.text
    r = await client.get("/alerts/alert-0-000000")
    assert r.status_code == 404 and "There is no alert" in r.text


async def test_acknowledge_and_resolve_buttons_on_the_alert_page(app, client, clock, fake_pd):
    await connect(app)
    alert = await break_www15(app, clock)
    page = await client.get(f"/alerts/{alert['id']}")
    assert page.status_code == 200
    assert ">Acknowledge</button>" in page.text and ">Resolve</button>" in page.text
    token = await csrf(client, f"/alerts/{alert['id']}")
    r = await client.post(f"/alerts/{alert['id']}/acknowledge", data={"csrf_token": token})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "acknowledged" in page.text and ">Acknowledge</button>" not in page.text
    r = await client.post(f"/alerts/{alert['id']}/resolve", data={"csrf_token": token})
    assert r.status_code == 303
    assert (await app.state.store.get_alert(alert["id"])).state == "resolved"
    r = await client.post(f"/alerts/{alert['id']}/resolve", data={"csrf_token": token})
    assert r.status_code == 409 and "already resolved" in r.text
    await app.state.worker.run_once()
    assert [q["body"]["event_type"] for q in fake_pd.requests] == ["trigger", "acknowledge", "resolve"]
    # recovery after a manual resolve sends nothing more
    await app.state.monitor.clear_fault("www15", "memory_usage")
    await ticks(app, 4, clock)
    await app.state.worker.run_once()
    assert len(fake_pd.requests) == 3


async def test_rules_are_editable(app, client):
    token = await csrf(client, "/rules")
    r = await client.post("/rules/2", data={"csrf_token": token, "metric": "cpu_usage", "operator": ">",
                                            "threshold": "70", "severity": "error", "for_seconds": "10",
                                            "enabled": "on"})
    assert r.status_code == 303
    rule = next(r for r in (await client.get("/api/rules")).json()["rules"] if r["id"] == 2)
    assert rule == {"id": 2, "metric": "cpu_usage", "operator": ">", "threshold": 70.0, "severity": "error",
                    "for_seconds": 10, "enabled": True}
    r = await client.post("/rules/2", data={"csrf_token": token, "metric": "cpu_usage", "operator": ">",
                                            "threshold": "high", "severity": "error", "for_seconds": "10"})
    assert r.status_code == 400 and "threshold must be a number" in r.text
    r = await client.post("/rules/99", data={"csrf_token": token, "metric": "cpu_usage", "operator": ">",
                                             "threshold": "1", "severity": "error", "for_seconds": "1"})
    assert r.status_code == 404


async def test_text_from_data_is_escaped(app, client, clock):
    await app.state.store.save_integration("acme", "a" * 32, "<script>alert(1)</script>", "t")
    page = await client.get("/integrations/pagerduty")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_webhook_acknowledged_in_pagerduty_shows_on_the_alert(app, client, clock):
    await connect(app)
    alert = await break_www15(app, clock)
    body = ('{"event":{"id":"01EVT1","event_type":"incident.acknowledged","resource_type":"incident",'
            '"occurred_at":"2026-11-26T12:00:00Z","agent":{"id":"PUSER","type":"user_reference",'
            '"summary":"Dana Demo"},"client":null,"data":{"id":"PINC1","type":"incident","status":"acknowledged",'
            f'"incident_key":"{alert["id"]}","html_url":"http://sandbox.test/incidents/PINC1"}}}}}}').encode()
    headers = {"content-type": "application/json"}

    r = await client.post("/integrations/pagerduty/webhook", content=body,
                          headers={**headers, "X-PagerDuty-Signature": sign("wrong-secret", body)})
    assert r.status_code == 401
    assert (await app.state.store.get_alert(alert["id"])).pd_status is None
    r = await client.post("/integrations/pagerduty/webhook", content=body, headers=headers)
    assert r.status_code == 401

    signature = "v1=0000, " + sign("demo-webhook-secret", body)
    r = await client.post("/integrations/pagerduty/webhook", content=body,
                          headers={**headers, "X-PagerDuty-Signature": signature})
    assert r.status_code == 200 and r.json() == {"status": "processed", "alert_id": alert["id"]}
    page = await client.get(f"/alerts/{alert['id']}")
    assert "Acknowledged in PagerDuty by Dana Demo" in page.text
    assert (await client.get(f"/api/alerts/{alert['id']}")).json()["pagerduty"] == {
        "status": "acknowledged", "by": "Dana Demo", "incident_url": "http://sandbox.test/incidents/PINC1",
        "text": "Acknowledged in PagerDuty by Dana Demo"}

    # a replayed event is accepted but changes nothing
    await app.state.store.update_alert(alert["id"], {"pd_agent": "someone else"})
    r = await client.post("/integrations/pagerduty/webhook", content=body,
                          headers={**headers, "X-PagerDuty-Signature": signature})
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert (await app.state.store.get_alert(alert["id"])).pd_agent == "someone else"


async def test_webhook_for_an_unknown_incident_is_accepted_and_ignored(client):
    body = b'{"event":{"id":"E9","event_type":"incident.resolved","data":{"incident_key":"other"}}}'
    r = await client.post("/integrations/pagerduty/webhook", content=body,
                          headers={"X-PagerDuty-Signature": sign("demo-webhook-secret", body)})
    assert r.status_code == 202
    bad = b"not json"
    r = await client.post("/integrations/pagerduty/webhook", content=bad,
                          headers={"X-PagerDuty-Signature": sign("demo-webhook-secret", bad)})
    assert r.status_code == 400


async def test_scenario_panel_plays_the_memory_leak_story(app, client, clock):
    token = await csrf(client, "/")
    r = await client.post("/scenario", data={"csrf_token": token, "scenario": "memory-leak", "action": "play"})
    assert r.status_code == 303
    assert "Playing “Memory leak on www15”." in (await client.get(r.headers["location"])).text
    await ticks(app, 15, clock)
    alerts = (await client.get("/api/alerts")).json()["alerts"]
    assert [(a["server"], a["state"]) for a in alerts] == [("www15", "open")]
    await ticks(app, 35, clock)
    alerts = (await client.get("/api/alerts")).json()["alerts"]
    assert [(a["server"], a["state"]) for a in alerts] == [("www15", "resolved")]



async def test_a_file_where_text_is_expected_is_a_400_not_a_500(client):
    token = await csrf(client, "/integrations/pagerduty")
    r = await client.post("/integrations/pagerduty/settings", data={"csrf_token": token},
                          files={"events_api_version": ("v.txt", b"2", "text/plain")})
    assert r.status_code == 400 and "must be 1 or 2" in r.text
    r = await client.post("/servers/www15/fault", data={"csrf_token": token, "action": "break"},
                          files={"metric": ("m.txt", b"memory_usage", "text/plain")})
    assert r.status_code == 400
