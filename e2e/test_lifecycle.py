"""An alert's life across both apps: the monitor fires, the sandbox opens an incident (live in its console),
a person acknowledges in the sandbox and the monitor hears of it by webhook, the server recovers and both
sides resolve."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import Stack, connect, delivered, sign_in

SERVER = "www15"


def _open_console(page: Page, stack: Stack) -> None:
    """The sandbox's incident console, signing in if the sandbox asks."""
    page.goto(stack.sandbox_url + "/incidents")
    email = page.get_by_label("Email")
    heading = page.get_by_role("heading", name=re.compile("Incidents", re.I))
    expect(email.or_(heading).first).to_be_visible()
    if email.is_visible():
        sign_in(page)
    expect(heading.first).to_be_visible()


def test_incident_lifecycle_across_monitor_and_sandbox(page, stack, screens):
    connect(page, stack, "Website Monitoring")
    _open_console(page, stack)
    incident_link = page.get_by_role("link", name=re.compile(SERVER))
    expect(incident_link).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    stack.set_fault(SERVER, "memory_usage", 98)

    # the incident appears in the open console without a reload
    expect(incident_link.first).to_be_visible(timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    screens.take(page, "07-sandbox-incidents")
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "trigger"), "the trigger delivered")
    assert alert["state"] == "open"
    monitor_page = page.context.new_page()
    monitor_page.goto(stack.monitor_url + "/")
    expect(monitor_page.get_by_text(alert["description"]).first).to_be_visible()
    screens.take(monitor_page, "12-monitor-dashboard-alert")

    incident_link.first.click()
    expect(page).to_have_url(re.compile(r"/incidents/[A-Z0-9]+$"))
    view = page.get_by_role("link", name="View at Demo Monitor")
    expect(view).to_have_attribute("href", alert["url"])
    screens.take(page, "08-sandbox-incident-detail")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert stack.incident(alert["incident_key"])["status"] == "acknowledged"

    # the sandbox's webhook tells the monitor
    acknowledged = stack.wait_for_alert(
        SERVER, lambda a: a["id"] == alert["id"] and a["state"] == "acknowledged", "the alert acknowledged")
    assert acknowledged["pagerduty"]["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == "Dana Demo (in PagerDuty)"
    monitor_page.goto(alert["url"])
    expect(monitor_page.locator("#pd-status")).to_contain_text("Acknowledged in PagerDuty by Dana Demo")
    screens.take(monitor_page, "09-monitor-alert-acknowledged")

    # the server recovers: the monitor resolves the alert and tells the sandbox
    stack.clear_fault(SERVER)
    resolved = stack.wait_for_alert(
        SERVER, lambda a: a["id"] == alert["id"] and delivered(a, "resolve"), "the resolve delivered", timeout=30)
    assert resolved["state"] == "resolved"
    assert resolved["resolved_by"] == "Demo Monitor"
    assert stack.incident(alert["incident_key"])["status"] == "resolved"
    # both pages follow by themselves (each reloads when its incident or alert changes state): no reload()
    # from here, which could collide with theirs
    page.bring_to_front()
    expect(page.get_by_text("Resolved", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    # and the sandbox's incident.resolved webhook reaches the monitor
    stack.wait_for_alert(SERVER, lambda a: a["id"] == alert["id"] and a["pagerduty"]["status"] == "resolved",
                         "the resolved webhook")
    monitor_page.bring_to_front()
    expect(monitor_page.locator("#alert-state")).to_have_text("resolved")
    # issue 16: one wording on both sides (the sandbox's timeline says "Resolved by Demo Monitor" too)
    expect(monitor_page.locator("#pd-status")).to_have_text(re.compile(r"^Resolved by Demo Monitor\b"))
