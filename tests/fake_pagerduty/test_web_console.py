"""The incident console: incidents (live), one incident, services, the journal, errors and escaping."""

from __future__ import annotations

import asyncio
import re
import struct

import httpx

from fake_pagerduty.domain.incident_change import IncidentChange
from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.webpages import CALLBACK, CONNECT, csrf, db_rows, query_of, sign_in


async def trigger(http, summary: str = "Disk full on db1", key: str = SAMPLE_KEY, **extra) -> str:
    body = {"routing_key": key, "event_action": "trigger",
            "payload": {"summary": summary, "source": "db1", "severity": "critical",
                        **extra.pop("payload", {})}, **extra}
    response = await http.post("/v2/enqueue", json=body)
    assert response.status_code == 202, response.text
    return response.json()["dedup_key"]


def incident_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-incident-id="(\w+)">', page)


async def test_incidents_newest_first_with_status_filters(sandbox, sandbox_settings):
    await sign_in(sandbox)
    await trigger(sandbox, "first")
    key = await trigger(sandbox, "second")
    await trigger(sandbox, "third")
    await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": "resolve", "dedup_key": key})
    page = (await sandbox.get("/incidents")).text
    titles = re.findall(r'<td class="title"><a href="/incidents/\w+">([^<]+)</a>', page)
    assert titles == ["third", "second", "first"]
    expected = {"open": ["third", "first"], "triggered": ["third", "first"], "resolved": ["second"],
                "acknowledged": [], "all": ["third", "second", "first"]}
    for status, wanted in expected.items():
        page = (await sandbox.get(f"/incidents?status={status}")).text
        assert re.findall(r'<td class="title"><a href="/incidents/\w+">([^<]+)</a>', page) == wanted, status
    # A resolved incident offers no buttons; a triggered one offers both.
    page = (await sandbox.get("/incidents?status=resolved")).text
    assert ">Acknowledge</button>" not in page and ">Resolve</button>" not in page
    page = (await sandbox.get("/incidents?status=triggered")).text
    assert page.count(">Acknowledge</button>") == 2 and page.count(">Resolve</button>") == 2


async def test_acknowledge_and_resolve_from_the_console(sandbox, sandbox_app, sandbox_settings):
    await sign_in(sandbox)
    await trigger(sandbox)
    heard: list[IncidentChange] = []
    sandbox_app.state.changes.listen(heard.extend)
    page = (await sandbox.get("/incidents?status=open")).text
    (incident_id,) = incident_ids(page)
    response = await sandbox.post(f"/incidents/{incident_id}/acknowledge",
                                  data={"csrf_token": csrf(page), "next": "/incidents?status=open"})
    assert response.status_code == 303 and response.headers["location"] == "/incidents?status=open"
    (row,) = db_rows(sandbox_settings.db_path, "SELECT status, acknowledgements FROM incidents WHERE id = ?",
                     (incident_id,))
    assert row["status"] == "acknowledged"
    assert '"type":"user_reference"' in row["acknowledgements"] and "PDANA00" in row["acknowledgements"]
    assert heard == [IncidentChange("PACME00", incident_id, "incident.acknowledged")]
    page = (await sandbox.get(f"/incidents/{incident_id}")).text
    assert "<strong>Acknowledged</strong> by Dana Demo" in page
    response = await sandbox.post(f"/incidents/{incident_id}/resolve", data={"csrf_token": csrf(page)})
    assert response.status_code == 303 and response.headers["location"] == f"/incidents/{incident_id}"
    assert heard[-1] == IncidentChange("PACME00", incident_id, "incident.resolved")
    entries = db_rows(sandbox_settings.db_path, "SELECT type, agent FROM log_entries WHERE incident_id = ? ORDER BY seq",
                      (incident_id,))
    assert [e["type"] for e in entries] == ["trigger_log_entry", "assign_log_entry", "notify_log_entry",
                                            "notify_log_entry", "acknowledge_log_entry", "resolve_log_entry"]
    assert '"id":"PDANA00"' in entries[-1]["agent"]
    page = (await sandbox.get(f"/incidents/{incident_id}")).text
    assert '<span class="badge status-resolved">Resolved</span>' in page
    assert "<strong>Resolved</strong> by Dana Demo" in page
    # An event after a person resolved it changes nothing and the button is gone.
    assert ">Resolve</button>" not in page


async def test_acknowledge_needs_the_csrf_token(sandbox, sandbox_settings):
    await sign_in(sandbox)
    await trigger(sandbox)
    page = (await sandbox.get("/incidents")).text
    (incident_id,) = incident_ids(page)
    for data in ({}, {"csrf_token": "not-the-token-not-the-token"}):
        response = await sandbox.post(f"/incidents/{incident_id}/acknowledge", data=data)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    (row,) = db_rows(sandbox_settings.db_path, "SELECT status FROM incidents")
    assert row["status"] == "triggered"


async def test_live_rows_answer_204_until_the_account_changes(sandbox):
    await sign_in(sandbox)
    page = (await sandbox.get("/incidents")).text
    live_url = re.search(r'data-live-url="([^"]+)" data-version="([^"]+)"', page)
    url, version = live_url.group(1).replace("&amp;", "&"), live_url.group(2)
    assert url == "/incidents/live?status=all"
    unchanged = await sandbox.get(f"{url}&v={version}")
    assert unchanged.status_code == 204
    await trigger(sandbox, "fresh from the monitor")
    changed = await sandbox.get(f"{url}&v={version}")
    assert changed.status_code == 200
    assert "fresh from the monitor" in changed.text and ">Acknowledge</button>" in changed.text
    new_version = changed.headers["x-console-version"]
    assert new_version != version
    assert (await sandbox.get(f"{url}&v={new_version}")).status_code == 204
    sandbox.cookies.delete("pd_session")
    assert (await sandbox.get(f"{url}&v={new_version}")).status_code == 401


async def test_incidents_are_paginated(sandbox, sandbox_app):
    await sign_in(sandbox)
    for n in range(1, 56):
        await trigger(sandbox, f"incident {n}")
    page = (await sandbox.get("/incidents")).text
    assert len(incident_ids(page)) == 50
    assert ">incident 55</a>" in page and ">incident 6</a>" in page and ">incident 5</a>" not in page
    older = re.search(r'href="(/incidents\?status=all&amp;before=\d+)">Older incidents', page).group(1)
    page = (await sandbox.get(older.replace("&amp;", "&"))).text
    titles = re.findall(r'<td class="title"><a href="/incidents/\w+">([^<]+)</a>', page)
    assert titles == ["incident 5", "incident 4", "incident 3", "incident 2", "incident 1"]
    assert "Older incidents" not in page and ">Newest</a>" in page


async def test_incident_page_shows_details_links_and_images_safely(sandbox):
    await sign_in(sandbox)
    await trigger(
        sandbox, "<script>alert('summary')</script>",
        payload={"custom_details": {"free space": "1%", "<b>key</b>": "<img src=x onerror=alert(1)>",
                                    "nested": {"mounts": ["/", "/var"], "ok": False}}},
        client="Demo <Monitor>", client_url="https://monitor.test/servers/db1",
        links=[{"href": "https://grafana.test/d/1", "text": "Dashboard"},
               {"href": "javascript:alert(1)", "text": "Evil link"}],
        images=[{"src": "https://grafana.test/graph.png", "href": "https://grafana.test/d/1", "alt": "CPU graph"},
                {"src": "http://grafana.test/plain.png", "alt": "plain http"},
                {"src": "data:image/png;base64,AAAA", "alt": "data uri"},
                {"src": "javascript:alert(1)", "alt": "js"}],
    )
    page = (await sandbox.get("/incidents")).text
    (incident_id,) = incident_ids(page)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;summary&#39;)&lt;/script&gt;" in page
    response = await sandbox.get(f"/incidents/{incident_id}")
    assert response.status_code == 200
    page = response.text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>key</b>" not in page
    assert "&lt;script&gt;alert(&#39;summary&#39;)&lt;/script&gt;" in page
    assert '<th scope="row">free space</th>' in page and "<td>1%</td>" in page
    assert '<th scope="row">&lt;b&gt;key&lt;/b&gt;</th>' in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert '<pre>{\n  &#34;mounts&#34;: [\n    &#34;/&#34;,\n    &#34;/var&#34;\n  ],\n  &#34;ok&#34;: false\n}</pre>' in page
    assert '<a href="https://monitor.test/servers/db1" rel="noopener noreferrer" target="_blank">View at Demo &lt;Monitor&gt;</a>' in page
    assert '<a href="https://grafana.test/d/1" rel="noopener noreferrer" target="_blank">Dashboard</a>' in page
    assert "<li>Evil link</li>" in page and "javascript:" not in page
    assert '<img src="https://grafana.test/graph.png" alt="CPU graph" referrerpolicy="no-referrer"' in page
    assert "plain.png" not in page and "data:image" not in page
    assert "Incident #1" in page and "Acme Website" in page and "High urgency" in page
    # The timeline links the trigger to its journal event.
    event_id = re.search(r'<a href="/events/(\d+)">event #\1</a>', page).group(1)
    event = await sandbox.get(f"/events/{event_id}")
    assert event.status_code == 200 and "&#34;event_action&#34;: &#34;trigger&#34;" in event.text


async def test_source_link_only_for_http_urls(sandbox):
    await sign_in(sandbox)
    await trigger(sandbox, "no client", dedup_key="a", client_url="http://monitor.test/x")
    await trigger(sandbox, "js client", dedup_key="b", client="Mon", client_url="javascript:alert(1)")
    page = (await sandbox.get("/incidents")).text
    js_id, plain_id = incident_ids(page)
    plain = (await sandbox.get(f"/incidents/{plain_id}")).text
    assert '<a href="http://monitor.test/x" rel="noopener noreferrer" target="_blank">View at source</a>' in plain
    js = (await sandbox.get(f"/incidents/{js_id}")).text
    assert "View at" not in js and "javascript:" not in js


async def test_services_and_service_page(sandbox):
    await sign_in(sandbox)
    await trigger(sandbox, "checkout slow")
    page = await sandbox.get("/services")
    assert page.status_code == 200
    assert '<a href="/services/PWEBS00">Acme Website</a>' in page.text
    page = await sandbox.get("/services/PWEBS00")
    assert page.status_code == 200
    assert f'<code id="key-PINTG00">{SAMPLE_KEY}</code>' in page.text
    assert f'data-copy="{SAMPLE_KEY}">Copy</button>' in page.text
    assert ">checkout slow</a>" in page.text
    assert re.search(r'<a href="/events/\d+">#\d+</a>', page.text)
    assert "created" in page.text


async def test_another_accounts_ids_are_404_pages(sandbox):
    await trigger(sandbox, "acme's secret")
    signup = await sandbox.get("/signup")
    await sandbox.post("/signup", data={"csrf_token": csrf(signup.text), "subdomain": "globex", "account_name": "Globex",
                                        "user_name": "Hank", "email": "hank@globex.test", "password": "volcano"})
    acme_incident = (await sign_in_and_list_acme_incident(sandbox))
    await sign_in(sandbox, email="hank@globex.test", password="volcano")
    for path in (f"/incidents/{acme_incident}", "/services/PWEBS00", "/events/1"):
        response = await sandbox.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.text and "acme&#39;s secret" not in response.text
    page = await sandbox.get("/incidents/nope")
    assert page.status_code == 404
    assert "acme's secret" not in (await sandbox.get("/incidents")).text
    token = csrf((await sandbox.get("/incidents")).text)
    assert (await sandbox.post(f"/incidents/{acme_incident}/resolve", data={"csrf_token": token})).status_code == 404


async def sign_in_and_list_acme_incident(client) -> str:
    await sign_in(client)
    (incident_id,) = incident_ids((await client.get("/incidents")).text)
    return incident_id


async def test_unknown_pages_are_404_pages_in_the_layout(sandbox):
    response = await sandbox.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert '<a href="/_sandbox"' in response.text and 'href="/static/console.css"' in response.text


async def test_layout_nav_and_static_files(sandbox):
    await sign_in(sandbox)
    page = (await sandbox.get("/incidents")).text
    for link in ('<a href="/incidents" aria-current="page">Incidents</a>', '<a href="/services">Services</a>',
                 '<a href="/_sandbox">Sandbox</a>'):
        assert link in page
    assert "https://" not in page.split("<main")[0]  # no external assets in the head or nav
    css = await sandbox.get("/static/console.css")
    assert css.status_code == 200 and "--green" in css.text
    js = await sandbox.get("/static/console.js")
    assert js.status_code == 200 and "incident-rows" in js.text


async def test_connect_button_images(sandbox):
    png = await sandbox.get("/assets/pd_connect_button.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and png.content[12:16] == b"IHDR"
    assert struct.unpack(">II", png.content[16:24]) == (202, 36)
    svg = await sandbox.get("/assets/pd_connect_button.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert 'width="202" height="36"' in svg.text and "Connect to PagerDuty" in svg.text


async def test_root_goes_to_incidents(sandbox):
    response = await sandbox.get("/")
    assert response.status_code == 302 and response.headers["location"] == "/incidents"


async def test_an_open_incident_page_learns_when_its_incident_changes(sandbox):
    await sign_in(sandbox)
    key = await trigger(sandbox, "watch me")
    (incident_id,) = incident_ids((await sandbox.get("/incidents")).text)
    page = (await sandbox.get(f"/incidents/{incident_id}")).text
    found = re.search(r'data-live-url="([^"]+)" data-version="([^"]+)" data-fingerprint="([^"]+)"', page)
    url, version, fingerprint = found.groups()
    assert url == f"/incidents/{incident_id}/live" and fingerprint.startswith("triggered|")
    assert (await sandbox.get(f"{url}?v={version}")).status_code == 204
    await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": "resolve", "dedup_key": key})
    changed = await sandbox.get(f"{url}?v={version}")
    assert changed.status_code == 200
    state = changed.json()
    assert state["fingerprint"].startswith("resolved|") and state["version"] != version
    assert (await sandbox.get(f"{url}?v={state['version']}")).status_code == 204
    assert (await sandbox.get("/incidents/QNOPE/live?v=x")).status_code == 404
    sandbox.cookies.delete("pd_session")
    assert (await sandbox.get(f"{url}?v=x")).status_code == 401


async def test_webhook_deliveries_show_on_the_service_and_incident_pages(sandbox, sandbox_app):
    received: list[httpx.Request] = []

    def partner(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    sandbox_app.state.webhook_transport = httpx.MockTransport(partner)
    await sign_in(sandbox)
    page = (await sandbox.get(CONNECT)).text
    done = await sandbox.post("/connect", data={"csrf_token": csrf(page), "vendor": "demo-monitor",
                                                "callback": CALLBACK, "action": "create", "service_name": "Hooked"})
    key = query_of(done.headers["location"])["service_key"][0]
    await trigger(sandbox, "hook <me>", key=key)
    store = sandbox_app.state.store
    (service_id,) = [s["id"] for s in await store.services.with_counts("PACME00") if s["name"] == "Hooked"]

    async def delivered():
        rows = await store.webhooks.deliveries_for_service(service_id)
        return rows if rows and rows[0]["status"] == "delivered" else None

    async with asyncio.timeout(60):  # a hang guard, not a timing assertion
        await sandbox_app.state.webhooks.wait_until(delivered)
    assert len(received) == 1
    page = (await sandbox.get(f"/services/{service_id}")).text
    section = page[page.index("<h2>Webhook deliveries</h2>"):]
    assert "<code>incident.triggered</code>" in section
    assert "Partner app <code>demo-monitor</code>" in section
    assert "http://127.0.0.1:8000/integrations/pagerduty/webhook" in section
    assert '<span class="badge delivery-delivered">Delivered</span>' in section
    assert "HTTP 200" in section
    assert "hook &lt;me&gt;" in section and "hook <me>" not in section  # the body, escaped
    (incident_id,) = incident_ids((await sandbox.get("/incidents?status=open")).text)
    incident_page = (await sandbox.get(f"/incidents/{incident_id}")).text
    assert "<code>incident.triggered</code>" in incident_page[incident_page.index("<h2>Webhook deliveries</h2>"):]
    quiet = (await sandbox.get("/services/PWEBS00")).text
    assert "No webhooks sent yet." in quiet
