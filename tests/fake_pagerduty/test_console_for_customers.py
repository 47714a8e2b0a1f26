"""Issue 16 on the sandbox's console: one vocabulary, PagerDuty's ("Triggered by Demo Monitor", "Resolved by Demo
Monitor", "Acknowledged by Dana Demo", once each); times as "3 minutes ago" with the exact time on hover and the
time to acknowledge and to resolve; raw JSON, URLs, keys and type names only inside "Developer details"."""

from __future__ import annotations

import re

import httpx

from tests.fake_pagerduty.webpages import CALLBACK, CONNECT, csrf, query_of, sign_in

DEV = re.compile(r'<details class="card dev">.*</details>', re.S)  # greedy: it holds nested <details>


def customer_part(page: str) -> str:
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    return DEV.sub("", main)


async def _connected_key(sandbox: httpx.AsyncClient, sandbox_app) -> str:
    sandbox_app.state.webhook_transport = httpx.MockTransport(lambda request: httpx.Response(200))
    await sign_in(sandbox)
    token = csrf((await sandbox.get(CONNECT)).text)
    response = await sandbox.post("/connect", data={
        "csrf_token": token, "vendor": "demo-monitor", "callback": CALLBACK, "service_name": "Checkout Website"})
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])["service_key"][0]


async def test_the_incident_page_speaks_pagerdutys_words_once(sandbox, sandbox_app):
    key = await _connected_key(sandbox, sandbox_app)
    trigger = await sandbox.post("/generic/2010-04-15/create_event.json", json={
        "service_key": key, "event_type": "trigger", "incident_key": "k1", "description": "Disk full on db1",
        "client": "Demo Monitor", "details": {"server_name": "db1"}})
    assert trigger.status_code == 200, trigger.text
    [incident] = (await sandbox.get("/api/incidents", params={"incident_key": "k1"}, headers={
        "Authorization": "Token token=sandbox-api-key-acme"})).json()["incidents"]
    page = (await sandbox.get(f"/incidents/{incident['id']}")).text
    form = re.search(r'action="/incidents/[^"]+/acknowledge".*?name="csrf_token" value="([^"]+)"', page, re.S)
    assert (await sandbox.post(f"/incidents/{incident['id']}/acknowledge",
                               data={"csrf_token": form.group(1)})).status_code == 303
    sandbox_app.state.clock.advance(300)
    resolve = await sandbox.post("/generic/2010-04-15/create_event.json", json={
        "service_key": key, "event_type": "resolve", "incident_key": "k1"})
    assert resolve.status_code == 200

    page = (await sandbox.get(f"/incidents/{incident['id']}")).text
    shown = customer_part(page)
    timeline = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown.split('<ol class="timeline">')[1].split("</ol>")[0]))
    assert "Triggered by Demo Monitor" in timeline
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown))
    assert "Acknowledged by Dana Demo" in timeline and text.count("Acknowledged by Dana Demo") == 1
    assert "Resolved by Demo Monitor" in timeline
    assert "via" not in timeline and "Events API" not in timeline and "through the API" not in shown
    assert re.search(r'<time datetime="[^"]+Z" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC" data-relative>'
                     r"5 minutes ago</time>", shown)
    assert "Resolved after 5 minutes" in shown
    # the acknowledgement came as soon as the page answered: under a second, or a few seconds on a loaded machine
    assert re.search(r"Acknowledged after (under a second|[1-9] seconds?)\b", shown), shown
    # (the forms' CSRF tokens are random URL-safe text: one in a few dozen holds "k1" by chance)
    words = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', shown)
    for developer_only in ("k1", "incident.triggered", "http://", "HTTP 200", "/events/"):
        assert developer_only not in words, developer_only
    dev = DEV.search(page).group(0)
    assert "<summary>Developer details</summary>" in dev
    assert "Triggered through the API (v1)." in dev and "<code>k1</code>" in dev and "/events/" in dev

    # the REST API keeps PagerDuty's own log entry summaries
    entries = (await sandbox.get(f"/api/incidents/{incident['id']}/log_entries", headers={
        "Authorization": "Token token=sandbox-api-key-acme"})).json()["log_entries"]
    assert "Triggered through the API (v1)." in [e["summary"] for e in entries]

    event_id = re.search(r'href="/events/(\d+)"', dev).group(1)
    event_page = (await sandbox.get(f"/events/{event_id}")).text
    assert '"service_key"' not in customer_part(event_page) and "create_event.json" not in customer_part(event_page)
    assert "&#34;service_key&#34;" in DEV.search(event_page).group(0)  # escaped, as it should be


async def test_the_service_page_names_types_and_timeouts_for_people(sandbox, sandbox_app):
    await _connected_key(sandbox, sandbox_app)
    services = (await sandbox.get("/services")).text
    service_id = re.search(r'href="/services/([^"]+)">Checkout Website<', services).group(1)
    page = (await sandbox.get(f"/services/{service_id}")).text
    shown = customer_part(page)
    assert "Events API v1" in shown and "_inbound_integration" not in shown
    assert service_id not in shown.replace(f"/services/{service_id}", "")
    assert not re.search(r"[0-9a-f]{32}", shown)  # no integration key outside Developer details
    assert re.search(r"Acknowledgement timeout (off|\d+ (minute|hour|second)s?)", shown)
    dev = DEV.search(page).group(0)
    assert "generic_events_api_inbound_integration" in dev and re.search(r"[0-9a-f]{32}", dev)


async def test_reset_is_a_danger_button_that_asks_first(sandbox):
    page = (await sandbox.get("/_sandbox")).text
    assert '<button type="button" class="danger" data-action="reset">Reset sandbox</button>' in page
    script = (await sandbox.get("/static/sandbox.js")).text
    reset = script[script.index('case "reset":'):script.index('case "save-token":')]
    assert reset.count("window.confirm(") == 2  # Full reset and Reset both ask
