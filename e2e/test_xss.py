"""XSS: event fields carrying HTML and JavaScript render as text on every page of both apps, in Chromium.

Every payload sets `window.__xss` (or opens a dialog) if it ever runs; each page is loaded, its live updates
given a chance to arrive, and checked: nothing ran, no `javascript:` link or frame was made, and the payload
shows as the text it is."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from playwright.sync_api import Page

from demo_monitor.domain.webhooks import sign
from e2e.conftest import REST_HEADERS, SAMPLE_KEY, WEBHOOK_SECRET, Stack, connect_directly, in_tabs, sign_in

pytestmark = pytest.mark.e2e

SCRIPT = "<script>window.__xss=1</script>"
PAYLOAD = (SCRIPT + '<img src=x onerror="window.__xss=2"><svg onload="window.__xss=3"></svg>'
           "\"'><iframe src=\"javascript:window.__xss=4\"></iframe><b onmouseover=\"window.__xss=5\">b</b>")
JS_URL = "javascript:window.__xss=6"


def events(sandbox_url: str) -> None:
    """The payload in every field of a v2 trigger, a v1 trigger, a change event and a rejected event."""
    v2 = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "xss-v2 " + PAYLOAD,
          "client": PAYLOAD, "client_url": JS_URL,
          "links": [{"href": JS_URL, "text": PAYLOAD}, {"href": "https://example.test/?q=" + PAYLOAD,
                                                        "text": "ok link"}],
          "images": [{"src": JS_URL, "href": JS_URL, "alt": PAYLOAD}],
          "payload": {"summary": "xss-v2 " + PAYLOAD, "source": PAYLOAD, "severity": "critical",
                      "component": PAYLOAD, "group": PAYLOAD, "class": PAYLOAD,
                      "custom_details": {PAYLOAD: PAYLOAD, "nested": [PAYLOAD, {"x": PAYLOAD}]}}}
    v1 = {"service_key": SAMPLE_KEY, "event_type": "trigger", "incident_key": "xss-v1 " + PAYLOAD,
          "description": "xss-v1 " + PAYLOAD, "details": {PAYLOAD: PAYLOAD}, "client": PAYLOAD,
          "client_url": JS_URL, "contexts": [{"type": "link", "href": JS_URL, "text": PAYLOAD},
                                             {"type": "image", "src": JS_URL, "alt": PAYLOAD}]}
    change = {"routing_key": SAMPLE_KEY, "payload": {"summary": "xss-change " + PAYLOAD, "source": PAYLOAD,
                                                      "custom_details": {PAYLOAD: PAYLOAD}},
              "links": [{"href": JS_URL, "text": PAYLOAD}]}
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        assert client.post("/v2/enqueue", json=v2).status_code == 202
        assert client.post("/generic/2010-04-15/create_event.json", json=v1).status_code == 200
        assert client.post("/v2/change/enqueue", json=change).status_code == 202
        rejected = client.post("/v2/enqueue", content=("{" + PAYLOAD).encode(),
                               headers={"Content-Type": "text/html"})
        assert rejected.status_code == 400
        unknown = client.post("/v2/enqueue", json={**v2, "event_action": PAYLOAD})
        assert unknown.status_code == 400


def check(page: Page, pages: list[tuple[str, str | None]]) -> None:
    """Each (url, text it must show) loaded in a tab of `page`'s context, a few at once (`in_tabs`), its live
    updates given a moment, and checked: no script ran, no dialog opened, no dangerous URL or frame was made, and
    the payload shows as text (`None`: the page need not show it)."""
    dialogs: dict[Page, list[str]] = {}

    def arm(tab: Page) -> None:
        """Record any dialog the tab opens (and dismiss it)."""
        opened = dialogs[tab] = []

        def on_dialog(dialog) -> None:
            opened.append(dialog.message)
            dialog.dismiss()

        tab.on("dialog", on_dialog)

    shown = dict(pages)
    for tabs in in_tabs(page, [url for url, _ in pages], prepare=arm, wait_until="networkidle"):
        for _, tab in tabs:
            tab.mouse.move(200, 300)  # a hover handler, had one slipped through
        page.wait_for_timeout(100)  # let live updates (SSE, polling) render once more
        for url, tab in tabs:
            shows = shown[url]
            assert tab.evaluate("window.__xss") is None, f"script ran on {url}"
            assert dialogs[tab] == [], f"a dialog opened on {url}: {dialogs[tab]}"
            dangerous = tab.evaluate("""() => [...document.querySelectorAll('a[href], iframe, img[src], form[action]')]
                .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action') || '')
                .filter(v => /^\\s*(javascript|data|vbscript):/i.test(v))""")
            assert dangerous == [], f"dangerous URLs on {url}: {dangerous}"
            assert tab.locator("iframe").count() == 0, f"an iframe was made on {url}"
            tab.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            if shows is not None:
                assert shows in tab.locator("body").inner_text(), f"the payload is not shown as text on {url}"


def test_event_fields_render_as_text_on_every_sandbox_page(page, stack: Stack):
    events(stack.sandbox_url)
    base = stack.sandbox_url
    signing_in: list[str] = []  # dialogs on the way in
    page.on("dialog", lambda dialog: (signing_in.append(dialog.message), dialog.dismiss()))
    page.goto(base + "/login")
    sign_in(page)
    page.wait_for_url(re.compile(r".*/incidents.*"))

    incidents = httpx.get(base + "/api/incidents", headers=REST_HEADERS, timeout=10).json()["incidents"]
    assert len(incidents) == 2
    journal = httpx.get(base + "/_sandbox/events", timeout=10).json()["events"]
    assert len(journal) == 5

    pages = [(base + "/incidents", SCRIPT)]
    pages += [(f"{base}/incidents/{incident['id']}", SCRIPT) for incident in incidents]
    pages += [(base + "/services", None), (f"{base}/services/{incidents[0]['service']['id']}", SCRIPT)]
    # the console shows an account's events; rejected ones are on the Sandbox page
    pages += [(f"{base}/events/{event['id']}", "window.__xss" if event["account_id"] else None) for event in journal]
    pages.append((base + "/_sandbox", "window.__xss"))
    # The page's own inputs reflected back: a sign-in `next`, a handshake callback's query.
    callback = "http://127.0.0.1:9/cb?state=" + PAYLOAD
    pages += [(base + "/login?next=" + httpx.QueryParams({"x": PAYLOAD})["x"], None),
              (base + "/connect?" + str(httpx.QueryParams({"vendor": "demo-monitor", "callback": callback})), None),
              (base + "/incidents?" + str(httpx.QueryParams({"statuses[]": PAYLOAD})), None)]
    check(page, pages)
    assert signing_in == []


def test_what_reaches_the_monitor_renders_as_text_on_every_monitor_page(page, stack: Stack):
    # The service name comes back on the handshake's callback; the person's name and the incident link in a
    # (validly signed) webhook.
    connect_directly(stack, service_name="xss-service " + PAYLOAD)
    stack.set_fault("www15", "memory_usage", 98)
    alert = stack.wait_for_alert("www15", lambda a: a["state"] == "open", "an open alert")
    body = json.dumps({"event": {
        "id": "EV-XSS", "event_type": "incident.acknowledged", "resource_type": "incident",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),  # older would be refused as a replay
        "agent": {"type": "user_reference", "summary": PAYLOAD},
        "data": {"id": "Q1", "type": "incident", "incident_key": alert["incident_key"], "status": "acknowledged",
                 "html_url": JS_URL}}}).encode()
    answer = httpx.post(stack.monitor_url + "/integrations/pagerduty/webhook", content=body, timeout=10,
                        headers={"Content-Type": "application/json",
                                 "X-PagerDuty-Signature": sign(WEBHOOK_SECRET, body)})
    assert answer.status_code == 200, answer.text

    base = stack.monitor_url
    check(page, [(base + "/", SCRIPT), (base + "/alerts", None), (f"{base}/alerts/{alert['id']}", SCRIPT),
                 (base + "/integrations/pagerduty", SCRIPT), (base + "/servers/www15", None), (base + "/rules", None)])
