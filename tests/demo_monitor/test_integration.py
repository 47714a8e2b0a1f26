"""The Connect handshake: the button, the state token, the callback, cancel, disconnect, the API switch."""

import re
from urllib.parse import parse_qs, urlsplit

from tests.demo_monitor.conftest import SERVICE_KEY, break_www15, csrf


async def start(client) -> tuple[str, str]:
    """Follow the "Alert with PagerDuty" link; return (PagerDuty URL, the state in its callback)."""
    page = await client.get("/integrations/pagerduty")
    link = re.search(r'<a class="connect-button" href="([^"]+)" aria-label="Alert with PagerDuty">', page.text)
    assert link, "no link named 'Alert with PagerDuty'"
    assert 'src="http://pagerduty.test/assets/pd_connect_button.png"' in page.text
    assert 'alt="Connect to PagerDuty"' in page.text
    r = await client.get(link.group(1))
    assert r.status_code == 303
    location = r.headers["location"]
    query = parse_qs(urlsplit(location).query)
    callback = query["callback"][0]
    state = parse_qs(urlsplit(callback).query)["state"][0]
    return location, state


async def test_the_button_redirects_to_pagerduty_connect_with_vendor_and_callback(client):
    location, state = await start(client)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://pagerduty.test/connect"
    query = parse_qs(parts.query)
    assert query["vendor"] == ["demo-monitor"]
    assert query["callback"][0].startswith("http://monitor.test/integrations/pagerduty/callback?state=")
    assert len(state) >= 20


async def test_a_good_callback_connects_and_the_state_is_single_use(client):
    _, state = await start(client)
    params = {"state": state, "account": "acme", "service_key": SERVICE_KEY, "service_name": "Demo Monitor"}
    r = await client.get("/integrations/pagerduty/callback", params=params)
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "Connected to PagerDuty" in page.text
    assert "acme" in page.text and "Demo Monitor" in page.text
    assert ">Disconnect</button>" in page.text
    assert (await client.get("/api/integration")).json() == {
        "connected": True, "account": "acme", "service_key": SERVICE_KEY, "service_name": "Demo Monitor",
        "connected_at": (await client.get("/api/integration")).json()["connected_at"],
        "events_api_version": 1, "pagerduty_url": "http://pagerduty.test", "via": "connect"}
    # the same state again is refused
    r = await client.get("/integrations/pagerduty/callback", params={**params, "service_key": "b" * 32})
    assert r.status_code == 400
    assert "already used" in r.text
    assert (await client.get("/api/integration")).json()["service_key"] == SERVICE_KEY


async def test_a_missing_or_wrong_state_is_refused_with_a_clear_message(client):
    params = {"account": "evil", "service_key": "c" * 32, "service_name": "Evil"}
    r = await client.get("/integrations/pagerduty/callback", params=params)
    assert r.status_code == 400 and "no state token" in r.text
    await start(client)
    r = await client.get("/integrations/pagerduty/callback", params={**params, "state": "guessed"})
    assert r.status_code == 400 and "state token is wrong" in r.text
    assert (await client.get("/api/integration")).json()["connected"] is False


async def test_cancelling_leaves_the_monitor_unconnected(client):
    _, state = await start(client)
    r = await client.get("/integrations/pagerduty/callback", params={"state": state, "error": "cancelled"})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "The PagerDuty integration was cancelled" in page.text
    assert 'aria-label="Alert with PagerDuty"' in page.text
    assert (await client.get("/api/integration")).json()["connected"] is False


async def test_cancelling_a_second_handshake_keeps_the_connection_and_says_so(client):
    """Issue 19: cancel while connected showed "not connected" above "Connected to PagerDuty"; the connection
    stays (as PagerDuty's own integration does), and the message says so."""
    _, state = await start(client)
    await client.get("/integrations/pagerduty/callback",
                     params={"state": state, "account": "acme", "service_key": SERVICE_KEY, "service_name": "S"})
    again = await client.get("/integrations/pagerduty/connect")  # e.g. a second tab's button
    state = parse_qs(urlsplit(parse_qs(urlsplit(again.headers["location"]).query)["callback"][0]).query)["state"][0]
    r = await client.get("/integrations/pagerduty/callback", params={"state": state, "error": "cancelled"})
    page = await client.get(r.headers["location"])
    assert "not connected" not in page.text.lower()
    assert "Connecting again was cancelled. The monitor is still connected" in page.text
    assert "Connected to PagerDuty" in page.text
    assert (await client.get("/api/integration")).json()["connected"] is True


async def test_a_malformed_service_key_is_refused(client):
    _, state = await start(client)
    r = await client.get("/integrations/pagerduty/callback",
                         params={"state": state, "account": "acme", "service_key": "short", "service_name": "x"})
    assert r.status_code == 400 and "32-character" in r.text


async def test_disconnect(client):
    _, state = await start(client)
    await client.get("/integrations/pagerduty/callback",
                     params={"state": state, "account": "acme", "service_key": SERVICE_KEY, "service_name": "S"})
    token = await csrf(client, "/integrations/pagerduty")
    r = await client.post("/integrations/pagerduty/disconnect", data={"csrf_token": token})
    assert r.status_code == 303
    assert (await client.get("/api/integration")).json()["connected"] is False
    page = await client.get(r.headers["location"])
    assert "Disconnected from PagerDuty" in page.text


async def test_switching_to_events_api_v2(app, client, clock, fake_pd):
    _, state = await start(client)
    await client.get("/integrations/pagerduty/callback",
                     params={"state": state, "account": "acme", "service_key": SERVICE_KEY, "service_name": "S"})
    token = await csrf(client, "/integrations/pagerduty")
    r = await client.post("/integrations/pagerduty/settings", data={"csrf_token": token, "events_api_version": "2"})
    assert r.status_code == 303
    assert (await client.get("/api/integration")).json()["events_api_version"] == 2
    alert = await break_www15(app, clock)
    await app.state.worker.run_once()
    assert fake_pd.requests[0]["path"] == "/v2/enqueue"
    assert fake_pd.requests[0]["body"]["routing_key"] == SERVICE_KEY
    assert fake_pd.requests[0]["body"]["dedup_key"] == alert["id"]
    r = await client.post("/integrations/pagerduty/settings", data={"csrf_token": token, "events_api_version": "3"})
    assert r.status_code == 400
