"""The sandbox as a person sees it, in Chromium against a real uvicorn process: the Connect handshake
(create a service, cancel at either step), then the incident console updating live and acknowledging."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from e2e.conftest import REST_HEADERS, sign_in

pytestmark = pytest.mark.e2e


def connect_url(sandbox_url: str) -> tuple[str, str]:
    """A Connect link whose callback is a page on the sandbox's own port (the test only reads its URL)."""
    callback = f"{sandbox_url}/cb?state=x"
    return f"{sandbox_url}/connect?vendor=demo-monitor&callback={quote(callback, safe='')}", callback


def test_connect_then_live_incident_and_acknowledge(page, sandbox_server, screens):
    base = sandbox_server.url
    link, callback = connect_url(base)

    page.goto(link)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("wants to send alerts to your PagerDuty account")).to_be_visible()
    screens.take(page, "20-sandbox-sign-in")
    sign_in(page)

    expect(page.get_by_role("heading", name="Demo Monitor wants to send alerts to your PagerDuty account")).to_be_visible()
    expect(page.get_by_label("Service name")).to_have_value("Demo Monitor")
    screens.take(page, "21-sandbox-connect")
    page.get_by_label("Service name").fill("Checkout <web>")
    page.get_by_role("button", name="Create service").click()

    page.wait_for_url(re.compile("^" + re.escape(callback) + "&"))
    params = parse_qs(urlsplit(page.url).query)
    assert set(params) == {"state", "account", "service_key", "service_name"}, page.url
    assert params["state"] == ["x"] and params["account"] == ["acme"]
    assert params["service_name"] == ["Checkout <web>"]
    key = params["service_key"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", key)

    # The incidents page, open before the event arrives, shows it without a reload.
    page.goto(base + "/incidents")
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    sent = httpx.post(base + "/v2/enqueue", timeout=5, json={
        "routing_key": key, "event_action": "trigger", "dedup_key": "disk-db1",
        "payload": {"summary": "Disk <b>full</b> on db1", "source": "db1", "severity": "critical"},
    })
    assert sent.status_code == 202, sent.text
    row = page.locator("#incident-rows tr", has_text="Disk <b>full</b> on db1")
    expect(row).to_be_visible()
    expect(row.get_by_text("Triggered")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    screens.take(page, "22-sandbox-incidents-live")

    row.get_by_role("button", name="Acknowledge").click()
    row = page.locator("#incident-rows tr", has_text="Disk <b>full</b> on db1")
    expect(row.get_by_text("Acknowledged")).to_be_visible()
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    incidents = httpx.get(base + "/api/incidents", headers=REST_HEADERS, timeout=5,
                          params={"incident_key": "disk-db1"}).json()["incidents"]
    assert [i["status"] for i in incidents] == ["acknowledged"]
    assert incidents[0]["service"]["summary"] == "Checkout <web>"

    # The incident page shows the timeline: triggered by the event, acknowledged by the person.
    row.get_by_role("link", name="Disk <b>full</b> on db1").click()
    expect(page.get_by_role("heading", name="Disk <b>full</b> on db1", exact=True)).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Acknowledged by Dana Demo")
    screens.take(page, "23-sandbox-incident")

    # The monitor resolves it: the open incident page follows by itself.
    resolved = httpx.post(base + "/v2/enqueue", timeout=5, json={
        "routing_key": key, "event_action": "resolve", "dedup_key": "disk-db1"})
    assert resolved.status_code == 202, resolved.text
    expect(page.locator(".page-head .badge")).to_have_text("Resolved")
    expect(page.locator(".timeline")).to_contain_text("Resolved by Demo Monitor")  # the integration, by its name


def test_cancel_at_sign_in_and_on_the_connect_page(page, sandbox_server):
    base = sandbox_server.url
    link, callback = connect_url(base)

    page.goto(link)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(callback + "&error=cancelled")
    assert parse_qs(urlsplit(page.url).query) == {"state": ["x"], "error": ["cancelled"]}

    page.goto(link)
    sign_in(page)
    expect(page.get_by_label("Service name")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(callback + "&error=cancelled")
    assert parse_qs(urlsplit(page.url).query) == {"state": ["x"], "error": ["cancelled"]}
    services = httpx.get(base + "/api/services", headers=REST_HEADERS, timeout=5).json()["services"]
    assert [s["name"] for s in services] == ["Acme Website"]


def test_authorized_apps_lists_an_approved_app_and_revoke_asks_first(page, sandbox_server, screens):
    from urllib.parse import urlencode

    from fake_pagerduty.domain.oauth import s256

    base = sandbox_server.url
    redirect = f"{base}/integrations/pagerduty/oauth/callback"  # any port on 127.0.0.1: the seeded app allows it
    verifier = "e2e-verifier-" + "x" * 40
    page.goto(f"{base}/oauth/authorize?" + urlencode({
        "client_id": "demo-monitor-oauth", "redirect_uri": redirect, "response_type": "code",
        "scope": "incidents.read", "state": "s1", "code_challenge": s256(verifier), "code_challenge_method": "S256"}))
    sign_in(page)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile("^" + re.escape(redirect) + r"\?"))
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    tokens = httpx.post(base + "/oauth/token", timeout=5, data={
        "grant_type": "authorization_code", "client_id": "demo-monitor-oauth",
        "client_secret": "demo-monitor-oauth-secret", "code": code, "redirect_uri": redirect,
        "code_verifier": verifier}).json()
    bearer = {**REST_HEADERS, "Authorization": f"Bearer {tokens['access_token']}"}

    page.goto(base + "/incidents")
    page.get_by_role("link", name="Authorized apps").click()
    row = page.locator("tr", has_text="Demo Monitor")
    expect(row.get_by_text("See your incidents")).to_be_visible()
    screens.take(page, "25-sandbox-authorized-apps")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    assert asked == ["Revoke Demo Monitor's access to your account?"]
    assert "revoked=" not in page.url  # dismissed: nothing sent
    expect(row).to_be_visible()
    assert httpx.get(base + "/api/incidents", headers=bearer, timeout=5).status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Demo Monitor no longer has access to your account.")).to_be_visible()
    expect(page.get_by_text("No app holds access to your account.")).to_be_visible()
    assert httpx.get(base + "/api/incidents", headers=bearer, timeout=5).status_code == 401
