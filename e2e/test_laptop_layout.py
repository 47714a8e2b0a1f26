"""README's "Run the demo for a customer": the monitor, the console and the on-call phone side by side on one
laptop screen (1440 px wide: the phone's window 420 px, the other two about 510 px each). The console must be
usable at that width: its top bar wraps instead of running off the window, and no page scrolls sideways."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from e2e.conftest import connect_directly, delivered, sign_in

CONSOLE_WIDTH = 510
SAMPLE_KEY = "e93facc04764012d7bfb002500d5d1a6"


def test_the_console_fits_a_third_of_a_laptop_screen(page, sandbox_server, screens):
    url = sandbox_server.url
    answer = httpx.post(f"{url}/v2/enqueue", timeout=5, json={
        "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "www15-memory",
        "payload": {"summary": "Server www15 running low on memory", "source": "www15", "severity": "critical"}})
    assert answer.status_code == 202, answer.text
    page.set_viewport_size({"width": CONSOLE_WIDTH, "height": 800})
    page.goto(url + "/incidents")
    sign_in(page)
    expect(page.get_by_role("link", name="Server www15 running low on memory")).to_be_visible()
    incident_url = page.get_by_role("link", name="Server www15 running low on memory").get_attribute("href")
    for path in ("/incidents", incident_url, "/users", "/services", "/_sandbox"):
        page.goto(url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= CONSOLE_WIDTH, path
        for name in ("Incidents", "Services", "People", "Sandbox", "On-call phone", "Authorized apps"):
            box = page.get_by_role("banner").get_by_role("link", name=name, exact=True).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= CONSOLE_WIDTH, (path, name)
        sign_out = page.get_by_role("button", name="Sign out").bounding_box()
        assert sign_out is not None and sign_out["x"] + sign_out["width"] <= CONSOLE_WIDTH, path
    page.goto(url + incident_url)
    screens.take(page, "53-console-at-a-third-of-a-laptop")


def test_the_monitor_fits_a_third_of_a_laptop_screen(page, stack):
    connect_directly(stack)
    stack.set_fault("www15", "memory_usage", 98)
    stack.wait_for_alert("www15", lambda a: delivered(a, "trigger"), "the trigger delivered")
    page.set_viewport_size({"width": CONSOLE_WIDTH, "height": 800})
    for path in ("/", "/alerts", "/integrations/pagerduty", "/rules", "/servers/www15"):
        page.goto(stack.monitor_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= CONSOLE_WIDTH, path
