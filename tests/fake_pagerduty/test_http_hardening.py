"""The sandbox's HTTP layer against the browser's attacks: DNS rebinding (the Host header), framing (CSP and
X-Frame-Options), and JSON nested too deeply to parse."""

from __future__ import annotations

import httpx
import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.settings import Settings
from fake_pagerduty.web.host_guard import allowed, served_names
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.webpages import csrf

REBOUND = {"Host": "rebind.evil.test"}
EVENT = {"routing_key": SAMPLE_KEY, "event_action": "trigger",
         "payload": {"summary": "Disk full", "source": "web-1", "severity": "critical"}}


# -- DNS rebinding ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "format_"), [
    ("GET", "/login", None, "html"),
    ("GET", "/incidents", None, "html"),
    ("GET", "/_sandbox", None, "html"),
    ("GET", "/api/incidents", None, "rest"),
    ("GET", "/_sandbox/state", None, "sandbox"),
    ("POST", "/_sandbox/reset", None, "sandbox"),
    ("POST", "/v2/enqueue", EVENT, "events"),
    ("POST", "/generic/2010-04-15/create_event.json",
     {"service_key": SAMPLE_KEY, "event_type": "trigger", "description": "Disk full"}, "events"),
])
async def test_a_request_naming_another_host_is_refused_in_the_paths_own_format(sandbox, method, path, body,
                                                                                format_):
    response = await sandbox.request(method, path, json=body, headers={**REST_HEADERS, **REBOUND})
    assert response.status_code == 421
    text = "The sandbox answers only at a loopback address"
    if format_ == "html":
        assert response.headers["content-type"].startswith("text/html")
        assert "421 Misdirected Request" in response.text and text in response.text
        assert "csrf_token" not in response.text
    elif format_ == "events":
        assert response.json()["status"] == "error" and response.json()["message"].startswith(text)
    else:
        error = response.json()["error"]
        assert error["message"].startswith(text)
        assert error["code"] == (2000 if format_ == "rest" else 421)
    state = (await sandbox.get("/_sandbox/state")).json()
    assert state["journal"]["count"] == 0 and state["incidents"] == []


async def test_sign_in_is_refused_at_another_host(sandbox):
    page = await sandbox.get("/login")
    form = {"csrf_token": csrf(page.text, "/login"), "email": "demo@acme.test", "password": "demo"}
    response = await sandbox.post("/login", data=form, headers=REBOUND)
    assert response.status_code == 421
    assert "set-cookie" not in response.headers
    assert (await sandbox.post("/login", data=form)).status_code == 303  # the same form at the right name


@pytest.mark.parametrize("host", ["sandbox.test", "SANDBOX.test:8090", "127.0.0.1:8090", "127.0.0.1", "127.9.8.7",
                                  "localhost:1234", "LocalHost.", "[::1]:8090", "[::1]"])
async def test_loopback_names_and_the_public_url_host_are_served_on_any_port(sandbox, host):
    assert (await sandbox.get("/login", headers={"Host": host})).status_code == 200
    assert (await sandbox.post("/v2/enqueue", json=EVENT, headers={"Host": host})).status_code == 202


@pytest.mark.parametrize("host", ["rebind.evil.test", "127.0.0.1.evil.test", "localhost.evil.test", "10.0.0.1",
                                  "[::2]", "0.0.0.0", "sandbox.test.evil.test", "", "[", "a b", "évil"])
def test_anything_else_is_not_served(host):
    assert not allowed(host, served_names("127.0.0.1", "http://sandbox.test"))


def test_the_bound_host_and_extra_names_are_served_unless_a_wildcard():
    assert allowed("10.1.2.3:8090", served_names("10.1.2.3", ""))
    assert allowed("sandbox.internal", served_names("0.0.0.0", "https://sandbox.internal:8443/"))
    assert allowed("fake-pagerduty.test", served_names("127.0.0.1", "", ["fake-pagerduty.test"]))
    for wildcard in ("0.0.0.0", "::", "[::]"):
        assert served_names(wildcard, "") == {"localhost"}
        assert not allowed(wildcard, served_names(wildcard, ""))


async def test_settings_allowed_hosts_adds_names(tmp_path):
    app = create_app(Settings(db_path=str(tmp_path / "s.db"), allowed_hosts=("lab.example",)))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lab.example") as c:
            assert (await c.get("/login")).status_code == 200
            assert (await c.get("/login", headers=REBOUND)).status_code == 421


# -- framing, sniffing, referrers ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/_sandbox", "/static/console.js", "/api/incidents", "/nowhere"])
async def test_answers_forbid_framing_and_sniffing(sandbox, path):
    response = await sandbox.get(path, headers=REST_HEADERS)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


# -- JSON nested too deeply ---------------------------------------------------------------------------------

DEEP = b"[" * 40_000


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/_sandbox/faults"),
    ("PUT", "/_sandbox/faults"),
    ("PUT", "/_sandbox/rate-limits"),
    ("POST", "/_sandbox/clock"),
    ("PUT", "/_sandbox/partner-apps/deep"),
])
async def test_deeply_nested_json_to_the_sandbox_controls_is_a_400(sandbox, method, path):
    response = await sandbox.request(method, path, content=DEEP, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid Input Provided", "code": 400,
                                         "errors": ["the body is not valid JSON"]}}


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/services"), ("PUT", "/api/incidents"),
                                              ("POST", "/api/webhook_subscriptions")])
async def test_deeply_nested_json_to_the_rest_api_is_a_400(sandbox, method, path):
    response = await sandbox.request(method, path, content=DEEP,
                                     headers={**REST_HEADERS, "Content-Type": "application/json",
                                              "From": "demo@acme.test"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid Input Provided"


@pytest.mark.parametrize("path", ["/v2/enqueue", "/v2/change/enqueue", "/generic/2010-04-15/create_event.json"])
async def test_deeply_nested_json_to_the_events_api_is_a_400(sandbox, path):
    response = await sandbox.post(path, content=DEEP, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["status"] == "unrecognized object"
    assert (await sandbox.get("/_sandbox/state")).json()["journal"]["count"] == 1


async def test_the_journal_shows_a_deeply_nested_body_as_text(sandbox):
    await sandbox.post("/v2/enqueue", content=DEEP, headers={"Content-Type": "application/json"})
    response = await sandbox.get("/_sandbox/events")
    assert response.status_code == 200
    assert response.json()["events"][0]["body_format"] == "text"
