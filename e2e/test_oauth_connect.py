"""Connect with OAuth as a person does it (issue 14): the monitor's "Connect with OAuth", the sandbox's sign-in
and consent page (Authorize or Deny), the monitor's service chooser, and an alert paging through the
integration the monitor made with the Bearer token."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from e2e.conftest import delivered, sign_in

SERVER = "www15"


def _integration_page(stack) -> re.Pattern:
    return re.compile("^" + re.escape(stack.monitor_url + "/integrations/pagerduty") + r"(\?.*)?$")


def _to_consent(page, stack) -> None:
    page.goto(stack.monitor_url + "/integrations/pagerduty")
    page.get_by_role("button", name="Connect with OAuth").click()
    expect(page).to_have_url(re.compile("^" + re.escape(stack.sandbox_url + "/")))
    expect(page.get_by_label("Email")).to_be_visible()
    sign_in(page)
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()


def test_connect_with_oauth_then_an_alert_pages_through_the_new_integration(page, stack, screens):
    _to_consent(page, stack)
    screens.take(page, "40-sandbox-oauth-consent")
    page.get_by_role("button", name="Authorize").click()

    expect(page.get_by_role("heading", name="Choose a PagerDuty service")).to_be_visible()
    page.get_by_label("Acme Website").check()
    screens.take(page, "41-monitor-oauth-choose-service")
    page.get_by_role("button", name="Use this service").click()

    expect(page).to_have_url(_integration_page(stack))
    expect(page.get_by_role("heading", name="Connected to PagerDuty")).to_be_visible()
    expect(page.get_by_text("Acme Website", exact=True)).to_be_visible()
    screens.take(page, "42-monitor-oauth-connected")
    integration = stack.monitor_json("/api/integration")
    assert (integration["connected"], integration["via"], integration["account"]) == (True, "oauth", "acme")
    key = integration["service_key"]
    assert re.fullmatch(r"[0-9a-f]{32}", key) and key != "e93facc04764012d7bfb002500d5d1a6", key

    stack.set_fault(SERVER, "memory_usage", 98)
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "trigger"), "the trigger delivered")
    journal = httpx.get(f"{stack.sandbox_url}/_sandbox/events", params={"dedup_key": alert["id"]}, timeout=5)
    assert [e["routing_key"] for e in journal.json()["events"]] == [key]
    incident = stack.incident(alert["id"])
    assert incident["service"]["summary"] == "Acme Website"

    # Disconnect (asked first) revokes the token
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("heading", name="Not connected")).to_be_visible()
    assert stack.monitor_json("/api/integration")["connected"] is False
    journal = httpx.get(f"{stack.sandbox_url}/_sandbox/oauth/requests", params={"limit": 2}, timeout=5).json()
    assert [(r["endpoint"], r["outcome"]) for r in journal["requests"]] == [("revoke", "ok"), ("revoke", "ok")]


def test_deny_brings_the_person_back_not_connected_with_the_reason(page, stack, screens):
    _to_consent(page, stack)
    page.get_by_role("button", name="Deny").click()

    expect(page).to_have_url(_integration_page(stack))
    expect(page.get_by_role("status")).to_contain_text("Not connected")
    expect(page.get_by_role("status")).to_contain_text("denied")
    expect(page.get_by_role("heading", name="Not connected")).to_be_visible()
    expect(page.get_by_role("button", name="Connect with OAuth")).to_be_visible()
    screens.take(page, "43-monitor-oauth-denied")
    assert stack.monitor_json("/api/integration")["connected"] is False
