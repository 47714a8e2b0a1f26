"""Issue 15: the on-call phone in the customer demo, in Chromium against both apps as real servers — a fault
on the monitor opens an incident; Dana's phone (open beforehand, live) shows the push and the SMS; she
acknowledges on the phone; the console and the monitor show "Acknowledged … by Dana Demo". Left alone, the
incident escalates when the sandbox clock passes the level's five minutes: Sam's phone has it, and the log says
so."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from e2e.conftest import REST_HEADERS, SAMPLE_KEY, connect, delivered, sign_in

SERVER = "www15"
SERVICE = "Checkout Website"
DANA_PHONE = "/responders/PDANA00"
SAM_PHONE = "/responders/PSAMR00"
SMS = "You were assigned to an incident. Go to PagerDuty to learn more. Reply 4: Ack, 6: Resolve"


def _open_phone(page: Page, url: str) -> None:
    page.set_viewport_size({"width": 420, "height": 820})  # a phone's window beside the monitor and the console
    page.goto(url)
    expect(page.get_by_text("A demo device: no sign-in needed in the sandbox")).to_be_visible()


def _incident_on_the_phone(page: Page, number: int):
    return page.get_by_role("article").filter(has=page.get_by_role("heading", name=re.compile(f"^#{number} ")))


def test_dana_acknowledges_on_her_phone_and_the_console_and_monitor_show_it(page, browser, stack, screens):
    connect(page, stack, SERVICE)  # the handshake's service follows the account's policy: Dana first
    _open_phone(page, stack.sandbox_url + DANA_PHONE)
    expect(page.get_by_text("No notifications yet.")).to_be_visible()

    stack.set_fault(SERVER, "memory_usage", 98)
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "trigger"), "the trigger delivered")
    incident = stack.incident(alert["incident_key"])
    card = _incident_on_the_phone(page, incident["incident_number"])  # arrives live: no reload
    expect(card).to_contain_text(f"#{incident['incident_number']} {SERVICE}: {incident['title']}")
    expect(page.locator("#phone")).to_have_class(re.compile(r"\bbuzz\b"))  # it buzzed
    expect(card).to_contain_text(SMS)
    expect(card).to_contain_text("Triggered")
    screens.take(page, "50-on-call-phone-paged")

    card.get_by_role("button", name="Acknowledge").click()
    expect(card).to_contain_text("Acknowledged by Dana Demo")
    expect(card.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(card.get_by_role("button", name="Resolve")).to_be_visible()
    screens.take(page, "51-on-call-phone-acknowledged")

    console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    console.goto(incident["html_url"])
    sign_in(console)
    expect(console.locator(".timeline")).to_contain_text("Acknowledged by Dana Demo")
    expect(console.locator(".timeline")).to_contain_text("Notified Dana Demo by push notification")
    expect(console.locator(".facts.people")).to_contain_text("Assigned to Dana Demo")
    entries = httpx.get(f"{stack.sandbox_url}/api/incidents/{incident['id']}/log_entries", headers=REST_HEADERS,
                        timeout=5).json()["log_entries"]
    ack = next(e for e in entries if e["type"] == "acknowledge_log_entry")
    assert (ack["agent"]["id"], ack["channel"]) == ("PDANA00", {"type": "mobile"})

    console.goto(alert["url"])
    expect(console.locator("#pd-status")).to_have_text(re.compile("^Acknowledged in PagerDuty by Dana Demo"))
    console.context.close()


def test_left_alone_it_escalates_to_the_teammates_phone(page, stack, screens):
    connect(page, stack, SERVICE)
    stack.set_fault(SERVER, "memory_usage", 98)
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "trigger"), "the trigger delivered")
    incident = stack.incident(alert["incident_key"])
    _open_phone(page, stack.sandbox_url + SAM_PHONE)
    expect(page.get_by_text("No notifications yet.")).to_be_visible()  # Sam is the second level

    advanced = httpx.post(f"{stack.sandbox_url}/_sandbox/clock", json={"advance_seconds": 301}, timeout=5).json()
    assert {"incident_id": incident["id"], "event_type": "incident.escalated"} in advanced["applied"]
    card = _incident_on_the_phone(page, incident["incident_number"])
    expect(card).to_contain_text(SMS)
    expect(card).to_contain_text(f"{SERVICE}: {incident['title']}")
    screens.take(page, "52-on-call-phone-escalated")

    entries = httpx.get(f"{stack.sandbox_url}/api/incidents/{incident['id']}/log_entries", headers=REST_HEADERS,
                        timeout=5).json()["log_entries"]
    summaries = [e["summary"] for e in reversed(entries)]
    assert summaries[summaries.index("Assigned to Dana Demo."):] == [
        "Assigned to Dana Demo.", "Notified Dana Demo by push notification.", "Notified Dana Demo by SMS.",
        "Escalated to Sam Rivera by timeout.", "Notified Sam Rivera by push notification.",
        "Notified Sam Rivera by SMS."]
    card.get_by_role("button", name="Acknowledge").click()
    expect(card).to_contain_text("Acknowledged by Sam Rivera")
    page.goto(alert["url"])
    expect(page.locator("#pd-status")).to_have_text(re.compile("^Acknowledged in PagerDuty by Sam Rivera"))


def _trigger(sandbox_url: str, key: str) -> None:
    answer = httpx.post(f"{sandbox_url}/v2/enqueue", timeout=5, json={
        "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": key,
        "payload": {"summary": f"Disk full ({key})", "source": "web-1", "severity": "critical"}})
    assert answer.status_code == 202, answer.text


def test_the_phone_buzzes_for_the_first_notification_after_a_reset(page, sandbox_server):
    """A notification's number (its log entry's rowid) starts again after a reset, which the live feed does not
    see: the first notification afterwards has the number the newest had before it, and the phone, which
    watches the newest notification's log entry id, buzzes all the same."""
    _open_phone(page, sandbox_server.url + DANA_PHONE)
    phone = page.locator("#phone")
    _trigger(sandbox_server.url, "before")
    expect(_incident_on_the_phone(page, 1)).to_contain_text("Acme Website: Disk full (before)")
    expect(phone).to_have_class(re.compile(r"\bbuzz\b"))
    page.evaluate("document.getElementById('phone').classList.remove('buzz')")

    assert httpx.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).status_code == 200
    _trigger(sandbox_server.url, "after")
    expect(_incident_on_the_phone(page, 1)).to_contain_text("Acme Website: Disk full (after)")
    expect(phone).to_have_class(re.compile(r"\bbuzz\b"))
