"""The handshakes as a browser sees them: legacy Connect and the Simple Install Flow."""

from __future__ import annotations

import json
import re
from urllib.parse import quote_plus, urlencode

import httpx
import pytest

from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.webpages import (
    CALLBACK,
    CONNECT,
    base_of,
    csrf,
    db_rows,
    input_value,
    query_of,
    sign_in,
)

KEY_RE = re.compile(r"^[0-9a-f]{32}$")


def connect_form(token: str, **fields) -> dict:
    return {"csrf_token": token, "vendor": "demo-monitor", "callback": CALLBACK, **fields}


async def connect_page(client) -> str:
    response = await client.get(CONNECT)
    assert response.status_code == 200
    return response.text


async def test_connect_start_to_finish_creates_a_service_and_returns_its_key(sandbox, sandbox_app, sandbox_settings):
    # The new service is the partner app's: its webhooks go to a recorder, not to the network.
    sandbox_app.state.webhook_transport = httpx.MockTransport(lambda request: httpx.Response(200))
    start = await sandbox.get(CONNECT)
    assert start.status_code == 303
    signed = await sign_in(sandbox, next_path=query_of(start.headers["location"])["next"][0])
    assert signed.headers["location"] == "/connect?vendor=demo-monitor&callback=http%3A%2F%2F127.0.0.1%3A8123%2Fcb%3Fstate%3Dx"
    page = await connect_page(sandbox)
    assert "Demo Monitor wants to send alerts to your PagerDuty account" in page
    assert '<label for="service_name">Service name</label>' in page
    assert input_value(page, "service_name") == "Demo Monitor"
    assert ">Create service</button>" in page and ">Use this service</button>" in page
    assert ">Cancel</button>" in page

    response = await sandbox.post("/connect", data=connect_form(csrf(page), action="create", service_name="Demo Monitor"))
    assert response.status_code == 302
    location = response.headers["location"]
    assert base_of(location) == "http://127.0.0.1:8123/cb"
    params = query_of(location)
    key = params["service_key"][0]
    assert location == f"{CALLBACK}&account=acme&service_key={key}&service_name=Demo+Monitor"
    assert set(params) == {"state", "account", "service_key", "service_name"}
    assert params["state"] == ["x"]
    assert params["account"] == ["acme"]
    assert params["service_name"] == ["Demo Monitor"]
    (key,) = params["service_key"]
    assert KEY_RE.match(key)

    rows = db_rows(sandbox_settings.db_path,
                   "SELECT s.id AS service_id, s.name, s.vendor_key AS service_vendor, i.type, i.vendor_key"
                   " FROM integrations i JOIN services s ON s.id = i.service_id WHERE i.integration_key = ?", (key,))
    assert len(rows) == 1
    assert rows[0]["name"] == "Demo Monitor" and rows[0]["service_vendor"] == "demo-monitor"
    assert rows[0]["type"] == "generic_events_api_inbound_integration" and rows[0]["vendor_key"] == "demo-monitor"

    # The key works with Events API v2 and v1, on that service.
    v2 = await sandbox.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger",
                                                 "payload": {"summary": "disk full", "source": "db1", "severity": "error"}})
    assert v2.status_code == 202
    v1 = await sandbox.post("/generic/2010-04-15/create_event.json",
                            json={"service_key": key, "event_type": "trigger", "description": "cpu hot"})
    assert v1.status_code == 200
    incidents = db_rows(sandbox_settings.db_path, "SELECT title FROM incidents WHERE service_id = ? ORDER BY incident_number",
                        (rows[0]["service_id"],))
    assert [i["title"] for i in incidents] == ["disk full", "cpu hot"]


async def test_second_connect_prefills_a_unique_service_name(sandbox):
    await sign_in(sandbox)
    page = await connect_page(sandbox)
    await sandbox.post("/connect", data=connect_form(csrf(page), action="create", service_name="Demo Monitor"))
    page = await connect_page(sandbox)
    assert input_value(page, "service_name") == "Demo Monitor (2)"
    # Asking for a taken name is a clear form error, not a second service of that name.
    response = await sandbox.post("/connect", data=connect_form(csrf(page), action="create", service_name="demo monitor"))
    assert response.status_code == 400
    assert "A service named" in response.text and "already exists" in response.text
    blank = await sandbox.post("/connect", data=connect_form(csrf(page), action="create", service_name="   "))
    assert blank.status_code == 400 and "Give the service a name." in blank.text


async def test_use_an_existing_service_adds_an_integration_to_it(sandbox, sandbox_settings):
    await sign_in(sandbox)
    page = await connect_page(sandbox)
    assert 'name="service_id" value="PWEBS00"' in page
    response = await sandbox.post("/connect", data=connect_form(csrf(page), action="use", service_id="PWEBS00"))
    assert response.status_code == 302
    params = query_of(response.headers["location"])
    assert params["service_name"] == ["Acme Website"] and params["account"] == ["acme"]
    key = params["service_key"][0]
    assert KEY_RE.match(key) and key != SAMPLE_KEY
    keys = db_rows(sandbox_settings.db_path, "SELECT integration_key, vendor_key FROM integrations WHERE service_id = 'PWEBS00'")
    assert {(r["integration_key"], r["vendor_key"]) for r in keys} == {(SAMPLE_KEY, None), (key, "demo-monitor")}
    other = await sandbox.post("/connect", data=connect_form(csrf(page), action="use", service_id="PNOPE00"))
    assert other.status_code == 400

    # Issue 16: connecting again to the same service reuses the partner's integration (one "Demo Monitor" there)
    again = await sandbox.post("/connect", data=connect_form(csrf(page), action="use", service_id="PWEBS00"))
    assert again.status_code == 302
    assert query_of(again.headers["location"]) == {"state": ["x"], "account": ["acme"], "service_key": [key],
                                                   "service_name": ["Acme Website"]}
    keys = db_rows(sandbox_settings.db_path, "SELECT integration_key FROM integrations WHERE service_id = 'PWEBS00'")
    assert sorted(r["integration_key"] for r in keys) == sorted([SAMPLE_KEY, key])


async def test_cancel_returns_error_cancelled_only(sandbox, sandbox_settings):
    await sign_in(sandbox)
    page = await connect_page(sandbox)
    response = await sandbox.post("/connect", data=connect_form(csrf(page), action="cancel"))
    assert response.status_code == 302
    assert response.headers["location"] == CALLBACK + "&error=cancelled"
    assert query_of(response.headers["location"]) == {"state": ["x"], "error": ["cancelled"]}
    assert len(db_rows(sandbox_settings.db_path, "SELECT * FROM services")) == 1


async def test_cancel_at_the_sign_in_step(sandbox):
    start = await sandbox.get(CONNECT)
    login = await sandbox.get(start.headers["location"])
    response = await sandbox.post("/connect/cancel", data={"csrf_token": csrf(login.text, "/connect/cancel"), "vendor": "demo-monitor",
                                                           "callback": CALLBACK})
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1:8123/cb?state=x&error=cancelled"
    # Without the browser's token: 403, no redirect.
    refused = await sandbox.post("/connect/cancel", data={"vendor": "demo-monitor", "callback": CALLBACK})
    assert refused.status_code == 403 and "location" not in refused.headers


async def test_a_session_that_expired_on_the_handshake_page_resumes_it_after_sign_in(sandbox):
    await sign_in(sandbox)
    page = await connect_page(sandbox)
    sandbox.cookies.delete("pd_session")
    response = await sandbox.post("/connect", data=connect_form(csrf(page), action="create", service_name="X"))
    assert response.status_code == 303
    next_path = query_of(response.headers["location"])["next"][0]
    assert next_path == "/connect?vendor=demo-monitor&callback=http%3A%2F%2F127.0.0.1%3A8123%2Fcb%3Fstate%3Dx"
    resumed = await sign_in(sandbox, next_path=next_path)
    assert resumed.headers["location"] == next_path


async def test_connect_post_needs_the_sessions_csrf_token(sandbox, sandbox_settings):
    await sign_in(sandbox)
    await connect_page(sandbox)
    response = await sandbox.post("/connect", data=connect_form("forged-token-forged-token", action="create",
                                                                service_name="Evil"))
    assert response.status_code == 403 and "location" not in response.headers
    assert db_rows(sandbox_settings.db_path, "SELECT * FROM services WHERE name = 'Evil'") == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"callback": CALLBACK}, "Unknown partner app"),
        ({"vendor": "nobody", "callback": CALLBACK}, "Unknown partner app"),
        ({"vendor": "demo-monitor"}, "This callback URL is not allowed"),
        ({"vendor": "demo-monitor", "callback": "https://evil.com/cb"}, "This callback URL is not allowed"),
        ({"vendor": "demo-monitor", "callback": "javascript:alert(1)"}, "This callback URL is not allowed"),
        ({"vendor": "demo-monitor", "callback": "data:text/html,hi"}, "This callback URL is not allowed"),
        ({"vendor": "demo-monitor", "callback": "//evil.com/cb"}, "This callback URL is not allowed"),
        ({"vendor": "demo-monitor", "callback": "http://127.0.0.1@evil.com/cb"}, "This callback URL is not allowed"),
        ({"vendor": "demo-monitor", "callback": "http://127.0.0.1\\@evil.com/cb"}, "This callback URL is not allowed"),
        ({"vendor": "demo-monitor", "callback": "/cb"}, "This callback URL is not allowed"),
    ],
)
async def test_bad_connect_links_get_a_400_page_never_a_redirect(sandbox, query, message):
    for signed_in in (False, True):
        if signed_in:
            await sign_in(sandbox)
        response = await sandbox.get("/connect?" + urlencode(query))
        assert response.status_code == 400
        assert "location" not in response.headers
        assert message in response.text
        assert response.headers["content-type"].startswith("text/html")
    # Posting the same bad values is refused the same way.
    page = await sandbox.get("/incidents")
    posted = await sandbox.post("/connect", data={"csrf_token": csrf(page.text), "action": "cancel", **query})
    assert posted.status_code == 400 and "location" not in posted.headers


# ---- Simple Install Flow -----------------------------------------------------------------------------------

REDIRECT = "http://localhost:8123/pd/installed?state=s1"
INSTALL = "/install/integration?" + urlencode({"app_id": "PDEMOMN", "redirect_url": REDIRECT, "version": "2"})
INSTALL_FIELDS = {"app_id": "PDEMOMN", "redirect_url": REDIRECT, "version": "2"}


async def test_install_flow_returns_config_with_every_chosen_service(sandbox, sandbox_settings):
    start = await sandbox.get(INSTALL)
    assert start.status_code == 303
    await sign_in(sandbox, next_path=query_of(start.headers["location"])["next"][0])
    page = (await sandbox.get(INSTALL)).text
    assert "Demo Monitor wants to send alerts to your PagerDuty account" in page
    assert input_value(page, "service_name") == "Demo Monitor"
    response = await sandbox.post("/install/integration", data={
        "csrf_token": csrf(page), **INSTALL_FIELDS, "action": "install",
        "service_name": ["Checkout", "Search"], "service_id": "PWEBS00",
    })
    assert response.status_code == 302
    location = response.headers["location"]
    assert base_of(location) == "http://localhost:8123/pd/installed"
    params = query_of(location)
    assert set(params) == {"state", "config"} and params["state"] == ["s1"]
    raw = params["config"][0]
    config = json.loads(raw)
    assert json.dumps(config, separators=(",", ":"), ensure_ascii=False) == raw  # compact, keys in order
    assert list(config) == ["integration_keys", "account"]
    assert config["account"] == {"subdomain": "acme", "name": "Acme Corp"}
    keys = config["integration_keys"]
    assert [k["name"] for k in keys] == ["Checkout", "Search", "Acme Website"]
    for entry in keys:
        assert list(entry) == ["integration_key", "name", "id", "type"]
        assert KEY_RE.match(entry["integration_key"]) and entry["type"] == "service"
        assert re.match(r"^P[A-Z0-9]{6}$", entry["id"])
    assert keys[2]["id"] == "PWEBS00"
    stored = db_rows(sandbox_settings.db_path, "SELECT s.id, s.name FROM integrations i JOIN services s ON"
                     " s.id = i.service_id WHERE i.integration_key = ?", (keys[0]["integration_key"],))
    assert [(r["id"], r["name"]) for r in stored] == [(keys[0]["id"], "Checkout")]
    # The location is URL-encoded JSON.
    assert location == REDIRECT + "&config=" + quote_plus(raw)
    assert location.startswith(REDIRECT + "&config=%7B%22integration_keys%22%3A%5B%7B%22integration_key%22")


async def test_install_flow_errors_and_cancel(sandbox, sandbox_settings):
    await sign_in(sandbox)
    for query, message in [
        ({"app_id": "PNOPE00", "redirect_url": REDIRECT, "version": "2"}, "Unknown app"),
        ({"redirect_url": REDIRECT, "version": "2"}, "Unknown app"),
        ({"app_id": "PDEMOMN", "redirect_url": "https://evil.com/x", "version": "2"}, "This redirect URL is not allowed"),
        ({"app_id": "PDEMOMN", "redirect_url": "//evil.com/x", "version": "2"}, "This redirect URL is not allowed"),
    ]:
        response = await sandbox.get("/install/integration?" + urlencode(query))
        assert response.status_code == 400 and message in response.text and "location" not in response.headers
    page = (await sandbox.get(INSTALL)).text
    nothing = await sandbox.post("/install/integration", data={"csrf_token": csrf(page), **INSTALL_FIELDS,
                                                                "action": "install", "service_name": ""})
    assert nothing.status_code == 400 and "Name a new service or tick at least one existing service." in nothing.text
    taken = await sandbox.post("/install/integration", data={"csrf_token": csrf(page), **INSTALL_FIELDS,
                                                              "action": "install", "service_name": "Acme Website"})
    assert taken.status_code == 400 and "already exists" in taken.text
    cancel = await sandbox.post("/install/integration", data={"csrf_token": csrf(page), **INSTALL_FIELDS,
                                                               "action": "cancel"})
    assert cancel.status_code == 302 and cancel.headers["location"] == REDIRECT + "&error=cancelled"
    assert len(db_rows(sandbox_settings.db_path, "SELECT * FROM services")) == 1


async def test_install_cancel_at_the_sign_in_step(sandbox):
    start = await sandbox.get(INSTALL)
    login = await sandbox.get(start.headers["location"])
    assert 'action="/install/integration/cancel"' in login.text
    response = await sandbox.post("/install/integration/cancel", data={"csrf_token": csrf(login.text, "/install/integration/cancel"),
                                                                       **INSTALL_FIELDS})
    assert response.status_code == 302
    assert query_of(response.headers["location"]) == {"state": ["s1"], "error": ["cancelled"]}
