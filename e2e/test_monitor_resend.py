"""Issue 13: kill -9 the monitor between an event's send and its being marked sent. The monitor's test hook
DEMO_MONITOR_CRASH_AFTER_SEND=trigger makes it SIGKILL itself right after the sandbox answered the trigger
(the one moment a test cannot hit from outside). After the restart on the same database the event is sent
again (at least once); the sandbox deduplicates it (one incident), and the monitor shows one delivery, sent
twice, never two; the resolve that follows arrives after it (order per key)."""

from __future__ import annotations

import signal

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from e2e.conftest import Stack, connect_directly, delivered, delivery
from e2e.servers import wait_for

pytestmark = pytest.mark.e2e

SERVER = "www3"


def journal(stack: Stack, dedup_key: str) -> list[tuple[str, str, int]]:
    response = httpx.get(f"{stack.sandbox_url}/_sandbox/events", params={"dedup_key": dedup_key, "order": "asc"},
                         timeout=5)
    response.raise_for_status()
    return [(e["action"], e["outcome"], e["response"]["status"]) for e in response.json()["events"]]


# each row's cells as a person reads them, in one step of the page's script (a reload cannot come in between);
# null when Developer details is closed
READ_ROWS = """rows => rows.length && rows[0].closest("details").open
    ? rows.map(row => Array.from(row.cells, cell => cell.innerText.split(/\\s+/).join(" ").trim()).join(" "))
    : null"""


def shown_rows(page: Page, stack: Stack, alert_id: str) -> list[str]:
    """The rows of the alert page's delivery table, as a person sees them under Developer details. The page
    reloads itself when the alert's state changes (monitor.js), which closes Developer details: read again
    then."""
    page.goto(f"{stack.monitor_url}/alerts/{alert_id}")
    for _ in range(5):
        try:
            details = page.locator("details.dev")
            if not details.evaluate("d => d.open"):
                page.get_by_text("Developer details").click()
            rows = page.locator("#events-body tr")
            expect(rows.first).to_be_visible()
            shown = rows.evaluate_all(READ_ROWS)
        except PlaywrightError:  # the page reloading under the reading
            shown = None
        if shown:
            return shown
    raise AssertionError("the delivery table never stayed shown under Developer details")


@pytest.mark.parametrize("events_api", ["default", "1"], ids=["v2-default", "v1"])
def test_kill_9_between_send_and_mark_sent_sends_again_and_shows_one_delivery(stack, page, monkeypatch,
                                                                               events_api):
    connect_directly(stack)
    stack.monitor.stop()
    if events_api != "default":
        stack.monitor.args += ["--events-api", events_api]
    monkeypatch.setenv("DEMO_MONITOR_CRASH_AFTER_SEND", "trigger")
    stack.monitor.start()
    monkeypatch.delenv("DEMO_MONITOR_CRASH_AFTER_SEND")  # the restart below runs without the hook

    stack.set_fault(SERVER, "memory_usage", 98)
    process = stack.monitor.process
    wait_for(lambda: process.poll() is not None, timeout=30, what="the monitor killing itself after the send")
    assert process.returncode == -signal.SIGKILL
    assert "before marking it sent" in stack.monitor.log()
    [(action, outcome, status)] = [entry for key in _keys(stack) for entry in journal(stack, key)]
    assert (action, outcome, status) == ("trigger", "created", 200 if events_api == "1" else 202)

    stack.monitor.start()  # same port, same database, no hook
    assert len(stack.alerts(SERVER)) == 1
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "trigger"), "the trigger sent again after the restart")
    key = alert["incident_key"]
    assert [(a, o) for a, o, _ in journal(stack, key)] == [("trigger", "created"), ("trigger", "deduplicated")]
    assert stack.incident(key)["status"] == "triggered"  # exactly one incident

    triggers = [e for e in alert["events"] if e["event_type"] == "trigger"]
    assert [(e["status"], e["attempts"], e["interrupted"]) for e in triggers] == [("sent", 2, 1)]
    [row] = shown_rows(page, stack, alert["id"])
    assert row.startswith("trigger sent 2 ") and "cut short" in row and "deduplicates" in row, row

    stack.clear_fault(SERVER)  # order per key: the resolve follows the re-sent trigger
    alert = stack.wait_for_alert(SERVER, lambda a: delivered(a, "resolve"), "the resolve delivered")
    assert [(a, o) for a, o, _ in journal(stack, key)] == [
        ("trigger", "created"), ("trigger", "deduplicated"), ("resolve", "resolved")]
    assert stack.incident(key)["status"] == "resolved"
    assert (delivery(alert, "resolve")["attempts"], delivery(alert, "resolve")["interrupted"]) == (1, 0)
    rows = shown_rows(page, stack, alert["id"])
    assert [r.split()[:3] for r in rows] == [["trigger", "sent", "2"], ["resolve", "sent", "1"]], rows
    assert len(stack.alerts(SERVER)) == 1


def _keys(stack: Stack) -> set[str]:
    """Every dedup key the sandbox's journal holds (the monitor is down: its API cannot say which)."""
    response = httpx.get(f"{stack.sandbox_url}/_sandbox/events", timeout=5)
    response.raise_for_status()
    return {e["dedup_key"] for e in response.json()["events"]}
