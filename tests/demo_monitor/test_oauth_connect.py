"""Connect with OAuth against the real sandbox app, in-process: the monitor's browser and PagerDuty's are two
httpx clients (two cookie jars); the monitor reaches the sandbox through an httpx.ASGITransport."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from demo_monitor.app import create_app
from demo_monitor.settings import Settings
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.demo_monitor.conftest import break_www15
from tests.fake_pagerduty.webpages import csrf, query_of, sign_in

MONITOR = "http://127.0.0.1:8000"  # a redirect URI the seeded OAuth app allows
SANDBOX = "http://sandbox.test"
REST = {"Accept": "application/vnd.pagerduty+json;version=2"}


@pytest.fixture
async def monitor(tmp_path, clock, sandbox_app):
    settings = Settings(db_path=str(tmp_path / "monitor.db"), pagerduty_url=SANDBOX, public_url=MONITOR,
                        autostart=False)
    app = create_app(settings, transport=httpx.ASGITransport(app=sandbox_app), backoff=lambda n: 1.0, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def browser(monitor):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=monitor), base_url=MONITOR) as client:
        yield client


@pytest.fixture
async def pd_browser(sandbox_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX) as client:
        yield client


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def start(browser: httpx.AsyncClient) -> str:
    """Press “Connect with OAuth”; the authorize URL the monitor sends the browser to."""
    page = await browser.get("/integrations/pagerduty")
    assert "Connect with OAuth" in page.text
    response = await browser.post("/integrations/pagerduty/oauth/start",
                                  data={"csrf_token": csrf(page.text, "/integrations/pagerduty/oauth/start")})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{SANDBOX}/oauth/authorize?")
    query = query_of(location)
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    assert query["redirect_uri"] == [f"{MONITOR}/integrations/pagerduty/oauth/callback"]
    return location


async def consent(pd_browser: httpx.AsyncClient, authorize_url: str, decision: str) -> str:
    """Sign in to the sandbox, answer its consent page; the URL it sends the browser back to."""
    await sign_in(pd_browser)
    page = await pd_browser.get(local(authorize_url))
    assert page.status_code == 200, page.text
    assert "Authorize" in page.text and "Deny" in page.text
    form = {name: values[0] for name, values in query_of(authorize_url).items()}
    response = await pd_browser.post("/oauth/authorize", data={
        **form, "csrf_token": csrf(page.text, "/oauth/authorize"), "decision": decision})
    assert response.status_code == 302, response.text
    back = response.headers["location"]
    assert back.startswith(f"{MONITOR}/integrations/pagerduty/oauth/callback?")
    return back


async def authorized(browser, pd_browser) -> None:
    back = await consent(pd_browser, await start(browser), "authorize")
    response = await browser.get(local(back))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/integrations/pagerduty/oauth/service"


async def choose(browser, *, service_name: str = "", new_name: str = "") -> httpx.Response:
    page = await browser.get("/integrations/pagerduty/oauth/service")
    assert page.status_code == 200, page.text
    service_id = ""
    if service_name:
        match = re.search(r'name="service_id" value="([^"]+)"[^>]*> ' + re.escape(service_name), page.text)
        assert match, page.text
        service_id = match.group(1)
    return await browser.post("/integrations/pagerduty/oauth/service", data={
        "csrf_token": csrf(page.text, "/integrations/pagerduty/oauth/service"), "service_id": service_id,
        "new_service_name": new_name})


async def test_a_state_this_browser_did_not_start_is_refused(browser, pd_browser):
    back = await consent(pd_browser, await start(browser), "authorize")
    query = {name: values[0] for name, values in query_of(back).items()}
    forged = await browser.get("/integrations/pagerduty/oauth/callback", params={**query, "state": "forged"})
    assert forged.status_code == 400 and "state" in forged.text
    async with httpx.AsyncClient(transport=browser._transport, base_url=MONITOR) as other_browser:
        stolen = await other_browser.get(local(back))  # the right state, in another browser session
    assert stolen.status_code == 400
    assert (await browser.get("/integrations/pagerduty/oauth/callback", params={"code": query["code"]})).status_code == 400
    assert (await browser.get("/api/integration")).json()["connected"] is False
    assert (await browser.get("/integrations/pagerduty/oauth/service")).status_code == 303  # no token stored


async def test_deny_comes_back_not_connected_with_the_reason(browser, pd_browser, monitor):
    back = await consent(pd_browser, await start(browser), "deny")
    assert query_of(back)["error"] == ["access_denied"]
    response = await browser.get(local(back), follow_redirects=True)
    assert response.status_code == 200
    assert "Not connected: Access was denied on PagerDuty&#39;s consent page (access_denied)" in response.text
    assert "Not connected" in response.text and "Connect with OAuth" in response.text
    assert await monitor.state.store.get_oauth_tokens() is None
    assert (await browser.get("/api/integration")).json()["connected"] is False
    # the state was used up: the same answer again is refused
    assert (await browser.get(local(back))).status_code == 400


async def test_the_flow_creates_an_integration_and_the_next_alert_pages_through_it(
        browser, pd_browser, monitor, clock, sandbox):
    await authorized(browser, pd_browser)
    tokens = await monitor.state.store.get_oauth_tokens()
    assert tokens["access_token"].startswith("pdus+_0") and tokens["subdomain"] == "acme"
    response = await choose(browser, service_name="Acme Website")
    assert (response.status_code, response.headers["location"]) == (303, "/integrations/pagerduty?result=connected")
    integration = (await browser.get("/api/integration")).json()
    assert integration["connected"] and integration["via"] == "oauth"
    assert integration["service_name"] == "Acme Website" and integration["account"] == "acme"
    key = integration["service_key"]
    assert key != SAMPLE_KEY  # a new integration, not the seeded one
    service = (await sandbox.get("/api/services", headers=REST_HEADERS
                                 )).json()["services"]
    [website] = [s for s in service if s["name"] == "Acme Website"]
    assert len(website["integrations"]) == 2
    page = await browser.get("/integrations/pagerduty?result=connected")
    assert "Connected to PagerDuty" in page.text and "with OAuth" in page.text

    alert = await break_www15(monitor, clock)
    await monitor.state.worker.run_once()
    [row] = await monitor.state.store.list_outbox()
    assert (row["event_type"], row["status"], row["url"]) == ("trigger", "sent", f"{SANDBOX}/v2/enqueue")
    journal = (await sandbox.get("/_sandbox/events", params={"dedup_key": alert["id"]})).json()
    [entry] = journal["events"]
    assert entry["routing_key"] == key and entry["outcome"] == "created", entry


async def test_a_new_service_is_created_for_the_integration(browser, pd_browser, sandbox):
    await authorized(browser, pd_browser)
    response = await choose(browser, new_name="Monitor alerts")
    assert (response.status_code, response.headers["location"]) == (303, "/integrations/pagerduty?result=connected")
    integration = (await browser.get("/api/integration")).json()
    assert integration["service_name"] == "Monitor alerts"
    listed = (await sandbox.get("/api/services", params={"query": "Monitor alerts"},
                                headers=REST_HEADERS)).json()
    [service] = listed["services"]
    assert len(service["integrations"]) == 1


async def test_disconnect_revokes_the_token(browser, pd_browser, monitor, sandbox):
    await authorized(browser, pd_browser)
    await choose(browser, service_name="Acme Website")
    token = (await monitor.state.store.get_oauth_tokens())["access_token"]
    bearer = {**REST, "Authorization": f"Bearer {token}"}
    assert (await sandbox.get("/api/services", headers=bearer)).status_code == 200
    page = await browser.get("/integrations/pagerduty")
    response = await browser.post("/integrations/pagerduty/disconnect",
                                  data={"csrf_token": csrf(page.text, "/integrations/pagerduty/disconnect")})
    assert response.status_code == 303
    assert (await browser.get("/api/integration")).json()["connected"] is False
    assert await monitor.state.store.get_oauth_tokens() is None
    assert (await sandbox.get("/api/services", headers=bearer)).status_code == 401


async def test_the_token_is_refreshed_before_it_expires(browser, pd_browser, monitor, clock):
    await authorized(browser, pd_browser)
    before = await monitor.state.store.get_oauth_tokens()
    clock.advance(before["expires_at"] - clock() - 60)  # within the refresh margin
    assert [s["name"] for s in await monitor.state.oauth.services()]
    after = await monitor.state.store.get_oauth_tokens()
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after["expires_at"] > before["expires_at"]


async def test_starting_needs_the_csrf_token(browser):
    await browser.get("/integrations/pagerduty")
    response = await browser.post("/integrations/pagerduty/oauth/start", data={})
    assert response.status_code == 403


async def test_connecting_again_revokes_the_previous_token(browser, pd_browser, monitor, sandbox):
    await authorized(browser, pd_browser)
    first = (await monitor.state.store.get_oauth_tokens())["access_token"]
    await authorized(browser, pd_browser)
    second = (await monitor.state.store.get_oauth_tokens())["access_token"]
    assert second != first
    assert (await sandbox.get("/api/services", headers={**REST, "Authorization": f"Bearer {first}"})).status_code == 401
    assert (await sandbox.get("/api/services", headers={**REST, "Authorization": f"Bearer {second}"})).status_code == 200
