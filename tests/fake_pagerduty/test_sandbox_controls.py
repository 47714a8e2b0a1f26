"""Sandbox controls: rate limits, the clock, partner apps, the token off loopback, the OpenAPI document."""

from __future__ import annotations

import json

import httpx
import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.server import serve
from fake_pagerduty.settings import Settings
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.sandbox_helpers import act, trigger

OTHER_KEY = "0123456789abcdef0123456789abcdef"
V2_THROTTLE = (b'{"status":"throttle exceeded","message":"Requests for this service are arriving too quickly.'
               b'  Please retry later."}')
V1_THROTTLE = (b'{"status":"throttle exceeded","message":"Requests for this service are arriving too quickly.'
               b' Please retry later."}')


# ---- rate limits ------------------------------------------------------------------------------------------


async def test_rate_limits_are_off_by_default(sandbox):
    response = await sandbox.get("/_sandbox/rate-limits")
    assert (response.status_code, response.json()) == (200, {"enabled": False, "limit": 120, "window_seconds": 60})


async def test_the_121st_event_in_a_minute_is_throttled_with_pagerdutys_body(sandbox):
    response = await sandbox.put("/_sandbox/rate-limits", json={"enabled": True})
    assert (response.status_code, response.json()) == (200, {"enabled": True, "limit": 120, "window_seconds": 60})

    statuses = [(await trigger(sandbox, f"k{i % 3}")).status_code for i in range(120)]
    throttled = await trigger(sandbox, "k121")

    assert statuses == [202] * 120
    assert (throttled.status_code, throttled.content) == (429, V2_THROTTLE)
    [event] = (await sandbox.get("/_sandbox/events", params={"limit": 1})).json()["events"]
    assert (event["id"], event["outcome"], event["detail"], event["dedup_key"]) == (121, "rejected", "throttled",
                                                                                   "k121")
    # per routing key: another key is not throttled (its events are dropped: no such integration)
    assert (await trigger(sandbox, "x", routing_key=OTHER_KEY)).status_code == 202


async def test_v1_is_throttled_with_403_and_change_events_with_429(sandbox):
    await sandbox.put("/_sandbox/rate-limits", json={"enabled": True, "limit": 1})
    await trigger(sandbox)

    v1 = await sandbox.post("/generic/2010-04-15/create_event.json", json={
        "service_key": SAMPLE_KEY, "event_type": "trigger", "description": "Disk full"})
    change = await sandbox.post("/v2/change/enqueue", json={"routing_key": SAMPLE_KEY,
                                                            "payload": {"summary": "Deployed"}})

    assert (v1.status_code, v1.content) == (403, V1_THROTTLE)
    assert (change.status_code, change.content) == (429, V2_THROTTLE)


async def test_the_window_slides_with_the_sandbox_clock(sandbox):
    await sandbox.put("/_sandbox/rate-limits", json={"enabled": True, "limit": 2, "window_seconds": 60})
    assert [(await trigger(sandbox, f"k{i}")).status_code for i in range(3)] == [202, 202, 429]

    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 60})

    assert (await trigger(sandbox, "k3")).status_code == 202


async def test_turning_rate_limits_off_lets_everything_through(sandbox):
    await sandbox.put("/_sandbox/rate-limits", json={"enabled": True, "limit": 1})
    await trigger(sandbox, "a")
    await sandbox.put("/_sandbox/rate-limits", json={"enabled": False})
    assert (await trigger(sandbox, "b")).status_code == 202
    assert (await sandbox.get("/_sandbox/rate-limits")).json() == {"enabled": False, "limit": 1,
                                                                   "window_seconds": 60}


async def test_bad_rate_limit_settings_are_refused(sandbox):
    response = await sandbox.put("/_sandbox/rate-limits", json={"enabled": "yes", "limit": 0, "burst": 3})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid Input Provided", "code": 400, "errors": [
        "unknown field(s): burst", "'enabled' must be true or false",
        "'limit' must be a whole number between 1 and 1000000"]}}


@pytest.mark.parametrize(("body", "errors"), [
    ([True], ['the body must be a JSON object like {"enabled": true}']),
    ({"burst": 3, "algorithm": "leaky"}, ["unknown field(s): algorithm, burst"]),
    ({"window_seconds": 0}, ["'window_seconds' must be a whole number between 1 and 86400"]),
    ({"window_seconds": 86401}, ["'window_seconds' must be a whole number between 1 and 86400"]),
    ({"limit": 1000001, "window_seconds": 1.5}, ["'limit' must be a whole number between 1 and 1000000",
                                                "'window_seconds' must be a whole number between 1 and 86400"]),
])
async def test_rate_limit_settings_out_of_range_are_refused_by_name(sandbox, body, errors):
    response = await sandbox.put("/_sandbox/rate-limits", json=body)
    assert (response.status_code, response.json()) == (400, {"error": {
        "message": "Invalid Input Provided", "code": 400, "errors": errors}})
    assert (await sandbox.get("/_sandbox/rate-limits")).json() == {"enabled": False, "limit": 120,
                                                                   "window_seconds": 60}


@pytest.mark.parametrize(("limit", "window_seconds"), [(1, 1), (1000000, 86400)])
async def test_rate_limit_settings_at_the_bounds_are_taken(sandbox, limit, window_seconds):
    settings = {"enabled": True, "limit": limit, "window_seconds": window_seconds}
    response = await sandbox.put("/_sandbox/rate-limits", json=settings)
    assert (response.status_code, response.json()) == (200, settings)
    assert (await sandbox.get("/_sandbox/rate-limits")).json() == settings


# ---- the clock ----------------------------------------------------------------------------------------------


async def _incident(sandbox, incident_id: str) -> dict:
    response = await sandbox.get(f"/api/incidents/{incident_id}", headers=REST_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["incident"]


async def test_clock_shows_now_and_the_offset(sandbox):
    response = await sandbox.get("/_sandbox/clock")
    body = response.json()
    assert response.status_code == 200 and set(body) == {"now", "offset_seconds"}
    assert body["offset_seconds"] == 0


async def test_advancing_past_the_ack_timeout_returns_the_incident_to_triggered(sandbox):
    await trigger(sandbox)
    await act(sandbox, "acknowledge")
    incident_id = (await sandbox.get("/_sandbox/events")).json()["events"][0]["incident_id"]

    response = await sandbox.post("/_sandbox/clock", json={"advance_seconds": 1800})

    assert response.status_code == 200
    body = response.json()
    assert body["offset_seconds"] == 1800
    assert body["applied"] == [{"incident_id": incident_id, "event_type": "incident.unacknowledged"}]
    assert (await _incident(sandbox, incident_id))["status"] == "triggered"
    assert (await sandbox.get("/_sandbox/clock")).json()["offset_seconds"] == 1800


async def test_advancing_past_the_auto_resolve_timeout_resolves_the_incident(sandbox):
    await trigger(sandbox)
    incident_id = (await sandbox.get("/_sandbox/events")).json()["events"][0]["incident_id"]

    response = await sandbox.post("/_sandbox/clock", json={"advance_seconds": 4 * 3600})

    assert response.json()["applied"] == [{"incident_id": incident_id, "event_type": "incident.resolved"}]
    incident = await _incident(sandbox, incident_id)
    assert incident["status"] == "resolved"
    assert incident["resolved_at"] == response.json()["now"]


async def test_advancing_less_than_a_timeout_changes_nothing(sandbox):
    await trigger(sandbox)
    response = await sandbox.post("/_sandbox/clock", json={"advance_seconds": 60})
    assert response.json()["applied"] == []


@pytest.mark.parametrize("body", [{"advance_seconds": -1}, {"advance_seconds": "1h"}, {}, [3600]])
async def test_the_clock_only_moves_forward(sandbox, body):
    response = await sandbox.post("/_sandbox/clock", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid Input Provided", "code": 400, "errors": [
        "'advance_seconds' must be a number between 0 and 315360000"]}}


async def test_the_clock_offset_survives_a_restart(tmp_path):
    settings = Settings(db_path=str(tmp_path / "sandbox.db"))
    for step in ("advance", "read"):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
                if step == "advance":
                    await client.post("/_sandbox/clock", json={"advance_seconds": 600})
                else:
                    assert (await client.get("/_sandbox/clock")).json()["offset_seconds"] == 600


# ---- partner apps ---------------------------------------------------------------------------------------------


async def test_partner_apps_list_shows_the_seeded_app(sandbox):
    response = await sandbox.get("/_sandbox/partner-apps")
    assert response.status_code == 200
    [app] = response.json()["partner_apps"]
    assert app == {
        "vendor_key": "demo-monitor", "app_id": "PDEMOMN", "name": "Demo Monitor",
        "callback_origins": ["http://127.0.0.1:*", "http://localhost:*", "https://127.0.0.1:*",
                             "https://localhost:*"],
        "webhook_url": "http://127.0.0.1:8000/integrations/pagerduty/webhook",
        "webhook_secret": "demo-webhook-secret", "created_at": app["created_at"],
    }


async def test_put_creates_with_201_then_updates_with_200_keeping_what_it_leaves_out(sandbox):
    created = await sandbox.put("/_sandbox/partner-apps/acme-monitor", json={
        "name": "Acme Monitor", "app_id": "PACMEMN", "callback_origins": ["http://127.0.0.1:9000"],
        "webhook_url": "http://127.0.0.1:9000/hooks", "webhook_secret": "s3cret"})
    assert created.status_code == 201

    updated = await sandbox.put("/_sandbox/partner-apps/acme-monitor", json={"webhook_url": "http://127.0.0.1:9001/h"})

    assert updated.status_code == 200
    app = updated.json()["partner_app"]
    assert (app["name"], app["app_id"], app["callback_origins"], app["webhook_url"], app["webhook_secret"]) == (
        "Acme Monitor", "PACMEMN", ["http://127.0.0.1:9000"], "http://127.0.0.1:9001/h", "s3cret")
    assert (await sandbox.get("/_sandbox/partner-apps/acme-monitor")).json() == {"partner_app": app}


async def test_a_new_app_gets_defaults(sandbox):
    response = await sandbox.put("/_sandbox/partner-apps/tiny", json={})
    app = response.json()["partner_app"]
    assert (app["name"], app["webhook_url"], app["callback_origins"][0]) == ("tiny", None, "http://127.0.0.1:*")
    assert app["app_id"].startswith("P") and len(app["app_id"]) == 7


async def test_an_app_id_belongs_to_one_app(sandbox):
    response = await sandbox.put("/_sandbox/partner-apps/copycat", json={"app_id": "PDEMOMN"})
    assert (response.status_code, response.json()) == (409, {"error": {
        "message": "Partner app 'demo-monitor' already has app id 'PDEMOMN'", "code": 409}})


async def test_bad_partner_apps_are_refused(sandbox):
    response = await sandbox.put("/_sandbox/partner-apps/bad", json={
        "name": "", "callback_origins": "http://x", "webhook_url": "ftp://x", "colour": "red"})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid partner app", "code": 400, "errors": [
        "unknown field(s): colour",
        "'name' must be a non-empty string of at most 255 characters",
        "'callback_origins' must be a list of origin patterns like \"http://127.0.0.1:*\"",
        "'webhook_url' must be an http(s) URL or null"]}}


async def test_delete_and_unknown_partner_apps(sandbox):
    assert (await sandbox.delete("/_sandbox/partner-apps/demo-monitor")).json() == {"deleted": 1}
    for method in ("GET", "DELETE"):
        response = await sandbox.request(method, "/_sandbox/partner-apps/demo-monitor")
        assert (response.status_code, response.json()) == (404, {"error": {
            "message": "No partner app with vendor key 'demo-monitor'", "code": 404}})


# ---- the token off loopback ------------------------------------------------------------------------------------

UNAUTHORIZED = {"error": {"message": "A sandbox token is required: send 'Authorization: Bearer <token>' or"
                                     " 'X-Sandbox-Token'", "code": 401}}


async def _client_for(settings: Settings, fn):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            return await fn(client)


async def test_off_loopback_the_controls_need_the_token(tmp_path):
    settings = Settings(host="0.0.0.0", db_path=str(tmp_path / "s.db"), sandbox_token="s3cret")

    async def calls(client):
        return [
            await client.get("/_sandbox/state"),
            await client.post("/_sandbox/reset", headers={"Authorization": "Bearer wrong"}),
            await client.get("/_sandbox/state", headers={"Authorization": "Bearer s3cret"}),
            await client.get("/_sandbox/faults", headers={"X-Sandbox-Token": "s3cret"}),
            await client.get("/_sandbox/openapi.json"),
        ]

    missing, wrong, bearer, header, docs = await _client_for(settings, calls)
    assert (missing.status_code, missing.json()) == (401, UNAUTHORIZED)
    assert (wrong.status_code, wrong.json()) == (401, UNAUTHORIZED)
    assert (bearer.status_code, header.status_code, docs.status_code) == (200, 200, 200)


async def test_off_loopback_without_a_token_the_controls_stay_closed(tmp_path):
    settings = Settings(host="0.0.0.0", db_path=str(tmp_path / "s.db"))

    async def call(client):
        return await client.post("/_sandbox/reset", headers={"Authorization": "Bearer "})

    response = await _client_for(settings, call)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_on_loopback_a_token_given_is_still_required(tmp_path):
    settings = Settings(db_path=str(tmp_path / "s.db"), sandbox_token="s3cret")

    async def call(client):
        return await client.get("/_sandbox/clock")

    assert (await _client_for(settings, call)).status_code == 401


def test_the_server_refuses_a_public_host_without_a_token(capsys):
    assert serve(Settings(host="0.0.0.0", port=1)) == 2
    assert "refusing to bind 0.0.0.0 without a sandbox token" in capsys.readouterr().err


def test_the_token_comes_from_the_flag_or_the_environment():
    from fake_pagerduty.cli import build_parser, settings_from_args

    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--sandbox-token", "flag"])
    assert settings_from_args(args).sandbox_token == "flag"
    assert Settings.from_env({"FAKE_PAGERDUTY_SANDBOX_TOKEN": "env"}).sandbox_token == "env"


# ---- documents ---------------------------------------------------------------------------------------------------


async def test_the_openapi_document_describes_every_sandbox_route(sandbox, sandbox_app):
    response = await sandbox.get("/_sandbox/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.text)
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item
                  if method in ("get", "put", "post", "delete")}
    served = set()
    for route in sandbox_app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/_sandbox/") and path not in ("/_sandbox/openapi.json", "/_sandbox/ca.pem"):
            served |= {(path, m) for m in route.methods if m != "HEAD"}
    assert served <= documented, sorted(served - documented)


async def test_the_sandbox_page_is_served(sandbox):
    response = await sandbox.get("/_sandbox")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


async def test_other_sites_pages_cannot_drive_the_controls(sandbox):
    evil = await sandbox.post("/_sandbox/reset", headers={"Origin": "http://evil.example"})
    own = await sandbox.post("/_sandbox/reset", headers={"Origin": "http://sandbox.test"})

    assert (evil.status_code, evil.json()) == (403, {"error": {
        "message": "Cross-origin requests to the sandbox controls are refused", "code": 403}})
    assert own.status_code == 200


async def test_a_browser_reaching_the_controls_under_a_foreign_name_is_refused(sandbox):
    """DNS rebinding: evil.example now resolves to 127.0.0.1, so its page is same-origin with the sandbox. The
    whole sandbox answers only at its own names (web/host_guard.py), scripts and browsers alike."""
    rebound = {"Host": "evil.example:8090", "Origin": "http://evil.example:8090", "Sec-Fetch-Site": "same-origin"}
    refused = await sandbox.post("/_sandbox/reset", headers=rebound)
    read = await sandbox.get("/_sandbox/state", headers={"Host": "evil.example:8090", "Sec-Fetch-Mode": "cors"})
    script = await sandbox.get("/_sandbox/state", headers={"Host": "evil.example:8090"})  # not a browser

    for response in (refused, read, script):
        assert (response.status_code, response.json()) == (421, {"error": {
            "message": "The sandbox answers only at a loopback address (127.0.0.1, localhost, [::1]), at its --host,"
                       " or at the host of its --public-url",
            "code": 421}})
    loopback = await sandbox.get("/_sandbox/state", headers={"Host": "127.0.0.1:8090", "Sec-Fetch-Mode": "cors"})
    public = await sandbox.get("/_sandbox/state", headers={"Sec-Fetch-Mode": "cors"})  # Host: sandbox.test
    assert (loopback.status_code, public.status_code) == (200, 200)


async def test_refused_events_count_toward_the_rate_limit_throttled_ones_do_not(sandbox):
    """PagerDuty counts requests, not accepted events: an invalid event (400) uses up the window too. The
    README said "only accepted requests count" (issue 19)."""
    await sandbox.put("/_sandbox/rate-limits", json={"enabled": True, "limit": 2, "window_seconds": 60})
    invalid = await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": "trigger"})
    assert invalid.status_code == 400
    assert (await trigger(sandbox, "a")).status_code == 202
    assert (await trigger(sandbox, "b")).status_code == 429  # the 400 counted
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 30})
    assert [(await trigger(sandbox, k)).status_code for k in ("c1", "c2")] == [429, 429]  # not counted...
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 30})
    assert (await trigger(sandbox, "d")).status_code == 202  # ...which the first two left 60 s after they came


# ---- what a restart keeps -----------------------------------------------------------------------------------


async def test_a_restart_applies_the_seed_file_again_over_partner_app_changes(tmp_path):
    """README (issue 19): changes made with PUT /_sandbox/partner-apps/… survive a reset and a restart, except
    that `--seed FILE` is applied again at every start, so what the file names is as the file says."""
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps({"partner_apps": [
        {"vendor_key": "demo-monitor", "app_id": "PDEMOMN", "name": "Demo Monitor",
         "webhook_url": "http://127.0.0.1:9001/hook", "webhook_secret": "from-the-file"}]}))
    seeded = Settings(db_path=str(tmp_path / "seeded.db"), seed_file=seed_file)
    plain = Settings(db_path=str(tmp_path / "plain.db"))
    change = {"webhook_url": "http://127.0.0.1:9002/hook"}

    async def put_then_reset(client):
        assert (await client.put("/_sandbox/partner-apps/demo-monitor", json=change)).status_code == 200
        assert (await client.put("/_sandbox/partner-apps/mine", json=change)).status_code == 201
        assert (await client.post("/_sandbox/reset")).status_code == 200
        return await _webhook_urls(client)

    async def after_restart(client):
        return await _webhook_urls(client)

    for settings in (seeded, plain):
        assert await _client_for(settings, put_then_reset) == {"demo-monitor": change["webhook_url"],
                                                               "mine": change["webhook_url"]}
    assert await _client_for(plain, after_restart) == {"demo-monitor": change["webhook_url"],
                                                       "mine": change["webhook_url"]}
    assert await _client_for(seeded, after_restart) == {"demo-monitor": "http://127.0.0.1:9001/hook",
                                                        "mine": change["webhook_url"]}


async def _webhook_urls(client) -> dict:
    apps = (await client.get("/_sandbox/partner-apps")).json()["partner_apps"]
    return {app["vendor_key"]: app["webhook_url"] for app in apps}


async def test_the_page_the_openapi_document_and_the_ca_need_no_token(tmp_path):
    """README: with a token, every call to the controls needs it; the Sandbox page (which asks people for it),
    the OpenAPI document and the CA stay open (the README said "every call", issue 19)."""
    settings = Settings(db_path=str(tmp_path / "s.db"), sandbox_token="s3cret")

    async def calls(client):
        return [await client.get(path) for path in ("/_sandbox", "/_sandbox/openapi.json", "/_sandbox/ca.pem",
                                                    "/_sandbox/state")]

    page, docs, ca, state = await _client_for(settings, calls)
    assert (page.status_code, docs.status_code, state.status_code) == (200, 200, 401)
    assert ca.status_code == 404  # HTTPS off: no CA, but not a 401 either
    assert "token" in page.text.lower()


SUBSCRIPTION = {"webhook_subscription": {
    "type": "webhook_subscription", "events": ["incident.triggered"],
    "delivery_method": {"type": "http_delivery_method", "url": "https://receiver.test/hook"},
    "filter": {"type": "account_reference", "id": "PACME00"}}}


async def test_a_plain_reset_keeps_webhook_subscriptions_a_full_one_does_not(sandbox):
    made = await sandbox.post("/api/webhook_subscriptions", json=SUBSCRIPTION, headers=REST_HEADERS)
    assert made.status_code == 200

    async def listed():
        answer = await sandbox.get("/api/webhook_subscriptions", headers=REST_HEADERS)
        return [s["id"] for s in answer.json()["webhook_subscriptions"]]

    await sandbox.post("/_sandbox/reset")
    assert await listed() == [made.json()["webhook_subscription"]["id"]]
    await sandbox.post("/_sandbox/reset", params={"full": "true"})
    assert await listed() == []


async def test_the_state_dump_shows_subscription_secrets_the_rest_api_redacts(sandbox):
    made = (await sandbox.post("/api/webhook_subscriptions", json=SUBSCRIPTION, headers=REST_HEADERS)).json()
    secret = made["webhook_subscription"]["delivery_method"]["secret"]
    shown = await sandbox.get(f"/api/webhook_subscriptions/{made['webhook_subscription']['id']}",
                              headers=REST_HEADERS)
    state = (await sandbox.get("/_sandbox/state")).json()

    assert secret and shown.json()["webhook_subscription"]["delivery_method"]["secret"] is None
    assert [s["secret"] for s in state["webhooks"]["subscriptions"]] == [secret]
    assert state["partner_apps"][0]["webhook_secret"] == "demo-webhook-secret"
