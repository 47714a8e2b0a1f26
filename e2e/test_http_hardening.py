"""Both apps' pages in Chromium under their Content-Security-Policy: no page breaks it (a violation is reported
and fails the test), and a page of another origin cannot frame them (clickjacking)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e.conftest import in_tabs, sign_in

pytestmark = pytest.mark.e2e

RECORD_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.top.__violations = window.top.__violations || []).push(
    e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + document.location.pathname);
});"""


def test_no_page_of_either_app_breaks_the_content_security_policy(page, stack):
    page.context.add_init_script(RECORD_VIOLATIONS)  # in every tab of the walk
    console = []

    def listen(tab: Page) -> None:
        tab.on("console", lambda message: console.append(message.text) if message.type == "error" else None)

    listen(page)
    sent = httpx.post(stack.sandbox_url + "/v2/enqueue", timeout=5, json={
        "routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "trigger", "dedup_key": "csp",
        "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"},
        "images": [{"src": "https://images.example/graph.png", "alt": "graph"}]})
    assert sent.status_code == 202, sent.text

    page.goto(stack.sandbox_url + "/login")
    sign_in(page)
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    page.goto(stack.sandbox_url + "/incidents")
    page.get_by_role("link", name="Disk full on db1").first.click()
    expect(page.get_by_role("button", name="Acknowledge")).to_be_visible()
    urls = [stack.sandbox_url + path for path in ("/incidents", "/services", "/services/PWEBS00", "/_sandbox",
                                                  "/signup")]
    urls.append(page.url)  # the incident
    urls += [stack.monitor_url + path for path in ("/", "/servers/www15", "/alerts", "/rules",
                                                   "/integrations/pagerduty")]
    violations = []
    for tabs in in_tabs(page, urls, prepare=listen):
        page.wait_for_timeout(700)  # the tabs loaded: let their scripts run a moment
        violations += [violation for _, tab in tabs for violation in tab.evaluate("window.__violations || []")]
        for url, tab in tabs:
            if url.endswith("/integrations/pagerduty"):  # the sandbox's image
                expect(tab.locator(".connect-button img")).to_have_js_property("naturalWidth", 202)

    assert violations == []
    assert [text for text in console if "Content Security Policy" in text] == []


@pytest.fixture
def framer(tmp_path) -> Iterator[Callable[[str], str]]:
    """A page of another origin (a plain file server on another loopback port) that frames a URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def page_framing(url: str) -> str:
        (tmp_path / "framer.html").write_text(f'<!doctype html><title>framer</title><iframe src="{url}"></iframe>')
        return f"http://127.0.0.1:{server.server_address[1]}/framer.html"

    yield page_framing
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("app", ["sandbox", "monitor"])
def test_another_origin_cannot_frame_the_pages(page, stack, framer, app):
    target = stack.sandbox_url + "/login" if app == "sandbox" else stack.monitor_url + "/"
    page.goto(framer(target))
    framed = [frame for frame in page.frames if frame is not page.main_frame]
    assert len(framed) == 1
    # Chromium's blocked-frame page instead (it replaces the target's answer once refused, which may be after load)
    with contextlib.suppress(PlaywrightTimeoutError):
        framed[0].wait_for_url(re.compile("^chrome-error://"), timeout=5_000)
    assert framed[0].url.startswith("chrome-error://"), framed[0].url
