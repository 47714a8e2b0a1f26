"""The sandbox's partner-app webhooks reaching the real demo monitor, both apps in-process (no ports): the
monitor triggers through the Events API, a person acknowledges in the sandbox, and the monitor hears of it
through a signed v3 webhook."""

from __future__ import annotations

import httpx
import pytest

from demo_monitor.app import create_app as create_monitor
from demo_monitor.settings import Settings as MonitorSettings
from tests.conftest import REST_HEADERS
from tests.demo_monitor.conftest import Clock, break_www15, connect
from tests.fake_pagerduty.webhook_helpers import until

KEY = "0123456789abcdef0123456789abcdef"
SERVICE = "PMONSVC"


@pytest.fixture
async def monitor(tmp_path, sandbox_app):
    settings = MonitorSettings(db_path=str(tmp_path / "monitor.db"), pagerduty_url="http://sandbox.test",
                               public_url="http://monitor.test", autostart=False)
    clock = Clock()
    app = create_monitor(settings, transport=httpx.ASGITransport(app=sandbox_app), backoff=lambda attempts: 1.0,
                         clock=clock)
    app.state.test_clock = clock
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def partner_service(sandbox_app, monitor):
    """A service the Connect handshake would have made for the Demo Monitor, wired to the in-process monitor."""
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await store.services.upsert(id=SERVICE, account_id="PACME00", name="Demo Monitor service",
                               vendor_key="demo-monitor", now=now)
    await store.services.upsert_integration(id="PMONINT", service_id=SERVICE, integration_key=KEY, name="Demo Monitor",
                                   vendor_key="demo-monitor", now=now)
    sandbox_app.state.webhook_transport = httpx.ASGITransport(app=monitor)
    await connect(monitor, KEY)
    return SERVICE


async def settled(sandbox_app, count: int) -> list[dict]:
    async def check():
        rows = await sandbox_app.state.store.webhooks.deliveries_for_service(SERVICE)
        return rows if len(rows) == count and all(r["status"] != "pending" for r in rows) else None
    return list(reversed(await until(sandbox_app, check)))


async def test_a_person_acknowledging_in_the_sandbox_reaches_the_monitor(sandbox_app, sandbox, monitor,
                                                                        partner_service):
    alert = await break_www15(monitor, monitor.state.test_clock)
    await monitor.state.worker.run_once()

    [triggered] = await settled(sandbox_app, 1)
    assert (triggered["event_type"], triggered["status"], triggered["last_status_code"]) == (
        "incident.triggered", "delivered", 200)
    assert triggered["url"] == "http://127.0.0.1:8000/integrations/pagerduty/webhook"
    assert (await monitor.state.store.get_alert(alert["id"])).pd_status == "triggered"

    incident_id = triggered["incident_id"]
    response = await sandbox.put(
        f"/api/incidents/{incident_id}",
        json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
        headers={**REST_HEADERS, "From": "demo@acme.test"},
    )
    assert response.status_code == 200, response.text

    _, acknowledged = await settled(sandbox_app, 2)
    assert (acknowledged["event_type"], acknowledged["status"], acknowledged["last_status_code"]) == (
        "incident.acknowledged", "delivered", 200)
    seen = await monitor.state.store.get_alert(alert["id"])
    assert (seen.state, seen.pd_status, seen.pd_agent) == ("acknowledged", "acknowledged", "Dana Demo")
    assert seen.pd_incident_url == f"http://sandbox.test/incidents/{incident_id}"


async def test_a_wrong_partner_secret_is_refused_and_retried(sandbox_app, sandbox, monitor, partner_service):
    response = await sandbox.put("/_sandbox/partner-apps/demo-monitor", json={"webhook_secret": "not-the-secret"})
    assert response.status_code == 200, response.text
    alert = await break_www15(monitor, monitor.state.test_clock)
    await monitor.state.worker.run_once()

    async def refused():
        rows = await sandbox_app.state.store.webhooks.deliveries_for_service(SERVICE)
        return rows if rows and rows[0]["attempts"] >= 1 else None
    [row] = await until(sandbox_app, refused)
    assert (row["event_type"], row["last_status_code"], row["last_error"]) == (
        "incident.triggered", 401, "HTTP 401")
    assert (await monitor.state.store.get_alert(alert["id"])).pd_status is None
