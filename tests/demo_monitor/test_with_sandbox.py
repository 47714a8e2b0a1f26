"""The monitor's delivery against the real sandbox app, in-process (httpx.ASGITransport, no ports)."""

import asyncio
import json

import httpx
import pytest

from demo_monitor.app import create_app
from demo_monitor.settings import Settings
from tests.demo_monitor.conftest import SERVICE_KEY, break_www15, connect, ticks


class Switchable(httpx.AsyncBaseTransport):
    """The sandbox, which can be 'stopped' (connection refused) and started again."""

    def __init__(self, app) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.down = False
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def pd_transport(sandbox_app) -> Switchable:
    return Switchable(sandbox_app)


@pytest.fixture
async def monitor(tmp_path, clock, pd_transport):
    # the legacy v1 path (these tests check v1 answers and v1 faults); the default, v2: test_default_events.py
    settings = Settings(db_path=str(tmp_path / "monitor.db"), pagerduty_url="http://sandbox.test",
                        public_url="http://monitor.test", autostart=False, events_api_version=1)
    app = create_app(settings, transport=pd_transport, backoff=lambda attempts: 1.0, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


REST_HEADERS = {"Authorization": "Token token=sandbox-api-key-acme",
                "Accept": "application/vnd.pagerduty+json;version=2"}


async def incidents(sandbox_app, incident_key: str) -> list[dict]:
    """The sandbox's incidents for a key, through its REST API."""
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as rest:
        response = await rest.get("/api/incidents", headers=REST_HEADERS,
                                  params={"incident_key": incident_key, "date_range": "all"})
    assert response.status_code == 200, response.text
    return response.json()["incidents"]


async def outbox(app) -> list[tuple[str, str]]:
    return [(r["event_type"], r["status"]) for r in await app.state.store.list_outbox()]


async def test_trigger_acknowledge_and_resolve_reach_the_sandbox(monitor, clock, sandbox_app):
    await connect(monitor, SERVICE_KEY)
    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    rows = await monitor.state.store.list_outbox()
    assert [(r["event_type"], r["status"]) for r in rows] == [("trigger", "sent")]
    assert json.loads(rows[0]["response"]) == {"status": "success", "message": "Event processed",
                                               "incident_key": alert["id"]}
    [incident] = await incidents(sandbox_app, alert["id"])
    assert incident["status"] == "triggered"
    assert incident["title"] == "Server www15 running low on memory"
    assert incident["incident_key"] == alert["id"]

    await monitor.state.monitor.act_on_alert(alert["id"], "acknowledge", who="Sam")
    await monitor.state.worker.run_once()
    assert [i["status"] for i in await incidents(sandbox_app, alert["id"])] == ["acknowledged"]
    await monitor.state.monitor.clear_fault("www15", "memory_usage")
    await ticks(monitor, 4, clock)
    await monitor.state.worker.run_once()
    assert await outbox(monitor) == [("trigger", "sent"), ("acknowledge", "sent"), ("resolve", "sent")]
    assert (await monitor.state.store.get_alert(alert["id"])).state == "resolved"
    assert [i["status"] for i in await incidents(sandbox_app, alert["id"])] == ["resolved"]


async def test_events_api_v2_reaches_the_sandbox(monitor, clock):
    await connect(monitor, SERVICE_KEY)
    await monitor.state.connection.set_events_api_version(2)
    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    row = (await monitor.state.store.list_outbox())[0]
    assert row["url"] == "http://sandbox.test/v2/enqueue"
    assert (row["status"], json.loads(row["response"])["dedup_key"]) == ("sent", alert["id"])


async def test_an_invalid_key_fails_with_the_sandboxs_reason(monitor, clock):
    await connect(monitor, "not-a-valid-key")
    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    data = (await monitor.state.store.list_outbox())[0]
    assert data["status"] == "failed"
    assert data["last_error"].startswith("HTTP 400: ")
    summary = (await monitor.state.monitor.alert_json_by_id(alert["id"]))[1]["delivery"]
    assert summary["status"] == "failed" and summary["reason"] == data["last_error"]


async def test_stopping_the_sandbox_loses_nothing_and_keeps_order(monitor, clock, pd_transport, sandbox_app):
    await connect(monitor, SERVICE_KEY)
    pd_transport.down = True
    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    await monitor.state.monitor.act_on_alert(alert["id"], "acknowledge", who="Sam")
    await monitor.state.monitor.clear_fault("www15", "memory_usage")
    await ticks(monitor, 4, clock)
    for _ in range(5):  # a while of refused connections
        clock.advance(1)
        await monitor.state.worker.run_once()
    assert pd_transport.refused >= 5
    assert await outbox(monitor) == [("trigger", "retrying"), ("acknowledge", "queued"), ("resolve", "queued")]
    summary = (await monitor.state.monitor.alert_json_by_id(alert["id"]))[1]["delivery"]
    assert summary["status"] == "retrying" and "network error" in summary["reason"]

    pd_transport.down = False
    clock.advance(1)
    await monitor.state.worker.run_once()
    assert await outbox(monitor) == [("trigger", "sent"), ("acknowledge", "sent"), ("resolve", "sent")]
    rows = await monitor.state.store.list_outbox()
    assert rows[0]["attempts"] == 7 and rows[1]["attempts"] == 1
    assert [i["status"] for i in await incidents(sandbox_app, alert["id"])] == ["resolved"]


@pytest.mark.parametrize("status", [403, 429, 500, 503])
async def test_the_sandboxs_throttling_and_errors_are_retried_until_the_incident_exists(
        monitor, clock, sandbox_app, status):
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as control:
        r = await control.post("/_sandbox/faults", json={"match": {"endpoint": "v1"}, "status": status, "count": 2})
        assert r.status_code == 201, r.text
    await connect(monitor, SERVICE_KEY)
    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    row = (await monitor.state.store.list_outbox())[0]
    assert (row["status"], row["attempts"]) == ("retrying", 1)
    assert row["last_error"].startswith(f"HTTP {status}")
    if status == 403:
        assert "throttle exceeded" in row["last_error"]
    assert await incidents(sandbox_app, alert["id"]) == []
    for _ in range(2):
        clock.advance(1)
        await monitor.state.worker.run_once()
    row = (await monitor.state.store.list_outbox())[0]
    assert (row["status"], row["attempts"]) == ("sent", 3)
    assert [i["status"] for i in await incidents(sandbox_app, alert["id"])] == ["triggered"]


# -- the whole story, with the sandbox's signed webhooks coming back to the monitor ---------------------------

PARTNER_KEY = "0123456789abcdef0123456789abcdef"
PARTNER_SERVICE = "PDMSTORY"


@pytest.fixture
async def wired(sandbox_app, monitor):
    """A Demo Monitor service in the sandbox (as the Connect handshake makes it), its webhooks sent in-process
    to this monitor, and the monitor connected to it."""
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await store.services.upsert(id=PARTNER_SERVICE, account_id="PACME00", name="Checkout Website",
                               vendor_key="demo-monitor", now=now)
    await store.services.upsert_integration(id="PDMSTINT", service_id=PARTNER_SERVICE, integration_key=PARTNER_KEY,
                                   name="Demo Monitor", vendor_key="demo-monitor", now=now)
    sandbox_app.state.webhook_transport = httpx.ASGITransport(app=monitor)
    await connect(monitor, PARTNER_KEY)
    return monitor


async def alert_when(monitor, sandbox_app, alert_id, condition):
    """The alert, once the sandbox's webhooks have made `condition(alert)` true (re-checked on each of its steps)."""
    async def check():
        alert = await monitor.state.store.get_alert(alert_id)
        return alert if condition(alert) else None

    async with asyncio.timeout(30):  # a hang guard, not a timing assertion
        return await sandbox_app.state.webhooks.wait_until(check)


async def test_acknowledged_and_resolved_in_pagerduty_show_on_the_alert(wired, sandbox_app, sandbox, clock):
    monitor = wired
    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    seen = await alert_when(monitor, sandbox_app, alert["id"], lambda a: a.pd_status == "triggered")
    [incident] = await incidents(sandbox_app, alert["id"])
    assert seen.pd_incident_url.endswith(f"/incidents/{incident['id']}")

    r = await sandbox.put(f"/api/incidents/{incident['id']}",
                          json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
                          headers={**REST_HEADERS, "From": "demo@acme.test"})
    assert r.status_code == 200, r.text
    await alert_when(monitor, sandbox_app, alert["id"], lambda a: a.pd_status == "acknowledged")
    transport = httpx.ASGITransport(app=monitor)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor.test") as client:
        page = await client.get(f"/alerts/{alert['id']}")
        assert "Acknowledged in PagerDuty by Dana Demo" in page.text
        assert ">Acknowledge</button>" not in page.text  # already acknowledged, by PagerDuty
        # the monitor did not echo an acknowledge back
        assert [e["event_type"] for e in (await client.get(f"/api/alerts/{alert['id']}")).json()["events"]] == [
            "trigger"]

        # recovery resolves here, tells PagerDuty, and PagerDuty's resolved webhook comes back
        await monitor.state.monitor.clear_fault("www15", "memory_usage")
        await ticks(monitor, 4, clock)
        await monitor.state.worker.run_once()
        assert [i["status"] for i in await incidents(sandbox_app, alert["id"])] == ["resolved"]
        final = await alert_when(monitor, sandbox_app, alert["id"], lambda a: a.pd_status == "resolved")
        assert final.state == "resolved" and final.resolved_by == "Demo Monitor"
        data = (await client.get(f"/api/alerts/{alert['id']}")).json()
        # PagerDuty's resolve came from the monitor's own integration: one wording on both sides
        assert data["pagerduty"]["text"] == "Resolved by Demo Monitor"
        assert [(e["event_type"], e["status"]) for e in data["events"]] == [("trigger", "sent"), ("resolve", "sent")]


async def test_after_a_sandbox_reset_the_alert_says_its_incident_is_gone(wired, sandbox_app, sandbox, clock):
    """Issue 16, point 3: no link to a 404 page once the sandbox's Reset deleted the incident."""
    monitor = wired
    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    await alert_when(monitor, sandbox_app, alert["id"], lambda a: a.pd_status == "triggered")
    transport = httpx.ASGITransport(app=monitor)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor.test") as client:
        page = (await client.get(f"/alerts/{alert['id']}")).text
        assert "Triggered in PagerDuty" in page and ">open the incident</a>" in page  # it exists: linked

        assert (await sandbox.post("/_sandbox/reset")).status_code == 200
        page = (await client.get(f"/alerts/{alert['id']}")).text
        assert "This incident no longer exists in PagerDuty" in page
        assert "open the incident" not in page and "/incidents/" not in page
        data = (await client.get(f"/api/alerts/{alert['id']}")).json()["pagerduty"]
        assert (data["status"], data["incident_url"]) == ("gone", None)
        assert "no longer exists in PagerDuty" in (await client.get("/")).text  # the dashboard agrees
