"""The JSON API: servers and faults, alerts with delivery status, rules, integration."""

from tests.demo_monitor.conftest import break_www15, connect, ticks


async def test_servers_lists_the_fleet_with_current_metrics(app, client):
    await ticks(app, 1)
    response = await client.get("/api/servers")
    assert response.status_code == 200
    servers = response.json()["servers"]
    assert len(servers) == 24
    www15 = next(s for s in servers if s["name"] == "www15")
    assert set(www15["metrics"]) == {"cpu_usage", "memory_usage", "disk_usage", "latency_ms", "error_rate"}
    assert www15["status"] == "ok" and www15["role"] == "web"


async def test_a_fault_opens_an_alert_and_deleting_it_resolves_the_alert(app, client, clock):
    response = await client.post("/api/servers/www15/fault", json={"metric": "memory_usage", "value": 98})
    assert response.status_code == 200
    assert response.json() == {"server": "www15", "metric": "memory_usage", "value": 98.0, "fault": "active"}
    assert (await app.state.store.list_faults()) == [{"server": "www15", "metric": "memory_usage", "value": 98.0}]
    await ticks(app, 5, clock)
    server = (await client.get("/api/servers/www15")).json()
    assert server["metrics"]["memory_usage"] == 98.0
    assert server["status"] == "critical"
    alerts = (await client.get("/api/alerts")).json()["alerts"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["state"] == "open"
    assert alert["incident_key"] == alert["id"]
    assert alert["description"] == "Server www15 running low on memory"
    assert alert["rule"] == {"id": 1, "metric": "memory_usage", "operator": ">", "threshold": 90.0,
                             "severity": "critical", "for_seconds": 2}
    assert alert["delivery"]["status"] == "not_sent"  # not connected

    response = await client.request("DELETE", "/api/servers/www15/fault", json={"metric": "memory_usage"})
    assert response.status_code == 200
    assert await app.state.store.list_faults() == []
    await ticks(app, 4, clock)
    alerts = (await client.get("/api/alerts")).json()["alerts"]
    assert alerts[0]["state"] == "resolved"
    assert alerts[0]["resolved_by"] == "Demo Monitor"


async def test_bad_fault_requests_get_clear_4xx(client):
    r = await client.post("/api/servers/www999/fault", json={"metric": "memory_usage", "value": 98})
    assert r.status_code == 404 and r.json() == {"error": "There is no server named 'www999'."}
    r = await client.post("/api/servers/www15/fault", json={"metric": "temperature", "value": 98})
    assert r.status_code == 400 and "metric" in r.json()["error"]
    r = await client.post("/api/servers/www15/fault", json={"metric": "memory_usage", "value": 250})
    assert r.status_code == 400 and r.json()["error"] == "'value' for memory_usage must be between 0 and 100."
    r = await client.post("/api/servers/www15/fault", json={"metric": "memory_usage", "value": "lots"})
    assert r.status_code == 400
    r = await client.post("/api/servers/www15/fault", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json() == {"error": "The body is not valid JSON."}
    r = await client.post("/api/servers/www15/fault", content=b"[1]", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = await client.post("/api/servers/www15/fault", data={"metric": "memory_usage"})
    assert r.status_code == 415
    r = await client.get("/api/alerts/alert-nope")
    assert r.status_code == 404 and r.json() == {"error": "There is no alert 'alert-nope'."}


async def test_alert_delivery_status_follows_the_outbox(app, client, clock, fake_pd):
    await connect(app)
    alert = await break_www15(app, clock)
    assert alert["delivery"]["status"] == "queued"
    await app.state.worker.run_once()
    alert = (await client.get(f"/api/alerts/{alert['id']}")).json()
    assert alert["delivery"] == {"status": "sent", "event": "trigger", "attempts": 1, "reason": None}
    body = fake_pd.requests[0]["body"]
    assert body["incident_key"] == alert["id"]
    assert body["client_url"] == f"http://monitor.test/alerts/{alert['id']}"
    assert body["details"] == {"server_name": "www15", "memory_usage": "98%", "threshold": "90%"}
    assert body["vendor"] == "demo-monitor"


async def test_acknowledging_through_the_api_queues_an_acknowledge_event(app, client, clock, fake_pd):
    await connect(app)
    alert = await break_www15(app, clock)
    r = await client.post(f"/api/alerts/{alert['id']}/acknowledge", json={"by": "Sam"})
    assert r.status_code == 200
    assert r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "Sam"
    r = await client.post(f"/api/alerts/{alert['id']}/acknowledge", json={})
    assert r.status_code == 409
    await app.state.worker.run_once()
    assert [(q["body"]["event_type"], q["body"]["incident_key"]) for q in fake_pd.requests] == [
        ("trigger", alert["id"]), ("acknowledge", alert["id"])]


async def test_rules_and_integration_as_json(client):
    rules = (await client.get("/api/rules")).json()["rules"]
    assert [(r["metric"], r["operator"], r["threshold"], r["severity"]) for r in rules] == [
        ("memory_usage", ">", 90.0, "critical"), ("cpu_usage", ">", 85.0, "warning"),
        ("disk_usage", ">", 95.0, "error"), ("error_rate", ">", 5.0, "critical")]
    integration = (await client.get("/api/integration")).json()
    assert integration["connected"] is False and integration["account"] is None
    assert integration["events_api_version"] == 1


async def test_server_history_feeds_the_charts(app, client, clock):
    await ticks(app, 3, clock)
    r = await client.get("/api/servers/db1/history")
    assert r.status_code == 200
    data = r.json()
    assert data["server"] == "db1"
    assert len(data["history"]["t"]) == 3 and len(data["history"]["memory_usage"]) == 3
    assert data["thresholds"]["memory_usage"] == [{"value": 90.0, "severity": "critical"}]
    assert (await client.get("/api/servers/nope/history")).status_code == 404


async def test_unknown_api_paths_and_methods_answer_json(client):
    r = await client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json() == {"error": "There is no page here."}
    r = await client.put("/api/alerts")
    assert r.status_code == 405 and r.json() == {"error": "That method is not allowed here."}


async def test_api_state_changes_must_be_json(app, client, clock):
    alert = await break_www15(app, clock)
    r = await client.post(f"/api/alerts/{alert['id']}/acknowledge")
    assert r.status_code == 415 and r.json() == {"error": "Send the request as application/json."}
    r = await client.post(f"/api/alerts/{alert['id']}/acknowledge", data={"by": "x"})
    assert r.status_code == 415
    assert (await app.state.store.get_alert(alert["id"])).state == "open"
    r = await client.post(f"/api/alerts/{alert['id']}/resolve", headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["state"] == "resolved" and r.json()["resolved_by"] == "API user"


async def test_acting_on_an_unknown_alert_is_a_404_with_or_without_a_body(client):
    """Issue 19: a bare POST to an unknown alert got 415 ("send JSON"), not 404."""
    for headers in ({}, {"content-type": "application/json"}):
        r = await client.post("/api/alerts/alert-nope/acknowledge", headers=headers)
        assert r.status_code == 404 and r.json() == {"error": "There is no alert 'alert-nope'."}


async def test_the_optional_body_names_who_acted(app, client, clock):
    alert = await break_www15(app, clock)
    r = await client.post(f"/api/alerts/{alert['id']}/acknowledge", json={"by": "Sam"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "Sam"
