"""Issue 16: the README's "Run the demo for a customer" at 1280×800, as a customer would see it — the same
severity on both sides, one vocabulary, no raw JSON / localhost URL / machine identifier / ISO timestamp on
customer-facing pages, a dashboard that agrees with itself after a resolve in PagerDuty, a Reset that asks first
and an alert that then says its incident is gone, Disconnect that asks, "Reconnecting…", a favicon."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import connect, delivered

SERVER = "www15"
MACHINE = re.compile(r"127\.0\.0\.1|localhost|[{}]|\d{4}-\d\d-\d\dT\d\d|alert-\d+-[0-9a-f]{6}|[0-9a-f]{32}|"
                     r"_inbound_integration|\bP[A-Z0-9]{6,}\b")


def shows_nothing_for_developers(page: Page) -> None:
    """What a person can read on the page (closed "Developer details" are not rendered) has no machine text."""
    text = page.locator("main").inner_text()
    found = MACHINE.findall(text)
    assert not found, f"{page.url} shows {found}:\n{text}"


def test_the_customer_demo_at_1280x800(page, stack, screens):
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)

    # 2. the connection
    connect(page, stack, "Checkout Website")
    expect(page.get_by_role("heading", name="Connected to PagerDuty")).to_have_count(1)
    expect(page.get_by_text("Connected to PagerDuty")).to_have_count(1)
    shows_nothing_for_developers(page)
    screens.take(page, "30-monitor-connected")

    # 3. an incident: the same severity on both sides
    stack.set_fault(SERVER, "memory_usage", 98)
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "trigger"), "the trigger delivered")
    page.goto(alert["url"])
    expect(page.locator(".alert-detail .badge.sev-critical")).to_have_text("critical")
    expect(page.locator("#pd-status")).to_contain_text("Triggered in PagerDuty")  # (the page reloads for it)
    shows_nothing_for_developers(page)
    incident = stack.incident(alert["incident_key"])
    page.goto(incident["html_url"])
    expect(page.get_by_text("Severity critical")).to_be_visible()
    expect(page.get_by_text("High urgency")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Triggered by Demo Monitor")
    shows_nothing_for_developers(page)
    screens.take(page, "31-sandbox-incident")

    # 4. acknowledge in PagerDuty: one line, the person's name, on both sides
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".timeline")).to_contain_text("Acknowledged by Dana Demo")
    assert page.locator("main").inner_text().count("Acknowledged by Dana Demo") == 1  # what a person can read
    page.goto(alert["url"])
    expect(page.locator("#pd-status")).to_have_text(re.compile("^Acknowledged in PagerDuty by Dana Demo"))

    # resolved in PagerDuty while www15 is still broken: the dashboard keeps it, every panel agrees
    page.goto(incident["html_url"])
    page.get_by_role("button", name="Resolve").click()
    stack.wait_for_alert(SERVER, lambda a: a["id"] == alert["id"] and a["state"] == "resolved", "resolved")
    page.goto(stack.monitor_url + "/")
    alerts = page.locator("#open-alerts")
    expect(alerts).to_contain_text("Server www15 running low on memory")
    expect(alerts).to_contain_text("condition still active")
    expect(alerts).to_contain_text("Resolved in PagerDuty by Dana Demo")
    expect(page.get_by_text("All quiet")).to_have_count(0)
    expect(page.locator("#count-critical")).to_have_text("1")
    expect(page.locator("#count-alerts")).to_have_text("1")
    screens.take(page, "32-monitor-resolved-in-pagerduty-still-broken")

    # Reset asks first; afterwards the monitor says the incident is gone instead of linking to a 404
    page.goto(stack.sandbox_url + "/_sandbox")
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.get_by_role("button", name="Reset sandbox").click()
    expect(page.get_by_role("status")).to_have_text("Sandbox reset")
    assert asked and "incident" in asked[0]
    page.goto(alert["url"])
    expect(page.locator("#pd-status")).to_have_text("This incident no longer exists in PagerDuty")
    expect(page.get_by_role("link", name="open the incident")).to_have_count(0)
    screens.take(page, "33-monitor-incident-gone")

    # the monitor's server stops: the page says so, and recovers by itself
    page.goto(stack.monitor_url + "/")
    stack.monitor.stop()
    expect(page.locator("#live-status")).to_have_text("Reconnecting…")
    stack.monitor.start()
    expect(page.locator("#live-status")).to_have_text("", timeout=20_000)

    # Disconnect asks first; the button then shows one name
    page.goto(stack.monitor_url + "/integrations/pagerduty")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("heading", name="Connected to PagerDuty")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect").click()
    button = page.get_by_role("link", name="Alert with PagerDuty")
    expect(button).to_be_visible()
    expect(button.locator("img")).to_be_visible()
    expect(button.locator(".connect-text")).to_be_hidden()  # the image, not the image and the text
    screens.take(page, "34-monitor-not-connected")

    assert not [url for url in missing if url.startswith(stack.monitor_url)], missing  # e.g. no favicon 404
