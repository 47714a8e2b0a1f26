"""The Connect handshake as a person does it: the monitor's "Alert with PagerDuty", the sandbox's sign-in and
service step, and back on the monitor — connected, cancelled, or refused."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from playwright.sync_api import expect

from e2e.conftest import alert_with_pagerduty, sign_in

CANCELLED = "cancelled"


def _integration_page(stack) -> re.Pattern:
    return re.compile("^" + re.escape(stack.monitor_url + "/integrations/pagerduty") + r"(\?.*)?$")


def test_handshake_connects_the_monitor_and_the_key_works(page, stack, screens):
    page.goto(stack.monitor_url + "/")
    expect(page.get_by_text("www15").first).to_be_visible()
    screens.take(page, "01-monitor-dashboard")

    page.goto(stack.monitor_url + "/integrations/pagerduty")
    screens.take(page, "02-monitor-not-connected")
    alert_with_pagerduty(page).click()
    expect(page).to_have_url(re.compile("^" + re.escape(stack.sandbox_url)))
    expect(page.get_by_label("Email")).to_be_visible()
    screens.take(page, "03-sandbox-sign-in")
    sign_in(page)
    expect(page.get_by_label("Service name")).to_be_visible()
    screens.take(page, "04-sandbox-create-service")
    page.get_by_label("Service name").fill("Checkout API")
    page.get_by_role("button", name="Create service").click()

    expect(page).to_have_url(_integration_page(stack))
    expect(page.get_by_role("heading", name="Connected to PagerDuty")).to_be_visible()
    expect(page.get_by_text("Checkout API", exact=True)).to_be_visible()
    # the account's subdomain is for developers (issue 16): folded away until asked for
    expect(page.get_by_text("acme", exact=True)).to_be_hidden()
    page.get_by_text("Developer details").click()
    expect(page.get_by_text("acme", exact=True)).to_be_visible()
    screens.take(page, "05-monitor-connected")

    integration = stack.monitor_json("/api/integration")
    assert integration["connected"] is True
    assert integration["account"] == "acme"
    assert integration["service_name"] == "Checkout API"
    key = integration["service_key"]
    assert re.fullmatch(r"[0-9a-f]{32}", key), key

    # the key the monitor received opens an incident on the new service
    sent = httpx.post(f"{stack.sandbox_url}/v2/enqueue", json={
        "routing_key": key, "event_action": "trigger", "dedup_key": "e2e-key-check",
        "payload": {"summary": "Key check from the e2e suite", "source": "e2e", "severity": "warning"},
    })
    assert sent.status_code == 202, sent.text
    incidents = stack.sandbox_rest("/incidents", incident_key="e2e-key-check")["incidents"]
    assert [(i["title"], i["service"]["summary"], i["status"]) for i in incidents] == [
        ("Key check from the e2e suite", "Checkout API", "triggered")
    ]


def test_cancel_at_the_service_step_leaves_the_monitor_unconnected(page, stack):
    page.goto(stack.monitor_url + "/integrations/pagerduty")
    alert_with_pagerduty(page).click()
    sign_in(page)
    expect(page.get_by_label("Service name")).to_be_visible()
    page.get_by_role("button", name="Cancel").or_(page.get_by_role("link", name="Cancel")).click()

    expect(page).to_have_url(_integration_page(stack))
    expect(page.get_by_role("status")).to_contain_text(CANCELLED)
    expect(alert_with_pagerduty(page)).to_be_visible()
    assert stack.monitor_json("/api/integration")["connected"] is False


def test_cancel_at_the_sign_in_step_leaves_the_monitor_unconnected(page, stack, screens):
    page.goto(stack.monitor_url + "/integrations/pagerduty")
    alert_with_pagerduty(page).click()
    expect(page.get_by_label("Email")).to_be_visible()
    page.get_by_role("button", name="Cancel").or_(page.get_by_role("link", name="Cancel")).click()

    expect(page).to_have_url(_integration_page(stack))
    expect(page.get_by_role("status")).to_contain_text(CANCELLED)
    screens.take(page, "06-monitor-cancelled")
    assert stack.monitor_json("/api/integration")["connected"] is False


def _with_state(url: str, state: str) -> str:
    """The same URL with its `state` query parameter replaced."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert "state" in query, url
    query["state"] = [state]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def test_a_callback_with_a_tampered_state_is_refused(page, stack):
    # The monitor sends the browser to the sandbox's /connect with a callback carrying its state token.
    start = httpx.get(stack.monitor_url + "/integrations/pagerduty/connect", follow_redirects=False)
    assert start.status_code in (302, 303), start.text
    connect_url = urlsplit(start.headers["location"])
    assert f"{connect_url.scheme}://{connect_url.netloc}" == stack.sandbox_url
    params = parse_qs(connect_url.query)
    assert params["vendor"] == ["demo-monitor"]
    forged_callback = _with_state(params["callback"][0], "forged-state-token")
    page.goto(f"{stack.sandbox_url}{connect_url.path}?" + urlencode({"vendor": "demo-monitor",
                                                                     "callback": forged_callback}))
    sign_in(page)
    page.get_by_label("Service name").fill("Tampered")
    with page.expect_response(lambda r: "/integrations/pagerduty/callback" in r.url) as callback:
        page.get_by_role("button", name="Create service").click()

    assert callback.value.status == 400
    assert "state=forged-state-token" in callback.value.url
    expect(page.get_by_text("state token is wrong")).to_be_visible()
    assert stack.monitor_json("/api/integration")["connected"] is False

