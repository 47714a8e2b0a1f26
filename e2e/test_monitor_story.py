"""The demo monitor's story with both apps running (issue 4's "done when"): a fault on www15 opens an alert and
an incident in the sandbox with the seed's fields; acknowledging in the sandbox shows on the monitor; recovery
resolves both."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from e2e.conftest import REST_HEADERS, connect, delivered

SERVER = "www15"


def test_a_memory_fault_on_www15_pages_pagerduty_and_the_loop_closes(page, stack, screens):
    integration = connect(page, stack, "Checkout Website")

    stack.set_fault(SERVER, "memory_usage", 98)
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "trigger"), "the trigger delivered")
    assert alert["incident_key"] == alert["id"]
    incident = stack.incident(alert["incident_key"])
    assert (incident["title"], incident["status"], incident["service"]["summary"]) == (
        "Server www15 running low on memory", "triggered", "Checkout Website")

    # by default an Events API v2 event with the alert's severity (issue 16; the v1 generic event stays
    # available and is tested in tests/demo_monitor); the sandbox's journal keeps the body
    journal = httpx.get(f"{stack.sandbox_url}/_sandbox/events", params={"dedup_key": alert["id"], "order": "asc"},
                        headers=REST_HEADERS, timeout=5).json()["events"]
    body = journal[0]["body"]
    assert journal[0]["path"] == "/v2/enqueue"
    alert_url = f"{stack.monitor_url}/alerts/{alert['id']}"
    assert body == {
        "routing_key": integration["service_key"],
        "event_action": "trigger",
        "dedup_key": alert["id"],
        "payload": {
            "summary": "Server www15 running low on memory",
            "source": "www15",
            "severity": "critical",
            "timestamp": body["payload"]["timestamp"],
            "component": "memory_usage",
            "class": "threshold",
            "custom_details": {"server_name": "www15", "memory_usage": "98%", "threshold": "90%"},
        },
        "client": "Demo Monitor",
        "client_url": alert_url,
        "links": [{"href": alert_url, "text": f"Alert #{alert['number']} in Demo Monitor"}],
    }
    assert incident["urgency"] == "high"  # critical pages with high urgency, as PagerDuty does

    # a person acknowledges in PagerDuty; the signed webhook brings it to the monitor
    page.goto(incident["html_url"])
    page.get_by_role("button", name="Acknowledge").click()
    page.goto(alert["url"])
    expect(page.get_by_text("Acknowledged in PagerDuty by Dana Demo")).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    screens.take(page, "20-monitor-acknowledged-in-pagerduty")

    # recovery resolves the alert here and the incident there
    stack.clear_fault(SERVER)
    stack.wait_for_alert(SERVER, lambda a: a["id"] == alert["id"] and delivered(a, "resolve"), "the resolve delivered")
    assert stack.incident(alert["incident_key"])["status"] == "resolved"
    resolved = stack.wait_for_alert(
        SERVER, lambda a: a["id"] == alert["id"] and a["pagerduty"]["status"] == "resolved", "resolved in PagerDuty")
    assert resolved["state"] == "resolved"
    expect(page.locator("#alert-state")).to_have_text("resolved")  # the open page updates itself
    screens.take(page, "21-monitor-resolved")
