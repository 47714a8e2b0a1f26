"""Sandbox controls: POST /_sandbox/reset and GET /_sandbox/state."""

from __future__ import annotations

import json

import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.settings import Settings
from tests.fake_pagerduty.sandbox_helpers import act, trigger

ACTIVITY = {"events": 0, "webhook_deliveries": 0, "log_entries": 0, "alerts": 0, "incidents": 0, "change_events": 0, "faults": 0,
            "settings": 0, "oauth_requests": 0, "exams": 0}


async def _state(sandbox, **params) -> dict:
    response = await sandbox.get("/_sandbox/state", params=params)
    assert response.status_code == 200
    return response.json()


async def test_reset_wipes_activity_and_says_what_it_deleted(sandbox):
    await trigger(sandbox, "a")
    await trigger(sandbox, "a")  # deduplicated: a second journal entry and log entry
    await trigger(sandbox, "b")
    await sandbox.post("/v2/change/enqueue", json={"routing_key": "e93facc04764012d7bfb002500d5d1a6",
                                                   "payload": {"summary": "Deployed v2"}})
    assert (await sandbox.post("/_sandbox/faults", json={"match": {"routing_key": "nobody"}, "status": 500})).status_code == 201

    response = await sandbox.post("/_sandbox/reset")

    assert response.status_code == 200
    assert response.json() == {
        "status": "reset",
        "full": False,
        # log entries: per incident, its trigger, Dana's assignment and her two notifications; one more trigger
        "deleted": {**ACTIVITY, "events": 4, "log_entries": 9, "alerts": 2, "incidents": 2, "change_events": 1,
                    "faults": 1},
        "last_event_id": 4,
    }
    state = await _state(sandbox)
    assert state["incidents"] == [] and state["change_events"] == [] and state["faults"] == []
    assert state["journal"] == {"count": 0, "last_event_id": 4}
    assert (await sandbox.get("/_sandbox/events")).json()["events"] == []


async def test_incident_numbers_restart_at_one_and_journal_ids_keep_counting(sandbox):
    await trigger(sandbox, "a")
    await trigger(sandbox, "b")
    await sandbox.post("/_sandbox/reset")

    await trigger(sandbox, "c")

    [incident] = (await _state(sandbox))["incidents"]
    assert (incident["incident_number"], incident["incident_key"]) == (1, "c")
    [event] = (await sandbox.get("/_sandbox/events")).json()["events"]
    assert event["id"] == 3
    assert event["detail"] == f"created incident {incident['id']} (#1)"


async def test_reset_keeps_accounts_and_partner_apps_created_since_and_edits_to_seeded_ones(sandbox, sandbox_app):
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await store.accounts.upsert(id="PGLOBEX", subdomain="globex", name="Globex", now=now)
    await sandbox.put("/_sandbox/partner-apps/acme-monitor", json={"name": "Acme Monitor", "app_id": "PACMEMN"})
    await sandbox.put("/_sandbox/partner-apps/demo-monitor",
                      json={"webhook_url": "http://127.0.0.1:9123/integrations/pagerduty/webhook"})

    assert (await sandbox.post("/_sandbox/reset")).status_code == 200

    state = await _state(sandbox)
    assert [a["subdomain"] for a in state["accounts"]] == ["acme", "globex"]
    apps = {app["vendor_key"]: app for app in state["partner_apps"]}
    assert set(apps) == {"demo-monitor", "acme-monitor"}
    assert apps["demo-monitor"]["webhook_url"] == "http://127.0.0.1:9123/integrations/pagerduty/webhook"


async def test_reset_recreates_seeded_things_that_were_deleted(sandbox):
    assert (await sandbox.delete("/_sandbox/partner-apps/demo-monitor")).status_code == 200

    await sandbox.post("/_sandbox/reset")

    app = (await sandbox.get("/_sandbox/partner-apps/demo-monitor")).json()["partner_app"]
    assert (app["app_id"], app["webhook_secret"]) == ("PDEMOMN", "demo-webhook-secret")


async def test_full_reset_wipes_everything_and_reseeds(sandbox, sandbox_app):
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await store.accounts.upsert(id="PGLOBEX", subdomain="globex", name="Globex", now=now)
    await sandbox.put("/_sandbox/partner-apps/acme-monitor", json={"name": "Acme Monitor"})
    await sandbox.put("/_sandbox/partner-apps/demo-monitor", json={"webhook_url": "http://127.0.0.1:9/hook"})
    await trigger(sandbox)

    response = await sandbox.post("/_sandbox/reset", params={"full": "true"})

    assert response.status_code == 200
    body = response.json()
    assert body["full"] is True
    assert body["deleted"]["accounts"] == 2 and body["deleted"]["partner_apps"] == 2
    assert body["deleted"]["incidents"] == 1 and body["deleted"]["alerts"] == 1
    state = await _state(sandbox)
    assert [a["subdomain"] for a in state["accounts"]] == ["acme"]
    assert [(p["vendor_key"], p["webhook_url"]) for p in state["partner_apps"]] == [
        ("demo-monitor", "http://127.0.0.1:8000/integrations/pagerduty/webhook")]
    # the seeded key still works after a full reset
    assert (await trigger(sandbox)).status_code == 202
    assert (await _state(sandbox))["incidents"][0]["incident_number"] == 1


async def test_reset_turns_rate_limits_off_and_brings_the_clock_back(sandbox):
    await sandbox.put("/_sandbox/rate-limits", json={"enabled": True, "limit": 1})
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 7200})

    await sandbox.post("/_sandbox/reset")

    assert (await sandbox.get("/_sandbox/rate-limits")).json() == {"enabled": False, "limit": 120,
                                                                   "window_seconds": 60}
    assert (await sandbox.get("/_sandbox/clock")).json()["offset_seconds"] == 0
    assert (await trigger(sandbox, "a")).status_code == 202
    assert (await trigger(sandbox, "b")).status_code == 202


async def test_reset_rejects_a_bad_flag(sandbox):
    response = await sandbox.post("/_sandbox/reset", params={"full": "maybe"})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid Input Provided", "code": 400,
                                         "errors": ["'full' must be true or false"]}}


async def test_reset_reapplies_the_seed_file(tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps({"partner_apps": [{"vendor_key": "acme-monitor", "app_id": "PACMEMN"}]}))
    app = create_app(Settings(db_path=str(tmp_path / "s.db"), seed_file=seed_file))
    async with app.router.lifespan_context(app):
        import httpx

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            await client.post("/_sandbox/reset", params={"full": "true"})
            apps = (await client.get("/_sandbox/partner-apps")).json()["partner_apps"]
    assert sorted(a["vendor_key"] for a in apps) == ["acme-monitor", "demo-monitor"]


async def test_state_is_one_document_without_password_hashes(sandbox):
    await trigger(sandbox)
    await act(sandbox, "acknowledge")

    response = await sandbox.get("/_sandbox/state")

    assert response.status_code == 200
    assert "password_hash" not in response.text and "$argon2" not in response.text
    state = response.json()
    assert list(state) == ["generated_at", "clock", "limits", "truncated", "totals", "accounts", "partner_apps",
                           "oauth_apps", "incidents", "change_events", "journal", "webhooks", "faults", "rate_limits"]
    [account] = state["accounts"]
    assert sorted(u["email"] for u in account["users"]) == ["demo@acme.test", "priya@acme.test", "sam@acme.test"]
    assert [k["token"] for k in account["api_keys"]] == ["sandbox-api-key-acme"]
    [service] = account["services"]
    assert service["id"] == "PWEBS00"
    assert [i["integration_key"] for i in service["integrations"]] == ["e93facc04764012d7bfb002500d5d1a6"]
    [incident] = state["incidents"]
    assert incident["status"] == "acknowledged"
    assert [a["alert_key"] for a in incident["alerts"]] == ["disk-full"]
    assert [e["type"] for e in incident["log_entries"]] == [  # assigned to Dana, on call; her push and SMS
        "trigger_log_entry", "assign_log_entry", "notify_log_entry", "notify_log_entry", "acknowledge_log_entry"]
    assert state["rate_limits"] == {"enabled": False, "limit": 120, "window_seconds": 60}
    assert state["journal"] == {"count": 2, "last_event_id": 2}
    assert state["truncated"] == {"incidents": False, "change_events": False, "webhook_deliveries": False}
    assert state["webhooks"] == {"subscriptions": [], "deliveries": []}


async def test_state_caps_its_lists_and_says_so(sandbox):
    for key in ("a", "b", "c"):
        await trigger(sandbox, key)

    state = await _state(sandbox, limit=2)

    assert [i["incident_key"] for i in state["incidents"]] == ["c", "b"]
    assert state["limits"]["incidents"] == 2
    assert state["truncated"]["incidents"] is True
    assert state["totals"]["incidents"] == 3


async def test_state_rejects_a_limit_out_of_range(sandbox):
    response = await sandbox.get("/_sandbox/state", params={"limit": "0"})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid Input Provided", "code": 400,
                                         "errors": ["'limit' must be a whole number between 1 and 1000"]}}


@pytest.mark.parametrize("method,path", [("GET", "/_sandbox/nope"), ("DELETE", "/_sandbox/state")])
async def test_unknown_sandbox_paths_answer_json(sandbox, method, path):
    response = await sandbox.request(method, path)
    expected = {"GET": (404, "Not Found"), "DELETE": (405, "Method Not Allowed")}[method]
    assert (response.status_code, response.json()) == (expected[0], {"error": {"message": expected[1],
                                                                               "code": expected[0]}})


async def test_state_shows_webhook_subscriptions(sandbox):
    from tests.conftest import REST_HEADERS

    created = await sandbox.post("/api/webhook_subscriptions", headers=REST_HEADERS, json={"webhook_subscription": {
        "type": "webhook_subscription", "events": ["incident.triggered"],
        "delivery_method": {"type": "http_delivery_method", "url": "http://127.0.0.1:9/hook"},
        "filter": {"type": "service_reference", "id": "PWEBS00"}}})
    assert created.status_code == 200, created.text

    [subscription] = (await _state(sandbox))["webhooks"]["subscriptions"]

    assert (subscription["url"], subscription["events"], subscription["filter_id"]) == (
        "http://127.0.0.1:9/hook", ["incident.triggered"], "PWEBS00")
