"""The monitor's HTTP layer against the browser's attacks: DNS rebinding (the Host header), framing (CSP and
X-Frame-Options), and JSON nested too deeply to parse."""

from __future__ import annotations

import pytest

from demo_monitor.domain.webhooks import sign
from demo_monitor.settings import DEFAULT_WEBHOOK_SECRET
from tests.demo_monitor.conftest import SERVICE_KEY, break_www15, connect

REBOUND = {"Host": "rebind.evil.test"}
MESSAGE = "The monitor answers only at a loopback address"


# -- DNS rebinding ----------------------------------------------------------------------------------------

async def test_a_rebound_name_can_neither_set_a_fault_nor_read_the_integration_key(app, client):
    await connect(app)
    fault = await client.post("/api/servers/www15/fault", json={"metric": "memory_usage", "value": 98},
                              headers=REBOUND)
    assert fault.status_code == 421 and fault.json()["error"].startswith(MESSAGE)
    assert (await client.get("/api/servers/www15")).json().get("fault") in (None, {})
    integration = await client.get("/api/integration", headers=REBOUND)
    assert integration.status_code == 421 and SERVICE_KEY not in integration.text
    assert (await client.get("/api/integration")).json()["service_key"] == SERVICE_KEY  # at its own name


@pytest.mark.parametrize("path", ["/", "/integrations/pagerduty", "/alerts", "/healthz"])
async def test_pages_at_a_rebound_name_are_a_bare_421_page(app, client, path):
    await connect(app)
    response = await client.get(path, headers=REBOUND)
    assert response.status_code == 421
    assert response.headers["content-type"].startswith("text/html")
    assert MESSAGE in response.text
    assert "csrf_token" not in response.text and "Demo Monitor service" not in response.text


async def test_the_webhook_at_a_rebound_name_is_refused_as_json(client):
    body = b'{"event": {}}'
    response = await client.post("/integrations/pagerduty/webhook", content=body, headers={
        **REBOUND, "Content-Type": "application/json", "X-PagerDuty-Signature": sign(DEFAULT_WEBHOOK_SECRET, body)})
    assert response.status_code == 421 and response.json()["error"].startswith(MESSAGE)


@pytest.mark.parametrize("host", ["monitor.test", "127.0.0.1:8000", "127.0.0.1", "127.1.2.3:9", "localhost:8000",
                                  "[::1]:8000"])
async def test_loopback_names_and_the_public_url_host_are_served(client, host):
    assert (await client.get("/", headers={"Host": host})).status_code == 200
    response = await client.post("/api/servers/www15/fault", json={"metric": "memory_usage", "value": 98},
                                 headers={"Host": host})
    assert response.status_code == 200


# -- framing, sniffing, referrers ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/integrations/pagerduty", "/static/monitor.js", "/api/servers", "/nowhere"])
async def test_answers_forbid_framing_and_sniffing(client, path):
    response = await client.get(path)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # the Connect button's image comes from PagerDuty (here the conftest's http://pagerduty.test)
    assert "img-src 'self' data: http://pagerduty.test;" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


# -- JSON nested too deeply ---------------------------------------------------------------------------------

DEEP = b"[" * 40_000


async def test_deeply_nested_json_to_the_api_is_a_400(app, client, clock):
    alert = await break_www15(app, clock)
    for path in ("/api/servers/www15/fault", f"/api/alerts/{alert['id']}/acknowledge"):
        response = await client.post(path, content=DEEP, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, path
        assert response.json() == {"error": "The body is not valid JSON."}


async def test_deeply_nested_json_to_the_webhook_is_a_400(client):
    response = await client.post("/integrations/pagerduty/webhook", content=DEEP, headers={
        "Content-Type": "application/json", "X-PagerDuty-Signature": sign(DEFAULT_WEBHOOK_SECRET, DEEP)})
    assert response.status_code == 400
    assert response.json() == {"error": "the body is not JSON"}
