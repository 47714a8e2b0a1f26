"""The fixtures' reset (fake_pagerduty/reset.py): one app for many tests, and nothing one test does is seen by the
next. The pytest plugin's `fake_pagerduty_app` and this suite's `sandbox` reset this way between tests."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from fake_pagerduty.reset import SEEDED_ROWS, SandboxApp
from fake_pagerduty.settings import Settings
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.sandbox_helpers import trigger
from tests.fake_pagerduty.webpages import sign_in

BASE_URL = "http://sandbox.test"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def _settings(tmp_path, name: str) -> Settings:
    return Settings(db_path=str(tmp_path / f"{name}.db"), public_url=BASE_URL)


async def _state(client: httpx.AsyncClient) -> dict:
    """GET /_sandbox/state with every timestamp made the same (they differ from one app to the next)."""
    response = await client.get("/_sandbox/state")
    assert response.status_code == 200
    return TIMESTAMP.sub("<time>", response.text)


async def _dirty(client: httpx.AsyncClient, app) -> None:
    """What test A does: touches every kind of state the sandbox keeps, in SQLite and in memory."""
    assert (await client.post("/_sandbox/clock", json={"advance_seconds": 7200})).status_code == 200
    assert (await client.post("/_sandbox/faults", json={"match": {"routing_key": "nobody"},
                                                        "status": 500})).status_code == 201
    assert (await client.put("/_sandbox/rate-limits", json={"enabled": True, "limit": 50})).status_code == 200
    assert (await client.put("/_sandbox/partner-apps/acme-monitor", json={"name": "Acme Monitor"})).status_code == 201
    assert (await client.put("/_sandbox/partner-apps/demo-monitor",
                             json={"webhook_url": "http://127.0.0.1:9/hook"})).status_code == 200
    subscription = {"webhook_subscription": {
        "type": "webhook_subscription", "events": ["incident.triggered"],
        "delivery_method": {"type": "http_delivery_method", "url": "https://receiver.test/hook"},
        "filter": {"type": "account_reference", "id": "PACME00"}}}
    assert (await client.post("/api/webhook_subscriptions", json=subscription,
                              headers=REST_HEADERS)).status_code == 200
    app.state.webhook_transport = httpx.MockTransport(lambda request: httpx.Response(200))
    for key in ("a", "b", "c"):
        assert (await trigger(client, key)).status_code == 202
    assert (await client.post("/v2/change/enqueue", json={"routing_key": SAMPLE_KEY,
                                                          "payload": {"summary": "Deployed"}})).status_code == 202
    for _ in range(10):
        assert (await sign_in(client, password="wrong")).status_code == 400
    assert (await sign_in(client)).status_code == 429  # Dana is locked out now
    app.state.live.version("PACME00")


async def test_a_reset_leaves_nothing_of_the_last_test_and_matches_a_new_app(tmp_path):
    async with SandboxApp(_settings(tmp_path, "fresh")) as fresh, SandboxApp(_settings(tmp_path, "used")) as used:
        async with fresh.client(BASE_URL) as client:
            new_app = await _state(client)
        new_keys = set(fresh.app.state._state)

        await used.reset()
        async with used.client(BASE_URL) as client:
            await _dirty(client, used.app)
            dirty = await _state(client)
        assert dirty != new_app

        await used.reset()  # what the fixtures do before test B

        state = used.app.state
        assert set(state._state) - {SEEDED_ROWS} == new_keys  # webhook_transport and the like are gone
        async with used.client(BASE_URL) as client:
            assert await _state(client) == new_app  # the database, ids, journal, faults, rate limit, clock
            assert (await sign_in(client)).status_code == 303  # failed sign-ins forgotten
            assert (await trigger(client, "b")).status_code == 202  # no fault, no rate limit
            [event] = (await client.get("/_sandbox/events")).json()["events"]
            assert (event["id"], event["outcome"]) == (1, "created")  # ids from 1, as in a new database
        assert state.clock.offset.total_seconds() == 0
        assert state.live.version("PACME00").endswith(".1")  # counted from 0 again (one trigger since)
        assert state.journal_signal.waiting == 0
        assert len(state.faults) == 0 and not state.rate_limiter.settings.enabled
        for name in ("clock", "changes", "journal_signal", "faults", "rate_limiter", "live", "login_failures",
                     "login_failures_by_address", "webhooks"):
            assert getattr(state, name) is not getattr(fresh.app.state, name)


async def test_reset_after_the_seed_file_changed_applies_the_new_seed(tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text('{"partner_apps": [{"vendor_key": "acme-monitor", "app_id": "PACMEMN"}]}')
    settings = Settings(db_path=str(tmp_path / "s.db"), seed_file=seed_file, public_url="http://t")
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        seed_file.write_text('{"partner_apps": [{"vendor_key": "globex-monitor", "app_id": "PGLOBEX"}]}')
        await sandbox.reset()
        async with sandbox.client("http://t") as client:
            apps = (await client.get("/_sandbox/partner-apps")).json()["partner_apps"]
    assert sorted(a["vendor_key"] for a in apps) == ["demo-monitor", "globex-monitor"]


PARTNER_SUITE = """
import httpx

KEY = "e93facc04764012d7bfb002500d5d1a6"


async def app_state(client):
    body = (await client.get("/_sandbox/state")).json()
    return (body["clock"]["offset_seconds"], body["faults"], body["rate_limits"]["enabled"],
            [a["vendor_key"] for a in body["partner_apps"]], body["incidents"], body["journal"])


async def test_1_in_process_changes_everything(fake_pagerduty_app):
    c = fake_pagerduty_app
    await c.post("/_sandbox/clock", json={"advance_seconds": 60})
    await c.post("/_sandbox/faults", json={"status": 500, "match": {"routing_key": "x"}})
    await c.put("/_sandbox/rate-limits", json={"enabled": True})
    await c.put("/_sandbox/partner-apps/acme-monitor", json={"name": "Acme"})
    await c.post("/v2/enqueue", json={"routing_key": KEY, "event_action": "trigger",
                                      "payload": {"summary": "s", "source": "x", "severity": "info"}})
    c.app.state.webhook_transport = httpx.MockTransport(lambda r: httpx.Response(200))
    assert (await app_state(c))[0] == 60


async def test_2_in_process_sees_none_of_it(fake_pagerduty_app):
    assert await app_state(fake_pagerduty_app) == (
        0.0, [], False, ["demo-monitor"], [], {"count": 0, "last_event_id": 0})
    assert not hasattr(fake_pagerduty_app.app.state, "webhook_transport")


def server_state(sandbox):
    body = sandbox.client.get("/_sandbox/state").json()
    return (body["clock"]["offset_seconds"], body["faults"], body["rate_limits"]["enabled"],
            [a["vendor_key"] for a in body["partner_apps"]], body["incidents"], body["journal"]["count"])


def test_3_server_changes_everything(fake_pagerduty):
    fake_pagerduty.advance_clock(60)
    fake_pagerduty.add_fault(500, endpoint="v1")
    fake_pagerduty.client.put("/_sandbox/rate-limits", json={"enabled": True})
    fake_pagerduty.client.put("/_sandbox/partner-apps/acme-monitor", json={"name": "Acme"})
    fake_pagerduty.client.post(fake_pagerduty.events_v2_url, json={
        "routing_key": fake_pagerduty.routing_key, "event_action": "trigger",
        "payload": {"summary": "s", "source": "x", "severity": "info"}})
    assert server_state(fake_pagerduty)[0] == 60


def test_4_server_sees_none_of_it(fake_pagerduty):
    assert server_state(fake_pagerduty) == (0.0, [], False, ["demo-monitor"], [], 0)
"""


def test_the_plugins_fixtures_leak_nothing_from_one_test_to_the_next(tmp_path):
    """A partner's suite, in order: with each fixture, a test changes everything it can, and the next one sees
    a sandbox as seeded."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "test_partner.py").write_text(PARTNER_SUITE)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
