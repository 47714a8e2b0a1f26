"""REST API: auth, incidents (list filters, pagination, one incident, alerts, log entries), isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.seed import apply_seed
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.rest_helpers import BASE, incident_by_key, incidents, trigger

UNAUTHORIZED = {"error": {"message": "Authentication failed", "code": 2006}}
NOT_FOUND = {"error": {"message": "Not Found", "code": 2100}}


def invalid(*errors: str) -> dict:
    return {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": list(errors)}}


# ---- authentication -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token token=not-a-key"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "sandbox-api-key-acme"},
        {"Authorization": "Basic c2FuZGJveC1hcGkta2V5LWFjbWU6"},
    ],
)
@pytest.mark.parametrize("path", ["/api/incidents", "/api/incidents/Q123", "/api/services", "/api/change_events"])
async def test_without_a_valid_key_the_answer_is_401_in_pagerduty_format(sandbox, headers, path):
    response = await sandbox.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == UNAUTHORIZED


async def test_writes_without_a_key_are_401_and_change_nothing(sandbox):
    await trigger(sandbox, "k1")
    incident_id = (await incident_by_key(sandbox, "k1"))["id"]
    response = await sandbox.put(
        f"/api/incidents/{incident_id}", headers={"From": "demo@acme.test"},
        json={"incident": {"type": "incident_reference", "status": "resolved"}},
    )
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert (await incident_by_key(sandbox, "k1"))["status"] == "triggered"


@pytest.mark.parametrize(
    "authorization",
    ["Token token=sandbox-api-key-acme", 'Token token="sandbox-api-key-acme"', "token token=sandbox-api-key-acme",
     "Bearer sandbox-api-key-acme"],
)
async def test_token_and_bearer_forms_are_accepted(sandbox, authorization):
    response = await sandbox.get("/api/incidents", headers={"Authorization": authorization})
    assert response.status_code == 200
    assert response.json() == {"incidents": [], "limit": 25, "offset": 0, "more": False, "total": None}


async def test_unknown_api_path_is_a_pagerduty_404(sandbox):
    response = await sandbox.get("/api/nothing-here", headers=REST_HEADERS)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# ---- events → REST consistency --------------------------------------------------------------------------


async def test_a_triggered_event_shows_up_as_an_incident(sandbox):
    await trigger(sandbox, "disk-web-1", summary="Disk full on web-1", severity="critical")
    await trigger(sandbox, "cpu-web-2", summary="CPU warm on web-2", severity="warning")
    body = await incidents(sandbox)
    assert [i["title"] for i in body["incidents"]] == ["Disk full on web-1", "CPU warm on web-2"]
    first, second = body["incidents"]
    assert first["incident_number"] == 1 and second["incident_number"] == 2
    assert (first["status"], first["urgency"], first["incident_key"]) == ("triggered", "high", "disk-web-1")
    assert (second["urgency"], second["incident_key"]) == ("low", "cpu-web-2")
    assert first["type"] == "incident"
    assert first["summary"] == "[#1] Disk full on web-1"
    assert first["self"] == f"{BASE}/api/incidents/{first['id']}"
    assert first["html_url"] == f"{BASE}/incidents/{first['id']}"
    assert first["service"] == {
        "id": "PWEBS00", "type": "service_reference", "summary": "Acme Website",
        "self": f"{BASE}/api/services/PWEBS00", "html_url": f"{BASE}/services/PWEBS00",
    }
    assert first["alert_counts"] == {"all": 1, "triggered": 1, "resolved": 0}
    assert first["acknowledgements"] == []
    assert [a["assignee"]["id"] for a in first["assignments"]] == ["PDANA00"]  # on call now (test_escalation.py)
    assert first["resolved_at"] is None
    assert first["created_at"] == first["updated_at"] == first["last_status_change_at"]
    assert first["escalation_policy"]["type"] == "escalation_policy_reference"
    assert first["last_status_change_by"]["id"] == "PINTG00"


async def test_dedup_and_events_resolve_are_visible_through_rest(sandbox):
    await trigger(sandbox, "k1")
    await trigger(sandbox, "k1")  # deduplicated: same incident
    body = await incidents(sandbox)
    assert len(body["incidents"]) == 1
    response = await sandbox.post("/v2/enqueue", json={
        "routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "resolve", "dedup_key": "k1"})
    assert response.status_code == 202
    incident = await incident_by_key(sandbox, "k1")
    assert incident["status"] == "resolved"
    assert incident["resolved_at"] is not None
    assert incident["alert_counts"] == {"all": 1, "triggered": 0, "resolved": 1}


# ---- one incident ---------------------------------------------------------------------------------------


async def test_get_one_incident(sandbox):
    await trigger(sandbox, "k1", summary="The server is on fire.")
    listed = await incident_by_key(sandbox, "k1")
    response = await sandbox.get(f"/api/incidents/{listed['id']}", headers=REST_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"incident": listed}
    assert listed["summary"] == "[#1] The server is on fire."


async def test_unknown_incident_is_404(sandbox):
    for path in ["/api/incidents/QNOPE", "/api/incidents/QNOPE/alerts", "/api/incidents/QNOPE/log_entries"]:
        response = await sandbox.get(path, headers=REST_HEADERS)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


async def test_incident_alerts(sandbox):
    await trigger(sandbox, "k1", summary="Disk full on web-1", severity="error")
    incident = await incident_by_key(sandbox, "k1")
    response = await sandbox.get(f"/api/incidents/{incident['id']}/alerts", headers=REST_HEADERS)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("limit", "offset", "more", "total")} == {
        "limit": 25, "offset": 0, "more": False, "total": None}
    (alert,) = body["alerts"]
    assert alert["type"] == "alert"
    assert (alert["status"], alert["severity"], alert["alert_key"]) == ("triggered", "error", "k1")
    assert alert["incident"] == {
        "id": incident["id"], "type": "incident_reference", "summary": "[#1] Disk full on web-1",
        "self": incident["self"], "html_url": incident["html_url"]}
    assert alert["service"] == incident["service"]
    assert alert["created_at"] == incident["created_at"]
    assert alert["body"]["type"] == "alert_body"
    assert alert["body"]["payload"] == {"summary": "Disk full on web-1", "severity": "error", "source": "web-1",
                                        **{k: alert["body"]["payload"][k] for k in alert["body"]["payload"]
                                           if k not in ("summary", "severity", "source")}}
    assert alert["integration"]["id"] == "PINTG00"
    assert alert["integration"]["type"] == "events_api_v2_inbound_integration_reference"


async def test_incident_log_entries_newest_first_and_paginated(sandbox):
    await trigger(sandbox, "k1")
    await trigger(sandbox, "k1")
    incident = await incident_by_key(sandbox, "k1")
    response = await sandbox.get(
        f"/api/incidents/{incident['id']}/log_entries?limit=1&total=true", headers=REST_HEADERS)
    body = response.json()
    # trigger, assign, two notifications, trigger
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (1, 0, True, 5)
    (entry,) = body["log_entries"]
    assert entry["type"] == "trigger_log_entry"
    assert entry["incident"]["id"] == incident["id"]
    assert entry["service"]["id"] == "PWEBS00"
    assert entry["self"] == f"{BASE}/api/log_entries/{entry['id']}?incident_id={incident['id']}"
    assert entry["agent"]["id"] == "PINTG00"
    response = await sandbox.get(
        f"/api/incidents/{incident['id']}/log_entries?limit=1&offset=4", headers=REST_HEADERS)
    body = response.json()
    assert body["more"] is False and len(body["log_entries"]) == 1
    assert body["log_entries"][0]["id"] != entry["id"]


# ---- list filters ---------------------------------------------------------------------------------------


async def _three(sandbox, sandbox_app):
    """#1 triggered high, #2 acknowledged low, #3 resolved high (changed through the REST API)."""
    await trigger(sandbox, "a", summary="first", severity="critical")
    await trigger(sandbox, "b", summary="second", severity="info")
    await trigger(sandbox, "c", summary="third", severity="error")
    ids = {i["incident_key"]: i["id"] for i in (await incidents(sandbox))["incidents"]}
    headers = {**REST_HEADERS, "From": "demo@acme.test"}
    for key, status in (("b", "acknowledged"), ("c", "resolved")):
        response = await sandbox.put(f"/api/incidents/{ids[key]}", headers=headers,
                                     json={"incident": {"type": "incident_reference", "status": status}})
        assert response.status_code == 200, response.text
    return ids


def _keys(body: dict) -> list[str]:
    return [i["incident_key"] for i in body["incidents"]]


async def test_filter_by_status(sandbox, sandbox_app):
    await _three(sandbox, sandbox_app)
    assert _keys(await incidents(sandbox, "?statuses[]=triggered")) == ["a"]
    assert _keys(await incidents(sandbox, "?statuses[]=triggered&statuses[]=acknowledged")) == ["a", "b"]
    assert _keys(await incidents(sandbox, "?statuses[]=resolved")) == ["c"]
    assert _keys(await incidents(sandbox)) == ["a", "b", "c"]


async def test_filter_by_urgency(sandbox, sandbox_app):
    await _three(sandbox, sandbox_app)
    assert _keys(await incidents(sandbox, "?urgencies[]=high")) == ["a", "c"]
    assert _keys(await incidents(sandbox, "?urgencies[]=low")) == ["b"]


async def test_filter_by_incident_key(sandbox, sandbox_app):
    await _three(sandbox, sandbox_app)
    assert _keys(await incidents(sandbox, "?incident_key=b")) == ["b"]
    assert _keys(await incidents(sandbox, "?incident_key=zzz")) == []


async def test_filter_by_service(sandbox, sandbox_app):
    await _three(sandbox, sandbox_app)
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await apply_seed(store, {"accounts": [{"subdomain": "acme", "services": [
        {"id": "PAPI000", "name": "Acme API", "integrations": [{"key": "a" * 32}]}]}]}, now)
    await trigger(sandbox, "d", routing_key="a" * 32)
    assert _keys(await incidents(sandbox, "?service_ids[]=PAPI000")) == ["d"]
    assert _keys(await incidents(sandbox, "?service_ids[]=PWEBS00")) == ["a", "b", "c"]
    assert _keys(await incidents(sandbox, "?service_ids[]=PWEBS00&service_ids[]=PAPI000")) == ["a", "b", "c", "d"]
    assert _keys(await incidents(sandbox, "?service_ids[]=PNOPE00")) == []


async def test_sort_by(sandbox, sandbox_app):
    await _three(sandbox, sandbox_app)
    assert _keys(await incidents(sandbox, "?sort_by=incident_number:desc")) == ["c", "b", "a"]
    assert _keys(await incidents(sandbox, "?sort_by=incident_number:asc")) == ["a", "b", "c"]
    assert _keys(await incidents(sandbox, "?sort_by=created_at:desc")) == ["c", "b", "a"]
    assert _keys(await incidents(sandbox, "?sort_by=created_at")) == ["a", "b", "c"]
    assert _keys(await incidents(sandbox, "?sort_by=urgency:asc,incident_number:desc")) == ["c", "a", "b"]


async def test_default_window_is_the_last_30_days(sandbox, sandbox_app):
    clock = sandbox_app.state.clock
    await trigger(sandbox, "old")
    old_created = (await incident_by_key(sandbox, "old"))["created_at"]
    clock.advance(31 * 86400)
    await trigger(sandbox, "new")
    assert _keys(await incidents(sandbox)) == ["new"]
    assert _keys(await incidents(sandbox, "?date_range=all")) == ["old", "new"]
    moment = parse_iso(old_created)
    since, until = iso(moment - timedelta(days=1)), iso(moment + timedelta(days=1))
    assert _keys(await incidents(sandbox, f"?since={since}&until={until}")) == ["old"]
    assert _keys(await incidents(sandbox, f"?since={since}")) == ["old", "new"]
    # `until` alone looks back 30 days from it.
    assert _keys(await incidents(sandbox, f"?until={until}")) == ["old"]


async def test_since_and_until_accept_pagerduty_offsets(sandbox):
    await trigger(sandbox, "k1")
    created = (await incident_by_key(sandbox, "k1"))["created_at"]
    assert _keys(await incidents(sandbox, f"?since={created}&until={created}")) == ["k1"]
    year = int(created[:4])
    assert _keys(await incidents(sandbox, f"?since={year + 1}-01-01T00:00:00%2B0000")) == []
    assert _keys(await incidents(sandbox, f"?since={year - 1}-12-01T00:00:00-0500")) == ["k1"]
    # date_range=all wins over since/until, as PagerDuty documents.
    assert _keys(await incidents(sandbox, f"?since={year + 1}-01-01T00:00:00%2B00:00&date_range=all")) == ["k1"]
    # An unencoded "+" arrives as a space; it still reads as an offset.
    assert _keys(await incidents(sandbox, f"?since={year + 1}-01-01T00:00:00+0000")) == []


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("?statuses[]=open", ["Status must be a list of triggered, acknowledged, or resolved."]),
        ("?urgencies[]=medium", ["Urgencies must be a list of high or low."]),
        ("?since=yesterday", ["Since must be a valid ISO 8601 date"]),
        ("?until=2026-13-45", ["Until must be a valid ISO 8601 date"]),
        ("?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", ["Until must be after since"]),
        ("?date_range=some", ["Date range must be all"]),
        ("?limit=ten", ["Limit must be an integer"]),
        ("?limit=0", ["Limit must be greater than 0"]),
        ("?offset=-1", ["Offset must be greater than or equal to 0"]),
        ("?sort_by=title:asc", ["Sort by must be one of incident_number, created_at, resolved_at, urgency, "
                                "optionally followed by :asc or :desc"]),
        ("?sort_by=created_at:sideways", ["Sort by must be one of incident_number, created_at, resolved_at, "
                                          "urgency, optionally followed by :asc or :desc"]),
        ("?statuses[]=open&limit=x", ["Status must be a list of triggered, acknowledged, or resolved.",
                                      "Limit must be an integer"]),
    ],
)
async def test_invalid_list_parameters_are_400(sandbox, query, errors):
    response = await sandbox.get(f"/api/incidents{query}", headers=REST_HEADERS)
    assert response.status_code == 400
    assert response.json() == invalid(*errors)


# ---- pagination -----------------------------------------------------------------------------------------


async def test_pagination_limit_offset_more_total(sandbox):
    for n in range(7):
        await trigger(sandbox, f"k{n}")
    body = await incidents(sandbox, "?limit=3")
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (3, 0, True, None)
    assert [i["incident_number"] for i in body["incidents"]] == [1, 2, 3]
    body = await incidents(sandbox, "?limit=3&offset=3&total=true")
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (3, 3, True, 7)
    assert [i["incident_number"] for i in body["incidents"]] == [4, 5, 6]
    body = await incidents(sandbox, "?limit=3&offset=6&total=true")
    assert (body["more"], body["total"], len(body["incidents"])) == (False, 7, 1)
    body = await incidents(sandbox, "?offset=50")
    assert (body["incidents"], body["more"]) == ([], False)
    body = await incidents(sandbox, "?total=true&statuses[]=resolved")
    assert body["total"] == 0


async def test_limit_is_capped_at_100(sandbox):
    body = await incidents(sandbox, "?limit=500")
    assert body["limit"] == 100


async def test_alert_counts_are_per_incident(sandbox):
    await trigger(sandbox, "k1")
    await trigger(sandbox, "k2")
    await sandbox.post("/v2/enqueue", json={
        "routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "resolve", "dedup_key": "k2"})
    counts = {i["incident_key"]: i["alert_counts"] for i in (await incidents(sandbox))["incidents"]}
    assert counts == {"k1": {"all": 1, "triggered": 1, "resolved": 0},
                      "k2": {"all": 1, "triggered": 0, "resolved": 1}}


# ---- accounts are isolated ------------------------------------------------------------------------------

GLOBEX = {"accounts": [{
    "subdomain": "globex", "name": "Globex",
    "users": [{"name": "Hank", "email": "hank@globex.test", "password": "secret"}],
    "api_keys": ["globex-api-key"],
    "services": [{"id": "PGLOB00", "name": "Payments", "integrations": [{"key": "b" * 32}]}],
}]}
GLOBEX_HEADERS = {"Authorization": "Token token=globex-api-key"}


async def test_another_accounts_key_sees_nothing_of_acme(sandbox, sandbox_app):
    await apply_seed(sandbox_app.state.store, GLOBEX, sandbox_app.state.clock.now())
    await trigger(sandbox, "acme-1")
    await trigger(sandbox, "globex-1", routing_key="b" * 32)
    acme_incident = await incident_by_key(sandbox, "acme-1")

    globex = await incidents(sandbox, "?total=true", headers=GLOBEX_HEADERS)
    assert _keys(globex) == ["globex-1"] and globex["total"] == 1
    assert globex["incidents"][0]["incident_number"] == 1  # numbers are per account
    assert _keys(await incidents(sandbox, "?incident_key=acme-1", headers=GLOBEX_HEADERS)) == []
    assert _keys(await incidents(sandbox, "?service_ids[]=PWEBS00", headers=GLOBEX_HEADERS)) == []
    assert _keys(await incidents(sandbox)) == ["acme-1"]

    for path in (f"/api/incidents/{acme_incident['id']}", f"/api/incidents/{acme_incident['id']}/alerts",
                 f"/api/incidents/{acme_incident['id']}/log_entries", "/api/services/PWEBS00",
                 "/api/services/PWEBS00/integrations/PINTG00"):
        response = await sandbox.get(path, headers=GLOBEX_HEADERS)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path

    response = await sandbox.put(
        f"/api/incidents/{acme_incident['id']}", headers={**GLOBEX_HEADERS, "From": "hank@globex.test"},
        json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = await sandbox.put(
        "/api/incidents", headers={**GLOBEX_HEADERS, "From": "hank@globex.test"},
        json={"incidents": [{"id": acme_incident["id"], "type": "incident_reference", "status": "resolved"}]})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    # Acme's user cannot act through Globex's key either.
    response = await sandbox.put(
        f"/api/incidents/{acme_incident['id']}", headers={**GLOBEX_HEADERS, "From": "demo@acme.test"},
        json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert (response.status_code, response.json()) == (400, invalid("Requester User Not Found"))
    assert (await incident_by_key(sandbox, "acme-1"))["status"] == "triggered"

    services = (await sandbox.get("/api/services", headers=GLOBEX_HEADERS)).json()["services"]
    assert [s["name"] for s in services] == ["Payments"]
    response = await sandbox.post("/api/services/PWEBS00/integrations", headers=GLOBEX_HEADERS,
                                  json={"integration": {"type": "events_api_v2_inbound_integration"}})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
