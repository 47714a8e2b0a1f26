"""Issue 16, point 1: by default the monitor sends Events API v2 with the alert's real severity, so the sandbox
shows the same severity (and the urgency that follows from it) as the monitor. v1 stays available."""

import json

import pytest

from demo_monitor.app import create_app
from demo_monitor.cli import build_parser, settings_from_args
from demo_monitor.settings import Settings
from tests.demo_monitor.conftest import SERVICE_KEY, connect, ticks
from tests.demo_monitor.test_with_sandbox import REST_HEADERS, Switchable, incidents


def test_the_default_is_events_api_v2():
    assert Settings().events_api_version == 2
    assert settings_from_args(build_parser().parse_args(["serve"])).events_api_version == 2
    assert settings_from_args(build_parser().parse_args(["serve", "--events-api", "1"])).events_api_version == 1


@pytest.fixture
async def monitor(tmp_path, clock, sandbox_app):
    settings = Settings(db_path=str(tmp_path / "monitor.db"), pagerduty_url="http://sandbox.test",
                        public_url="http://monitor.test", autostart=False)
    app = create_app(settings, transport=Switchable(sandbox_app), backoff=lambda attempts: 1.0, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


async def _alert_for(app, clock, server: str, metric: str, value: float) -> dict:
    await app.state.monitor.set_fault(server, metric, value)
    await ticks(app, 8, clock)
    [alert] = [a for a in await app.state.monitor.alerts_json(open_only=True) if a["server"] == server]
    await app.state.worker.run_once()
    return alert


@pytest.mark.parametrize(("metric", "value", "severity", "urgency"), [
    ("memory_usage", 98, "critical", "high"),
    ("cpu_usage", 97, "warning", "low"),
])
async def test_the_sandbox_shows_the_monitors_severity(monitor, clock, sandbox, sandbox_app, metric, value,
                                                        severity, urgency):
    await connect(monitor, SERVICE_KEY)
    alert = await _alert_for(monitor, clock, "www15", metric, value)
    assert alert["severity"] == severity
    [row] = await monitor.state.store.list_outbox()
    body = json.loads(row["body"])
    assert row["url"] == "http://sandbox.test/v2/enqueue" and row["status"] == "sent"
    assert body["payload"]["severity"] == severity and body["payload"]["source"] == "www15"

    [incident] = await incidents(sandbox_app, alert["id"])
    assert incident["urgency"] == urgency
    alerts = (await sandbox.get(f"/api/incidents/{incident['id']}/alerts", headers=REST_HEADERS)).json()["alerts"]
    assert [a["severity"] for a in alerts] == [severity]


async def test_the_legacy_v1_path_stays_available(monitor, clock, sandbox_app):
    await connect(monitor, SERVICE_KEY)
    await monitor.state.connection.set_events_api_version(1)
    alert = await _alert_for(monitor, clock, "www15", "memory_usage", 98)
    [row] = await monitor.state.store.list_outbox()
    assert row["url"] == "http://sandbox.test/generic/2010-04-15/create_event.json" and row["status"] == "sent"
    assert [i["status"] for i in await incidents(sandbox_app, alert["id"])] == ["triggered"]
