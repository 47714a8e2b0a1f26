"""Issue 17: every query parameter and include[] value PagerDuty documents for a served `/api` endpoint is honoured
(checked here by its effect) or refused with PagerDuty's 400 naming it — never a 200 that ignored it.

The table is `fake_pagerduty/domain/rest_params.py`; these tests read the routes served (routes.py) and rest.json
at test time, so a new `/api` route without a row, a row that disagrees with the spec, or an honoured parameter
without a probe here fails loudly, saying what to add."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pytest
from starlette.routing import Route

from fake_pagerduty.domain import rest_params
from fake_pagerduty.routes import routes
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.oauth_helpers import code, token_form
from tests.rest_spec import documented, operation

FROM = {**REST_HEADERS, "From": "demo@acme.test"}


def served() -> list[tuple[str, str]]:
    """(method, spec path) of every `/api` route in routes.py, as it is now."""
    found = []
    for route in routes():
        if isinstance(route, Route) and route.path.startswith("/api/"):
            found += [(method, route.path.removeprefix("/api")) for method in sorted(route.methods - {"HEAD"})]
    return found


def _row_hint(method: str, path: str) -> str:
    names, include = documented(method, path)
    return (f"add to ENDPOINTS in fake_pagerduty/domain/rest_params.py: ({method!r}, {path!r}): "
            f"Endpoint(honoured=(...), refused=(...), include={include!r}) — rest.json documents the query "
            f"parameters {names!r}; each goes in honoured (implemented, with a probe in "
            f"tests/fake_pagerduty/test_rest_params.py) or refused (PagerDuty's 400)")


def test_every_served_api_route_is_in_the_rest_spec_and_has_a_row_in_the_table():
    missing = [f"{method} {path}: {_row_hint(method, path)}" for method, path in served()
               if rest_params.endpoint(method, path) is None]
    assert not missing, "\n".join(missing)
    unknown = [f"{method} {path}" for method, path in served() if operation(method, path) is None]
    assert not unknown, f"served but not in rest.json: {unknown}"
    stale = set(rest_params.ENDPOINTS) - set(served())
    assert not stale, f"rows in rest_params.ENDPOINTS for routes not served: {sorted(stale)}"


@pytest.mark.parametrize(("method", "path"), served())
def test_each_row_is_exactly_what_rest_json_documents(method, path):
    row = rest_params.endpoint(method, path)
    assert row is not None, _row_hint(method, path)
    names, include = documented(method, path)
    assert not set(row.honoured) & set(row.refused), f"{method} {path}: both honoured and refused"
    assert sorted(row.honoured + row.refused) == sorted(names), _row_hint(method, path)
    assert sorted(row.include) == sorted(include), f"{method} {path}: include must be {include!r}"
    assert set(row.expands) <= set(row.include)


# ---- the walk --------------------------------------------------------------------------------------------


@dataclass
class World:
    """Objects to walk over: two services, incidents in each state, a webhook subscription."""

    ids: dict[str, str] = field(default_factory=dict)

    def path(self, path: str) -> str:
        out = "/api" + path
        for name, value in self.ids.items():
            out = out.replace("{" + name + "}", value)
        return out


async def _ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


async def _trigger(sandbox, key: str, summary: str, severity: str = "critical", routing_key: str = SAMPLE_KEY,
                   extra: dict | None = None) -> None:
    event = {"routing_key": routing_key, "event_action": "trigger", "dedup_key": key,
             "payload": {"summary": summary, "source": "web-1", "severity": severity}, **(extra or {})}
    assert (await sandbox.post("/v2/enqueue", json=event)).status_code == 202


async def _incident(sandbox, key: str) -> dict:
    (found,) = (await _ok(await sandbox.get(f"/api/incidents?incident_key={key}&date_range=all",
                                            headers=REST_HEADERS)))["incidents"]
    return found


async def world_of(sandbox) -> World:
    world = World()
    service = (await _ok(await sandbox.post("/api/services", headers=REST_HEADERS, json={
        "service": {"type": "service", "name": "Billing", "incident_urgency_rule": {"type": "constant",
                                                                                    "urgency": "low"}}}), 201))
    world.ids["billing"] = service["service"]["id"]
    integration = await _ok(await sandbox.post(f"/api/services/{world.ids['billing']}/integrations",
                                               headers=REST_HEADERS, json={"integration": {
                                                   "type": "events_api_v2_inbound_integration"}}), 201)
    billing_key = integration["integration"]["integration_key"]
    await _trigger(sandbox, "walk-a", "Disk full on web-1")
    await _trigger(sandbox, "walk-b", "Invoices late", routing_key=billing_key)
    await _trigger(sandbox, "walk-c", "CPU hot", severity="warning")
    b = await _incident(sandbox, "walk-b")
    await _ok(await sandbox.put(f"/api/incidents/{b['id']}", headers=FROM, json={
        "incident": {"type": "incident_reference", "status": "acknowledged"}}))
    await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": "resolve",
                                            "dedup_key": "walk-c"})
    a = await _incident(sandbox, "walk-a")
    world.ids.update(id=a["id"], a=a["id"], b=b["id"], c=(await _incident(sandbox, "walk-c"))["id"],
                     sample=a["service"]["id"], integration_id=integration["integration"]["id"])
    sub = await _ok(await sandbox.post("/api/webhook_subscriptions", headers=REST_HEADERS, json={
        "webhook_subscription": {"type": "webhook_subscription", "delivery_method": {
            "type": "http_delivery_method", "url": "https://example.test/hook"},
            "events": ["incident.triggered"], "filter": {"type": "account_reference"}}}))
    world.ids["subscription"] = sub["webhook_subscription"]["id"]
    world.ids.update(contact_method_id="PDANACE", notification_rule_id="PDANARN")  # Dana's (the first user's)
    for collection in {path.split("/")[1] for method, path in served() if "{id}" in path}:
        listed = await sandbox.get(f"/api/{collection}", headers=REST_HEADERS)
        try:
            items = _listed(listed.json()) if listed.status_code == 200 else []
        except ValueError:
            items = []
        if items and "id" in items[0]:
            world.ids[f"first:{collection}"] = items[0]["id"]
    return world


def _ids_for(world: World, path: str) -> World:
    """The world with `{id}` meaning an object of the path's collection (another collection's: its first
    listed object, found by `world_of`)."""
    ids = dict(world.ids)
    collection = path.split("/")[1]
    ids["id"] = {"incidents": world.ids["b"], "services": world.ids["billing"],
                 "webhook_subscriptions": world.ids["subscription"]}.get(collection) or world.ids.get(
                     f"first:{collection}", world.ids["id"])
    return World(ids)


def _refusal(name: str, method: str, path: str) -> dict:
    return {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": [
        f"The sandbox does not implement the {name} parameter of {method} {path} (see README: REST API)"]}}


async def test_every_refused_parameter_is_refused_with_pagerdutys_400_naming_it(sandbox):
    world = await world_of(sandbox)
    walked = 0
    for method, path in served():
        row = rest_params.endpoint(method, path)
        for name in row.refused:
            url = _ids_for(world, path).path(path)
            answer = await sandbox.request(method, url, params={name: "x"}, headers=FROM, json={})
            assert answer.status_code == 400, (method, path, name, answer.text)
            assert answer.json() == _refusal(name, method, path)
            walked += 1
    assert walked == sum(len(row.refused) for row in rest_params.ENDPOINTS.values())


async def test_an_undocumented_include_value_is_refused_on_every_endpoint(sandbox):
    world = await world_of(sandbox)
    for method, path in served():
        url = _ids_for(world, path).path(path)
        answer = await sandbox.request(method, url, params={"include[]": "bogus"}, headers=FROM, json={})
        assert answer.status_code == 400, (method, path, answer.text)
        allowed = ", ".join(rest_params.endpoint(method, path).include) or (
            "nothing (this endpoint documents no include[])")
        assert answer.json() == {"error": {"message": "Invalid Input Provided", "code": 2001,
                                           "errors": [f"Include[] 'bogus' is not one of: {allowed}"]}}


async def test_an_undocumented_parameter_is_ignored_as_pagerduty_ignores_it(sandbox):
    plain = await _ok(await sandbox.get("/api/services", headers=REST_HEADERS))
    assert await _ok(await sandbox.get("/api/services?colour=blue", headers=REST_HEADERS)) == plain


def _references(value, found: list) -> list:
    """Every `…_reference` object in an answer."""
    if isinstance(value, dict):
        if str(value.get("type", "")).endswith("_reference"):
            found.append(value)
        for item in value.values():
            _references(item, found)
    elif isinstance(value, list):
        for item in value:
            _references(item, found)
    return found


async def test_every_documented_include_value_is_accepted_and_expands_what_the_table_says(sandbox):
    world = await world_of(sandbox)
    for method, path in served():
        row = rest_params.endpoint(method, path)
        url = _ids_for(world, path).path(path)
        headers = await _user_bearer(sandbox) if (method, path) in USER_TOKEN_ONLY else REST_HEADERS
        for value in row.include:
            plain = await _ok(await sandbox.request(method, url, headers=headers))
            answer = await _ok(await sandbox.request(method, url, params={"include[]": value}, headers=headers))
            if value in row.expands:
                probe = EXPANSIONS[(method, path, value)]
                probe(plain, answer)
            else:
                assert answer == plain, (method, path, value)


# ---- honoured parameters, each by its effect --------------------------------------------------------------

Probe = Callable[[httpx.AsyncClient, World], Awaitable[None]]
PROBES: dict[tuple[str, str, str], Probe] = {}
EXPANSIONS: dict[tuple[str, str, str], Callable[[dict, dict], None]] = {}


def probe(method: str, path: str, *names: str) -> Callable[[Probe], Probe]:
    def register(fn: Probe) -> Probe:
        for name in names:
            PROBES[(method, path, name)] = fn
        return fn
    return register


def _listed(doc: dict) -> list[dict]:
    (key,) = [k for k, v in doc.items() if isinstance(v, list)]
    return doc[key]


async def _paging(sandbox, world: World, method: str, path: str) -> None:
    url = _ids_for(world, path).path(path)
    every = await _ok(await sandbox.request(method, url, params={"date_range": "all"} if path == "/incidents"
                                            else {}, headers=REST_HEADERS))
    first = await _ok(await sandbox.request(method, url, params={"limit": "1", "total": "true"},
                                            headers=REST_HEADERS))
    assert first["limit"] == 1 and len(_listed(first)) <= 1 and isinstance(first["total"], int)
    second = await _ok(await sandbox.request(method, url, params={"limit": "1", "offset": "1"},
                                             headers=REST_HEADERS))
    assert second["offset"] == 1 and second["total"] is None
    if len(_listed(every)) > 1:
        assert first["more"] is True and _listed(first) != _listed(second)


# Paging is one implementation (rest_common.page); every GET row that honours it is probed the same way.
for _method, _path in [key for key, row in rest_params.ENDPOINTS.items() if key[0] == "GET" and "limit" in row.honoured]:
    async def _paging_probe(sandbox, world, method=_method, path=_path):
        await _paging(sandbox, world, method, path)
    probe(_method, _path, "limit", "offset", "total")(_paging_probe)


async def _incident_keys(sandbox, query: str) -> list[str]:
    doc = await _ok(await sandbox.get(f"/api/incidents?{query}", headers=REST_HEADERS))
    return sorted(incident["incident_key"] for incident in doc["incidents"])


@probe("GET", "/incidents", "statuses[]")
async def _statuses(sandbox, world):
    assert await _incident_keys(sandbox, "statuses[]=acknowledged") == ["walk-b"]
    assert await _incident_keys(sandbox, "statuses[]=triggered&statuses[]=resolved") == ["walk-a", "walk-c"]


@probe("GET", "/incidents", "urgencies[]")
async def _urgencies(sandbox, world):
    assert await _incident_keys(sandbox, "urgencies[]=low") == ["walk-b", "walk-c"]  # warning: low (severity based)
    assert await _incident_keys(sandbox, "urgencies[]=high") == ["walk-a"]


@probe("GET", "/incidents", "service_ids[]")
async def _service_ids(sandbox, world):
    assert await _incident_keys(sandbox, f"service_ids[]={world.ids['billing']}") == ["walk-b"]


@probe("GET", "/incidents", "incident_key")
async def _incident_key(sandbox, world):
    assert await _incident_keys(sandbox, "incident_key=walk-c") == ["walk-c"]


@probe("GET", "/incidents", "since", "until", "date_range")
async def _window(sandbox, world):
    assert await _incident_keys(sandbox, "until=2000-01-01T00:00:00Z") == []
    assert await _incident_keys(sandbox, "since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z") == [
        "walk-a", "walk-b", "walk-c"]
    assert await _incident_keys(sandbox, "date_range=all&until=2000-01-01T00:00:00Z") == ["walk-a", "walk-b", "walk-c"]


@probe("GET", "/incidents", "sort_by")
async def _sort_by(sandbox, world):
    doc = await _ok(await sandbox.get("/api/incidents?sort_by=incident_number:desc", headers=REST_HEADERS))
    numbers = [incident["incident_number"] for incident in doc["incidents"]]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) == 3


@probe("GET", "/services", "query")
async def _services_query(sandbox, world):
    doc = await _ok(await sandbox.get("/api/services?query=bill", headers=REST_HEADERS))
    assert [service["name"] for service in doc["services"]] == ["Billing"]


@probe("GET", "/change_events", "since", "until", "integration_ids[]")
async def _change_events(sandbox, world):
    change = {"routing_key": SAMPLE_KEY, "payload": {"summary": "Deploy 42", "source": "ci",
                                                     "timestamp": "2026-01-02T03:04:05Z"}}
    assert (await sandbox.post("/v2/change/enqueue", json=change)).status_code == 202

    async def summaries(query: str) -> list[str]:
        doc = await _ok(await sandbox.get(f"/api/change_events?{query}", headers=REST_HEADERS))
        return [event["summary"] for event in doc["change_events"]]

    assert await summaries("since=2026-01-01T00:00:00Z&until=2026-01-03T00:00:00Z") == ["Deploy 42"]
    assert await summaries("until=2026-01-01T00:00:00Z") == []
    assert await summaries("since=2026-01-03T00:00:00Z") == []
    assert await summaries(f"integration_ids[]={world.ids['integration_id']}") == []
    assert await summaries("integration_ids[]=PINTG00") == ["Deploy 42"]


@probe("GET", "/webhook_subscriptions", "filter_type", "filter_id")
async def _webhook_filters(sandbox, world):
    async def count(query: str) -> int:
        doc = await _ok(await sandbox.get(f"/api/webhook_subscriptions?{query}", headers=REST_HEADERS))
        return len(doc["webhook_subscriptions"])

    assert await count("filter_type=account") == 1
    assert await count("filter_type=service") == 0
    assert await count(f"filter_type=service&filter_id={world.ids['billing']}") == 0


def test_every_honoured_parameter_has_a_probe():
    missing = [f"{method} {path} {name}" for method, path in served()
               for name in rest_params.endpoint(method, path).honoured if (method, path, name) not in PROBES]
    assert not missing, ("honoured parameters without a probe (add one with @probe in "
                         f"tests/fake_pagerduty/test_rest_params.py): {missing}")
    no_expansion = [f"{method} {path} {value}" for method, path in served()
                    for value in rest_params.endpoint(method, path).expands if (method, path, value) not in EXPANSIONS]
    assert not no_expansion, f"expanded include[] values without a check in EXPANSIONS: {no_expansion}"


def pytest_generate_tests(metafunc):
    """Every probe, those registered further down this file included (a parametrize decorator here would see
    only the probes registered above it)."""
    if metafunc.function.__name__ == "test_each_honoured_parameter_has_its_effect":
        metafunc.parametrize("key", sorted(PROBES), ids=lambda key: " ".join(key))


async def test_each_honoured_parameter_has_its_effect(sandbox, key):
    world = await world_of(sandbox)
    await PROBES[key](sandbox, world)


@probe("GET", "/incidents/{id}/alerts", "statuses[]", "alert_key", "sort_by")
async def _alert_filters(sandbox, world):
    await _trigger(sandbox, "walk-a", "Disk full again")  # deduplicated: still one alert
    url = f"/api/incidents/{world.ids['c']}/alerts"

    async def keys(query: str) -> list[str]:
        doc = await _ok(await sandbox.get(f"{url}?{query}", headers=REST_HEADERS))
        return [alert["status"] for alert in doc["alerts"]]

    assert await keys("statuses[]=resolved") == ["resolved"]
    assert await keys("statuses[]=triggered") == []
    assert await keys("alert_key=walk-c") == ["resolved"]
    assert await keys("alert_key=nope") == []
    assert await keys("sort_by=resolved_at:desc") == ["resolved"]
    bad = await sandbox.get(f"{url}?sort_by=severity", headers=REST_HEADERS)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 2001


@probe("GET", "/incidents/{id}/log_entries", "since", "until", "is_overview")
async def _log_entry_filters(sandbox, world):
    url = f"/api/incidents/{world.ids['b']}/log_entries"
    every = (await _ok(await sandbox.get(url, headers=REST_HEADERS)))["log_entries"]
    assert every
    first = min(entry["created_at"] for entry in every)

    async def types(query: str) -> list[str]:
        return [e["type"] for e in (await _ok(await sandbox.get(f"{url}?{query}", headers=REST_HEADERS)))["log_entries"]]

    assert await types("until=2000-01-01T00:00:00Z") == []
    assert await types(f"since={first}") == [e["type"] for e in every]
    assert await types("since=2999-01-01T00:00:00Z") == []
    overview = await types("is_overview=true")
    assert "notify_log_entry" not in overview
    assert overview == [e["type"] for e in every if e["type"] != "notify_log_entry"]


@probe("GET", "/log_entries", "since", "until", "is_overview")
async def _account_log_entry_filters(sandbox, world):
    every = (await _ok(await sandbox.get("/api/log_entries", headers=REST_HEADERS)))["log_entries"]
    assert every
    first = min(entry["created_at"] for entry in every)

    async def ids(query: str) -> list[str]:
        doc = await _ok(await sandbox.get(f"/api/log_entries?{query}", headers=REST_HEADERS))
        return [e["id"] for e in doc["log_entries"]]

    assert await ids("until=2000-01-01T00:00:00Z") == []
    assert await ids(f"since={first}") == [e["id"] for e in every]
    assert await ids("since=2999-01-01T00:00:00Z") == []
    assert await ids("is_overview=true") == [e["id"] for e in every if e["type"] != "notify_log_entry"]


@probe("GET", "/services", "name", "sort_by")
async def _service_name_and_sort(sandbox, world):
    async def names(query: str) -> list[str]:
        return [s["name"] for s in (await _ok(await sandbox.get(f"/api/services?{query}", headers=REST_HEADERS)))["services"]]

    every = await names("")
    assert await names("name=Billing") == ["Billing"]
    assert await names("name=billing") == []
    assert await names("sort_by=name:desc") == list(reversed(every)) and len(every) > 1
    assert await names("sort_by=name:asc") == every


async def test_get_incident_accepts_the_incident_number(sandbox):
    world = await world_of(sandbox)
    by_id = await _ok(await sandbox.get(f"/api/incidents/{world.ids['b']}", headers=REST_HEADERS))
    number = by_id["incident"]["incident_number"]
    assert await _ok(await sandbox.get(f"/api/incidents/{number}", headers=REST_HEADERS)) == by_id
    assert (await sandbox.get("/api/incidents/99999", headers=REST_HEADERS)).status_code == 404


async def test_a_bulk_update_over_250_is_413(sandbox):
    items = [{"id": f"Q{i}", "type": "incident_reference", "status": "acknowledged"} for i in range(251)]
    answer = await sandbox.put("/api/incidents", headers=FROM, json={"incidents": items})
    assert answer.status_code == 413
    assert answer.json() == {"error": {"message": "Request Entity Too Large", "code": 2001,
                                       "errors": ["Incidents must contain at most 250 items"]}}


def _full(kind: str, key: str, many: bool = False):
    """An EXPANSIONS check: in every listed object, `key` was a `<kind>_reference` and is now the full `<kind>`."""
    def check(plain: dict, answer: dict) -> None:
        before, after = (_listed(doc) if many else [next(v for v in doc.values() if isinstance(v, dict))]
                         for doc in (plain, answer))
        assert after and len(before) == len(after)
        for old, new in zip(before, after, strict=True):
            assert old[key]["type"] == f"{kind}_reference" or old[key]["type"].endswith("_reference")
            assert new[key]["id"] == old[key]["id"] and new[key]["type"] == kind, new[key]
            assert {k: v for k, v in new.items() if k != key} == {k: v for k, v in old.items() if k != key}
    return check


def _full_integrations(plain: dict, answer: dict) -> None:
    before, after = (_listed(doc)[0] if "services" in doc else doc["service"] for doc in (plain, answer))
    assert [i["type"] for i in before["integrations"]] == [i["type"] + "_reference" for i in after["integrations"]]
    assert all("integration_key" in i for i in after["integrations"]) and after["integrations"]


def _people(*path: str, only: str = "user_reference"):
    """An EXPANSIONS check for incidents: at `path` (a list step is written "[]"), `only` references became
    the full objects, and at least one did."""
    def found(incident: dict) -> list:
        values = [incident]
        for step in path:
            values = [v for value in values for v in (value if step == "[]" else [value.get(step)])]
        return values

    def check(plain: dict, answer: dict) -> None:
        before, after = (_listed(doc) if "incidents" in doc else [doc["incident"]] for doc in (plain, answer))
        pairs = [(old, new) for o, n in zip(before, after, strict=True)
                 for old, new in zip(found(o), found(n), strict=True)
                 if isinstance(old, dict) and old.get("type") == only]
        assert pairs, f"nothing to expand at {path}"
        for old, new in pairs:
            assert new["id"] == old["id"] and new["type"] == only.removesuffix("_reference"), new
    return check


for _path in ("/incidents", "/incidents/{id}"):
    EXPANSIONS.update({
        ("GET", _path, "assignees"): _people("assignments", "[]", "assignee"),
        ("GET", _path, "acknowledgers"): _people("acknowledgements", "[]", "acknowledger"),
        ("GET", _path, "agents"): _people("last_status_change_by"),
        ("GET", _path, "escalation_policies"): _people("escalation_policy", only="escalation_policy_reference"),
        ("GET", _path, "teams"): _people("teams", "[]", only="team_reference"),
    })


def _full_teams(plain: dict, answer: dict) -> None:
    """Every team reference became the full team (at least one), nothing else changed."""
    before, after = (_listed(doc) if any(isinstance(v, list) for v in doc.values()) else [*doc.values()]
                     for doc in (plain, answer))
    assert any(item["teams"] for item in before)
    for old, new in zip(before, after, strict=True):
        assert [t["id"] for t in new["teams"]] == [t["id"] for t in old["teams"]]
        assert all(t["type"] == "team" and "name" in t for t in new["teams"]), new["teams"]
        assert {k: v for k, v in new.items() if k != "teams"} == {k: v for k, v in old.items() if k != "teams"}


EXPANSIONS.update({(m, p, "teams"): _full_teams for m, p in (
    ("GET", "/services"), ("GET", "/services/{id}"), ("GET", "/incidents/{id}/log_entries"), ("GET", "/log_entries"),
    ("GET", "/log_entries/{id}"))})

EXPANSIONS.update({
    ("GET", "/incidents", "services"): _full("service", "service", many=True),
    ("GET", "/incidents/{id}", "services"): _full("service", "service"),
    ("GET", "/incidents", "first_trigger_log_entries"): _full("trigger_log_entry", "first_trigger_log_entry",
                                                              many=True),
    ("GET", "/incidents/{id}", "first_trigger_log_entries"): _full("trigger_log_entry", "first_trigger_log_entry"),
    ("GET", "/incidents/{id}/alerts", "services"): _full("service", "service", many=True),
    ("GET", "/incidents/{id}/alerts", "incidents"): _full("incident", "incident", many=True),
    ("GET", "/incidents/{id}/alerts", "first_trigger_log_entries"): _full("trigger_log_entry",
                                                                          "first_trigger_log_entry", many=True),
    ("GET", "/incidents/{id}/log_entries", "services"): _full("service", "service", many=True),
    ("GET", "/incidents/{id}/log_entries", "incidents"): _full("incident", "incident", many=True),
    ("GET", "/log_entries", "services"): _full("service", "service", many=True),
    ("GET", "/log_entries", "incidents"): _full("incident", "incident", many=True),
    ("GET", "/log_entries/{id}", "services"): _full("service", "service"),
    ("GET", "/log_entries/{id}", "incidents"): _full("incident", "incident"),
    ("GET", "/services", "integrations"): _full_integrations,
    ("GET", "/services/{id}", "integrations"): _full_integrations,
    ("GET", "/services/{id}/integrations/{integration_id}", "services"): _full("service", "service"),
})


@probe("GET", "/incidents", "time_zone")
@probe("GET", "/incidents/{id}/log_entries", "time_zone")
@probe("GET", "/services", "time_zone")
@probe("GET", "/log_entries", "time_zone")
async def _time_zone(sandbox, world):
    for url in ("/api/incidents", f"/api/incidents/{world.ids['b']}/log_entries", "/api/services", "/api/log_entries"):
        plain = _listed(await _ok(await sandbox.get(url, headers=REST_HEADERS)))
        zoned = _listed(await _ok(await sandbox.get(f"{url}?time_zone=Asia/Kolkata", headers=REST_HEADERS)))
        assert [o["id"] for o in plain] == [o["id"] for o in zoned]
        for old, new in zip(plain, zoned, strict=True):
            assert new["created_at"].endswith("+05:30")
            assert datetime.fromisoformat(new["created_at"]) == datetime.fromisoformat(old["created_at"])
        bad = await sandbox.get(f"{url}?time_zone=Mars/Olympus", headers=REST_HEADERS)
        assert bad.status_code == 400
        assert bad.json()["error"]["errors"] == ["Time zone 'Mars/Olympus' is not a valid time zone"]
    # since/until without an offset are read in time_zone: 10:00 in Kolkata is before a 10:00Z incident,
    # 10:00 in New York after it
    created = (await _incident(sandbox, "walk-a"))["created_at"]
    wall = created.removesuffix("Z")
    assert "walk-a" in await _incident_keys(sandbox, f"since={wall}&time_zone=Asia/Kolkata")
    assert "walk-a" not in await _incident_keys(sandbox, f"since={wall}&time_zone=America/New_York")
    assert "walk-a" in await _incident_keys(sandbox, f"since={created}&time_zone=America/New_York")


@probe("GET", "/log_entries/{id}", "time_zone")
async def _log_entry_time_zone(sandbox, world):
    (entry, *_) = (await _ok(await sandbox.get("/api/log_entries", headers=REST_HEADERS)))["log_entries"]
    zoned = await _ok(await sandbox.get(f"/api/log_entries/{entry['id']}?time_zone=Asia/Kolkata", headers=REST_HEADERS))
    assert zoned["log_entry"]["created_at"].endswith("+05:30")
    assert datetime.fromisoformat(zoned["log_entry"]["created_at"]) == datetime.fromisoformat(entry["created_at"])


async def test_incidents_carry_their_first_trigger_log_entry(sandbox):
    world = await world_of(sandbox)
    incident = (await _ok(await sandbox.get(f"/api/incidents/{world.ids['a']}", headers=REST_HEADERS)))["incident"]
    entries = (await _ok(await sandbox.get(f"/api/incidents/{world.ids['a']}/log_entries",
                                           headers=REST_HEADERS)))["log_entries"]
    (trigger,) = [entry for entry in entries if entry["type"] == "trigger_log_entry"]
    assert incident["first_trigger_log_entry"] == {
        "id": trigger["id"], "type": "trigger_log_entry_reference", "summary": trigger["summary"],
        "self": trigger["self"], "html_url": trigger["html_url"]}


async def test_v2_links_and_images_are_the_alerts_body_contexts(sandbox):
    await _trigger(sandbox, "ctx", "Disk full", extra={
        "links": [{"href": "https://runbooks.test/disk", "text": "Runbook"}],
        "images": [{"src": "https://charts.test/disk.png", "href": "https://charts.test", "alt": "Disk"}]})
    incident = await _incident(sandbox, "ctx")
    (alert,) = (await _ok(await sandbox.get(f"/api/incidents/{incident['id']}/alerts", headers=REST_HEADERS)))["alerts"]
    assert alert["body"]["contexts"] == [
        {"type": "link", "href": "https://runbooks.test/disk", "text": "Runbook"},
        {"type": "image", "src": "https://charts.test/disk.png", "href": "https://charts.test", "alt": "Disk"}]
    assert "links" not in alert["body"] and "images" not in alert["body"]


# ---- people (issue 15; their exact answers: test_rest_people.py) -----------------------------------------

def _full_items(key: str):
    """An EXPANSIONS check: in every object, each item of the list `key` was a reference and is now whole."""
    def check(plain: dict, answer: dict) -> None:
        before, after = (_listed(doc) if any(isinstance(v, list) for v in doc.values())
                         else [next(v for v in doc.values() if isinstance(v, dict))] for doc in (plain, answer))
        assert any(old[key] for old in before)
        for old, new in zip(before, after, strict=True):
            assert [i["id"] for i in old[key]] == [i["id"] for i in new[key]]
            assert all(i["type"] == j["type"] + "_reference" for i, j in zip(old[key], new[key], strict=True))
            assert {k: v for k, v in new.items() if k != key} == {k: v for k, v in old.items() if k != key}
    return check


def _rules_with_whole_contact_methods(plain: dict, answer: dict) -> None:
    for old, new in zip(plain["notification_rules"], answer["notification_rules"], strict=True):
        assert old["contact_method"]["type"] == new["contact_method"]["type"] + "_reference"
        assert "address" in new["contact_method"] and "address" not in old["contact_method"]


def _rule_with_its_contact_method(plain: dict, answer: dict) -> None:
    _rules_with_whole_contact_methods({"notification_rules": [plain["notification_rule"]]},
                                      {"notification_rules": [answer["notification_rule"]]})


def _whole_targets(plain: dict, answer: dict) -> None:
    """Each level's targets (users, schedules) whole, in order."""
    before, after = (_listed(doc) if "escalation_policies" in doc else [doc["escalation_policy"]]
                     for doc in (plain, answer))
    olds = [t for p in before for r in p["escalation_rules"] for t in r["targets"]]
    news = [t for p in after for r in p["escalation_rules"] for t in r["targets"]]
    assert olds and [t["id"] for t in olds] == [t["id"] for t in news]
    assert [t["type"] + "_reference" for t in news] == [t["type"] for t in olds]


def _members_whole(plain: dict, answer: dict) -> None:
    assert plain["members"] and [m["role"] for m in plain["members"]] == [m["role"] for m in answer["members"]]
    for old, new in zip(plain["members"], answer["members"], strict=True):
        assert (old["user"]["type"], new["user"]["type"], new["user"]["id"]) == ("user_reference", "user",
                                                                                 old["user"]["id"])


def _whole_schedules(plain: dict, answer: dict) -> None:
    """On-calls through a schedule carry it whole; those of a user named by a level have none."""
    pairs = list(zip(plain["oncalls"], answer["oncalls"], strict=True))
    assert any(old["schedule"] for old, _ in pairs)
    for old, new in pairs:
        assert (new["schedule"] or {}).get("id") == (old["schedule"] or {}).get("id")
        assert new["schedule"] is None or (new["schedule"]["type"], old["schedule"]["type"]) == (
            "schedule", "schedule_reference")


EXPANSIONS.update({
    **{("GET", path, key): _full_items(key) for path in ("/users", "/users/{id}", "/users/me")
       for key in ("contact_methods", "notification_rules", "teams")},
    ("GET", "/users/{id}/notification_rules", "contact_methods"): _rules_with_whole_contact_methods,
    ("GET", "/users/{id}/notification_rules/{notification_rule_id}", "contact_methods"): _rule_with_its_contact_method,
    ("GET", "/teams/{id}/members", "users"): _members_whole,
    **{("GET", path, key): check for path in ("/escalation_policies", "/escalation_policies/{id}")
       for key, check in (("services", _full_items("services")), ("teams", _full_items("teams")),
                          ("targets", _whole_targets))},
    ("GET", "/services", "escalation_policies"): _full("escalation_policy", "escalation_policy", many=True),
    ("GET", "/oncalls", "users"): _full("user", "user", many=True),
    ("GET", "/oncalls", "escalation_policies"): _full("escalation_policy", "escalation_policy", many=True),
    ("GET", "/oncalls", "schedules"): _whole_schedules,
    ("GET", "/services/{id}", "escalation_policies"): _full("escalation_policy", "escalation_policy"),
})
USER_TOKEN_ONLY = {("GET", "/users/me")}  # walked with a user's OAuth token (an account's key gets a 400)


async def _user_bearer(sandbox) -> dict:
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox, scope="incidents.read")))
    return {"Accept": REST_HEADERS["Accept"], "Authorization": f"Bearer {answer.json()['access_token']}"}


async def _names(sandbox, url: str) -> list[str]:
    return [item.get("name") or item["user"]["summary"] for item in _listed(await _ok(await sandbox.get(
        url, headers=REST_HEADERS)))]


@probe("GET", "/users", "query", "team_ids[]")
async def _users_filters(sandbox, world):
    assert await _names(sandbox, "/api/users?query=SAM") == ["Sam Rivera"]
    assert await _names(sandbox, "/api/users?team_ids[]=PTEAM00") == ["Dana Demo", "Priya Patel", "Sam Rivera"]
    assert await _names(sandbox, "/api/users?team_ids[]=PNOTEAM") == []


@probe("GET", "/users/{id}/notification_rules", "urgency")
async def _rule_urgency(sandbox, world):
    async def urgencies(query: str) -> list[str]:
        doc = await _ok(await sandbox.get(f"/api/users/PDANA00/notification_rules{query}", headers=REST_HEADERS))
        return [rule["urgency"] for rule in doc["notification_rules"]]

    assert await urgencies("") == ["high", "high", "high"]
    assert await urgencies("?urgency=low") == ["low"]
    assert len(await urgencies("?urgency=all")) == 4


@probe("GET", "/teams", "query")
@probe("GET", "/schedules", "query")
@probe("GET", "/escalation_policies", "query")
async def _people_queries(sandbox, world):
    assert await _names(sandbox, "/api/teams?query=web") == ["Acme Web Team"]
    assert await _names(sandbox, "/api/teams?query=nothing") == []
    assert await _names(sandbox, "/api/schedules?query=secondary") == ["Acme Secondary"]
    assert await _names(sandbox, "/api/escalation_policies?query=website") == ["Acme Website On-Call"]
    assert await _names(sandbox, "/api/escalation_policies?query=nothing") == []


@probe("GET", "/escalation_policies", "user_ids[]", "team_ids[]", "sort_by")
async def _policy_filters(sandbox, world):
    made = await sandbox.post("/api/escalation_policies", headers=REST_HEADERS, json={"escalation_policy": {
        "type": "escalation_policy", "name": "Billing On-Call", "escalation_rules": [
            {"escalation_delay_in_minutes": 5, "targets": [{"id": "PPRIY00", "type": "user_reference"}]}]}})
    assert made.status_code == 201, made.text
    assert await _names(sandbox, "/api/escalation_policies?user_ids[]=PPRIY00") == [
        "Acme Website On-Call", "Billing On-Call"]  # Priya: on the primary schedule, and named
    assert await _names(sandbox, "/api/escalation_policies?user_ids[]=PSAMR00") == ["Acme Website On-Call"]
    assert await _names(sandbox, "/api/escalation_policies?team_ids[]=PTEAM00") == ["Acme Website On-Call"]
    assert await _names(sandbox, "/api/escalation_policies?sort_by=name:desc") == [
        "Billing On-Call", "Acme Website On-Call"]


@probe("GET", "/schedules/{id}", "since", "until", "overflow")
async def _schedule_range(sandbox, world):
    async def entries(query: str) -> list[tuple[str, str]]:
        doc = await _ok(await sandbox.get(f"/api/schedules/PPRIM00{query}", headers=REST_HEADERS))
        return [(e["start"], e["end"]) for e in doc["schedule"]["final_schedule"]["rendered_schedule_entries"]]

    assert await entries("") == []
    window = "?since=2030-01-01T10:00:00Z&until=2030-01-01T12:00:00Z"
    assert await entries(window) == [("2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")]
    (start, end), = await entries(window + "&overflow=true")  # the whole weekly turn
    assert start < "2030-01-01T10:00:00Z" and end > "2030-01-01T12:00:00Z"


@probe("GET", "/schedules", "include_next_oncall_for_user")
@probe("GET", "/schedules/{id}", "include_next_oncall_for_user")
async def _next_oncall(sandbox, world):
    plain = await _ok(await sandbox.get("/api/schedules/PPRIM00", headers=REST_HEADERS))
    assert "next_oncall_for_user" not in plain["schedule"]
    dana = (await _ok(await sandbox.get("/api/schedules/PPRIM00?include_next_oncall_for_user=PDANA00",
                                        headers=REST_HEADERS)))["schedule"]["next_oncall_for_user"]
    sam = (await _ok(await sandbox.get("/api/schedules/PPRIM00?include_next_oncall_for_user=PSAMR00",
                                       headers=REST_HEADERS)))["schedule"]["next_oncall_for_user"]
    assert dana["user"]["id"] == "PDANA00" and dana["end"] == sam["start"]  # Dana's week now, then Sam's
    listed = await _ok(await sandbox.get("/api/schedules?include_next_oncall_for_user=PSAMR00", headers=REST_HEADERS))
    assert [s["next_oncall_for_user"]["user"]["id"] for s in listed["schedules"]] == ["PSAMR00", "PSAMR00"]


@probe("POST", "/schedules", "overflow")
@probe("PUT", "/schedules/{id}", "overflow")
async def _overflow_on_writes(sandbox, world):
    """Terraform's provider sends overflow=true when it creates or updates a schedule: taken, and the schedule is
    the same (their answers render no entries that could overflow)."""
    layer = {"start": "2030-01-01T00:00:00Z", "rotation_virtual_start": "2030-01-01T00:00:00Z",
             "rotation_turn_length_seconds": 86400, "users": [{"user": {"id": "PDANA00"}}]}
    made = await _ok(await sandbox.post("/api/schedules?overflow=true", headers=REST_HEADERS, json={"schedule": {
        "name": "Nights", "time_zone": "UTC", "schedule_layers": [layer]}}), 201)
    url = f"/api/schedules/{made['schedule']['id']}"
    assert (await _ok(await sandbox.get(url, headers=REST_HEADERS)))["schedule"] == made["schedule"]
    changed = await _ok(await sandbox.put(url + "?overflow=true", headers=REST_HEADERS,
                                          json={"schedule": {"name": "Late nights"}}))
    assert changed["schedule"] == {**made["schedule"], "name": "Late nights", "summary": "Late nights"}


@probe("GET", "/schedules/{id}/overrides", "since", "until")
@probe("GET", "/schedules/{id}/users", "since", "until")
async def _override_range(sandbox, world):
    async def listed(what: str, since: str, until: str) -> list[str]:
        doc = await _ok(await sandbox.get(f"/api/schedules/PPRIM00/{what}?since={since}&until={until}",
                                          headers=REST_HEADERS))
        return [item["user"]["id"] if what == "overrides" else item["id"] for item in doc[what]]

    (regular,) = await listed("users", "2030-01-01T11:00:00Z", "2030-01-01T11:30:00Z")
    stand_in = next(uid for uid in ("PDANA00", "PSAMR00", "PPRIY00") if uid != regular)
    made = await sandbox.post("/api/schedules/PPRIM00/overrides", headers=REST_HEADERS, json={"overrides": [
        {"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z", "user": {"id": stand_in}}]})
    assert made.status_code == 201, made.text
    assert await listed("overrides", "2030-01-01T09:00:00Z", "2030-01-01T10:30:00Z") == [stand_in]
    assert await listed("overrides", "2030-01-01T11:00:00Z", "2030-01-01T12:00:00Z") == []
    assert await listed("users", "2030-01-01T10:00:00Z", "2030-01-01T10:30:00Z") == [stand_in]
    assert await listed("users", "2030-01-01T11:00:00Z", "2030-01-01T11:30:00Z") == [regular]


@probe("GET", "/schedules", "time_zone")
@probe("GET", "/schedules/{id}", "time_zone")
@probe("GET", "/oncalls", "time_zone")
async def _people_time_zone(sandbox, world):
    async def first(url: str, *keys) -> str:
        doc = await _ok(await sandbox.get(url, headers=REST_HEADERS))
        for key in keys:
            doc = doc[key]
        return doc

    tokyo = "&time_zone=Asia/Tokyo"
    entry = ("schedule", "final_schedule", "rendered_schedule_entries", 0, "start")
    window = "/api/schedules/PPRIM00?since=2030-01-01T10:00:00Z&until=2030-01-01T12:00:00Z"
    assert await first(window, *entry) == "2030-01-01T10:00:00Z"
    assert await first(window + tokyo, *entry) == "2030-01-01T19:00:00+09:00"
    listed = await _ok(await sandbox.get("/api/schedules", headers=REST_HEADERS))
    assert await _ok(await sandbox.get("/api/schedules?time_zone=Asia/Tokyo", headers=REST_HEADERS)) == listed
    # (a listed schedule carries no time to render;) an unknown zone is refused all the same
    assert (await sandbox.get("/api/schedules?time_zone=Mars/Base", headers=REST_HEADERS)).status_code == 400
    assert (await first("/api/oncalls?schedule_ids[]=PPRIM00" + tokyo, "oncalls", 0, "start")).endswith("+09:00")


@probe("GET", "/oncalls", "user_ids[]", "escalation_policy_ids[]", "schedule_ids[]", "since", "until", "earliest")
async def _oncall_filters(sandbox, world):
    async def who(query: str) -> list[tuple[int, str]]:
        doc = await _ok(await sandbox.get(f"/api/oncalls?{query}", headers=REST_HEADERS))
        return [(o["escalation_level"], o["user"]["id"]) for o in doc["oncalls"]]

    now = await who("")
    assert now[1:] == [(2, "PSAMR00")] and now[0][0] == 1
    sams = await who("user_ids[]=PSAMR00&since=2030-01-01T00:00:00Z&until=2030-01-22T00:00:00Z")
    assert {user for _, user in sams} == {"PSAMR00"} and {level for level, _ in sams} == {1, 2}
    assert await who("schedule_ids[]=PSECO00") == []  # no policy uses the secondary schedule
    assert await who("escalation_policy_ids[]=PNOPOLI") == []
    three_weeks = "since=2030-01-01T00:00:00Z&until=2030-01-22T00:00:00Z"
    assert len(await who(three_weeks + "&schedule_ids[]=PPRIM00")) == 4  # a turn under way, then three
    earliest = await who(three_weeks + "&schedule_ids[]=PPRIM00&earliest=true")
    assert len(earliest) == 3 and len({user for _, user in earliest}) == 3  # the fourth turn repeats the first


@probe("GET", "/incidents", "user_ids[]")
async def _user_ids(sandbox, world):
    every = (await _ok(await sandbox.get("/api/incidents", headers=REST_HEADERS)))["incidents"]
    (user,) = {a["assignee"]["id"] for a in next(i for i in every if i["incident_key"] == "walk-a")["assignments"]}
    assigned = sorted(i["incident_key"] for i in every
                      if i["status"] != "resolved" and user in {a["assignee"]["id"] for a in i["assignments"]})
    assert "walk-a" in assigned and "walk-c" not in assigned  # walk-c is resolved: assigned to no one
    assert await _incident_keys(sandbox, f"user_ids[]={user}") == assigned
    assert await _incident_keys(sandbox, "user_ids[]=PNOBODY") == []


@probe("GET", "/incidents", "team_ids[]")
@probe("GET", "/services", "team_ids[]")
@probe("GET", "/change_events", "team_ids[]")
async def _team_ids(sandbox, world):
    """A service, its incidents and change events belong to the team of the service's escalation policy."""
    change = {"routing_key": SAMPLE_KEY, "payload": {"summary": "Deploy 43", "source": "ci"}}
    assert (await sandbox.post("/v2/change/enqueue", json=change)).status_code == 202
    (service,) = (await _ok(await sandbox.get("/api/services?name=Acme Website", headers=REST_HEADERS)))["services"]
    (team,) = service["teams"]
    assert team["type"] == "team_reference"
    for url in ("/api/incidents", "/api/services", "/api/change_events"):
        every = _listed(await _ok(await sandbox.get(url, headers=REST_HEADERS)))
        mine = _listed(await _ok(await sandbox.get(f"{url}?team_ids[]={team['id']}", headers=REST_HEADERS)))
        assert mine and len(mine) <= len(every)
        if url != "/api/change_events":  # change events show no teams: rest.json gives them none
            assert all(team["id"] in {t["id"] for t in item["teams"]} for item in mine)
            assert [i["id"] for i in mine] == [i["id"] for i in every if team["id"] in {t["id"] for t in i["teams"]}]
        assert _listed(await _ok(await sandbox.get(f"{url}?team_ids[]=PNOTEAM", headers=REST_HEADERS))) == []
    entries = (await _ok(await sandbox.get(f"/api/incidents/{world.ids['a']}/log_entries",
                                           headers=REST_HEADERS)))["log_entries"]
    assert entries and all(entry["teams"] == [team] for entry in entries)


async def test_an_oauth_request_goes_through_the_same_check(sandbox):
    from tests.fake_pagerduty.test_oauth_rest import bearer, user_token

    world = await world_of(sandbox)
    headers = bearer(await user_token(sandbox))
    refused = await sandbox.get("/api/incidents?include[]=bogus", headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 2001
    expanded = await _ok(await sandbox.get(f"/api/incidents/{world.ids['a']}?include[]=services", headers=headers))
    assert expanded["incident"]["service"]["type"] == "service"
