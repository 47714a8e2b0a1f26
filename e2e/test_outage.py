"""An alert fired while the sandbox is down: the monitor keeps it and retries, and once the sandbox is back
(same port, same database) the incident arrives."""

from __future__ import annotations

from playwright.sync_api import expect

from e2e.conftest import connect_directly, delivered, delivery

SERVER = "www15"


def test_an_alert_fired_while_the_sandbox_is_down_arrives_when_it_is_back(page, stack, screens):
    connect_directly(stack)
    stack.sandbox.stop()

    stack.set_fault(SERVER, "memory_usage", 98)
    failing = stack.wait_for_alert(
        SERVER, lambda a: (delivery(a, "trigger") or {}).get("attempts", 0) >= 1, "a failed delivery attempt")
    trigger = delivery(failing, "trigger")
    assert trigger["status"] == "retrying", trigger
    assert trigger["last_error"], trigger
    page.goto(failing["url"])
    expect(page.locator("#delivery")).to_contain_text("retrying")
    screens.take(page, "11-monitor-delivery-retrying")

    stack.sandbox.start()  # same port, same database
    arrived = stack.wait_for_alert(
        SERVER, lambda a: a["id"] == failing["id"] and delivered(a, "trigger"), "the trigger delivered", timeout=40)
    assert delivery(arrived, "trigger")["attempts"] >= 2
    incident = stack.incident(failing["incident_key"])
    assert incident["status"] == "triggered"
    assert incident["service"]["summary"] == "Acme Website"
    assert SERVER in incident["title"]
    expect(page.locator("#delivery")).to_have_text("sent")  # the alert page updates itself
