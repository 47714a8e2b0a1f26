"""REST API handlers (the subset under `/api` a partner uses to check results; contract section 6).

Every handler starts with `rest_common.account(request)`: `Authorization: Token token=<key>` or `Bearer <token>`,
looked up in the account's API keys; an account only ever sees its own objects (another account's ids
are 404, never 403). Writes that PagerDuty attributes to a person need `From: <user email>`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from fake_pagerduty.domain import incident_actions, people_objects, rest_objects, rest_query
from fake_pagerduty.errors import RestError
from fake_pagerduty.web import rest_common, rest_includes, rest_policies

INTEGRATION_TYPES = ("events_api_v2_inbound_integration", "generic_events_api_inbound_integration")
URGENCY_RULES = ("high", "low", "severity_based")


# ---- incidents ------------------------------------------------------------------------------------------


async def _incident_objects(request: Request, rows: list[dict]) -> list[dict]:
    """Incidents with their first trigger log entry; `include[]=services|first_trigger_log_entries` expand
    those references into the full objects (the other documented values leave their references as they are)."""
    store, include = request.app.state.store, rest_common.includes(request)
    ids = [row["id"] for row in rows]
    counts = await store.incidents.alert_counts(ids)
    firsts = await store.incidents.first_trigger_log_entries(ids)
    base = rest_common.base_url(request)
    objects = [rest_objects.incident(base, row, counts.get(row["id"])) for row in rows]
    teams = await store.services.policy_teams([incident["escalation_policy"]["id"] for incident in objects])
    for incident in objects:
        first = firsts.get(incident["id"])
        incident.update(rest_objects.incident_extras(base, first, teams.get(incident["escalation_policy"]["id"])))
        incident["first_trigger_log_entry"] = _first_trigger(request, first)
    if "services" in include:
        await _expand_services(request, objects)
    await rest_includes.expand_people(request, objects, include, _expand_services)
    return objects


async def _teams(request: Request, policy_ids: list[str | None]) -> dict[str, list[dict]]:
    """`{policy_id: [team reference]}`: a service or incident belongs to its escalation policy's team."""
    found = await request.app.state.store.services.policy_teams([p for p in policy_ids if p])
    base = rest_common.base_url(request)
    return {policy_id: [people_objects.team(base, team, reference=True)] for policy_id, team in found.items()}


def _first_trigger(request: Request, row: dict | None) -> dict | None:
    """A first trigger log entry: its reference, or (`include[]=first_trigger_log_entries`) the entry in full."""
    if row is None:
        return None
    base = rest_common.base_url(request)
    if "first_trigger_log_entries" in rest_common.includes(request):
        return rest_objects.log_entry(base, row)
    return rest_objects.log_entry_reference(base, row)


async def _expand_references(request: Request, objects: list[dict], key: str, get, build) -> None:
    """Each object's `key` reference becomes the full object: its row by `get(account_id, id)` (once an id),
    made by `build(request, rows)`; a reference to nothing found stays as it is."""
    account_id = request.state.account["id"]
    rows = [await get(account_id, ref_id) for ref_id in dict.fromkeys(o[key]["id"] for o in objects if o.get(key))]
    full = {found["id"]: found for found in await build(request, [row for row in rows if row])}
    for item in objects:
        if item.get(key) and item[key]["id"] in full:
            item[key] = full[item[key]["id"]]


async def _expand_services(request: Request, objects: list[dict], key: str = "service") -> None:
    """`include[]=services`: each object's service reference becomes the full service."""
    await _expand_references(request, objects, key, request.app.state.store.services.get, _service_objects)


async def _expand_incidents(request: Request, objects: list[dict]) -> None:
    """`include[]=incidents` (alerts, log entries): each incident reference becomes the full incident."""
    await _expand_references(request, objects, "incident", request.app.state.store.incidents.get, _incident_objects)


async def _incident_row(request: Request, account: dict) -> dict:
    row = await request.app.state.store.incidents.get(account["id"], request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    return row


async def list_incidents(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    now = request.app.state.clock.now()
    query, page = rest_common.parsed(lambda params: rest_query.incident_query(params, now), request)
    rows, more, total = await request.app.state.store.incidents.page(account["id"], query, page)
    items = rest_common.in_time_zone(request, await _incident_objects(request, rows))
    return rest_common.listing("incidents", items, page, more, total)


async def get_incident(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await _incident_row(request, account)
    (incident,) = await _incident_objects(request, [row])
    return JSONResponse({"incident": incident})


async def incident_alerts(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    query, page = rest_common.parsed(rest_query.alert_query, request)
    incident = await _incident_row(request, account)
    rows, more, total = await request.app.state.store.incidents.alerts_page(account["id"], incident["id"], page, query)
    base = rest_common.base_url(request)
    first = (await request.app.state.store.incidents.first_trigger_log_entries([incident["id"]])).get(incident["id"])
    alerts = [rest_objects.alert(base, row) for row in rows]
    for alert in alerts:  # the trigger that opened the incident
        alert["first_trigger_log_entry"] = _first_trigger(request, first)
    await _expand(request, alerts)
    return rest_common.listing("alerts", alerts, page, more, total)


async def _expand(request: Request, objects: list[dict]) -> None:
    """Alerts and log entries: `include[]=services` and `include[]=incidents` expand those references (the
    other documented values leave theirs as they are)."""
    include = rest_common.includes(request)
    if "services" in include:
        await _expand_services(request, objects)
    if "incidents" in include:
        await _expand_incidents(request, objects)


async def incident_log_entries(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    query, page = rest_common.parsed(rest_query.log_entry_query, request)
    incident = await _incident_row(request, account)
    rows, more, total = await request.app.state.store.incidents.log_entries_page(
        account["id"], incident["id"], page, query
    )
    entries = await log_entries(request, rows)
    return rest_common.listing("log_entries", rest_common.in_time_zone(request, entries), page, more, total)


async def log_entries(request: Request, rows: list[dict]) -> list[dict]:
    """Log entry objects, each naming its incident's teams (its escalation policy's), `include[]` expanded."""
    base = rest_common.base_url(request)
    entries = [rest_objects.log_entry(base, row) for row in rows]
    teams = await _teams(request, [row["escalation_policy_id"] for row in rows])
    for entry, row in zip(entries, rows, strict=True):
        entry["teams"] = teams.get(row["escalation_policy_id"], [])
    await _expand(request, entries)
    if "teams" in rest_common.includes(request):
        await rest_includes.expand_teams(request, entries)
    return entries


def _status_change(incident_id: str, item: Any) -> incident_actions.StatusChange | None:
    """One `{type, status}` update from a PUT body; None when it asks for no status change."""
    if not isinstance(item, dict):
        raise RestError.invalid_input("Incident must be an object")
    if item.get("type", "incident_reference") not in ("incident", "incident_reference"):
        raise RestError.invalid_input("Type must be incident or incident_reference")
    if "status" not in item:
        return None
    status = item["status"]
    if status not in incident_actions.ALLOWED:
        raise RestError.invalid_input("Status must be one of: acknowledged, resolved")
    return incident_actions.StatusChange(incident_id, status)


async def _apply(request: Request, account: dict, user: dict, changes: list[incident_actions.StatusChange]) -> None:
    state = request.app.state
    try:
        published = await state.store.incidents.change_status(account["id"], changes, user, state.clock.now())
    except incident_actions.IncidentNotFound:
        raise RestError.not_found() from None
    except incident_actions.StatusChangeError as exc:
        raise RestError.invalid_input(exc.reason) from None
    state.changes.publish(published)


async def update_incident(request: Request) -> JSONResponse:
    """`PUT /incidents/{id}` `{"incident": {"type": "incident_reference", "status": "acknowledged"}}`; also
    `assignments`, `escalation_policy`, `escalation_level`, `priority`, `title`, `urgency` (rest_incident_people)."""
    account = await rest_common.account(request)
    user = await rest_common.requester(request, account)
    doc = await rest_common.json_body(request)
    if not isinstance(doc.get("incident"), dict):
        raise RestError.invalid_input("Incident must be an object")
    row = await _incident_row(request, account)
    incident_id = row["id"]
    change = _status_change(incident_id, doc["incident"])
    from fake_pagerduty.web import rest_incident_people  # it builds on this module's helpers

    await rest_incident_people.apply_changes(request, account, user, row, doc["incident"])  # reassign, priority…
    if change is not None:
        await _apply(request, account, user, [change])
    return await get_incident(request)


async def update_incidents(request: Request) -> JSONResponse:
    """`PUT /incidents` `{"incidents": [{"id", "type": "incident_reference", "status", …}, …]}`, up to 250: every
    item's fields checked and its references found before the first write (the people-side fields as
    `PUT /incidents/{id}` takes them), the status changes in one transaction: if one cannot change, none does."""
    account = await rest_common.account(request)
    user = await rest_common.requester(request, account)
    doc = await rest_common.json_body(request)
    items = doc.get("incidents")
    if not isinstance(items, list) or not items:
        raise RestError.invalid_input("Incidents must be a non-empty array")
    if len(items) > incident_actions.MAX_BULK:  # rest.json: 413 for more than PagerDuty takes at once
        raise RestError(413, "Request Entity Too Large", 2001,
                        [f"Incidents must contain at most {incident_actions.MAX_BULK} items"])
    changes, wanted = [], []
    for item in items:
        incident_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(incident_id, str) or not incident_id:
            raise RestError.invalid_input("Id can't be blank")
        wanted.append(incident_id)
        change = _status_change(incident_id, item)
        if change is not None:
            changes.append(change)
    from fake_pagerduty.web import rest_incident_people  # it builds on this module's helpers

    store = request.app.state.store
    prepared = []  # reassign, priority… as PUT /incidents/{id} takes them
    for item in items:  # every item checked and its references found before the first write
        row = await store.incidents.get(account["id"], item["id"])
        if row is None:
            raise RestError.not_found()
        ready = await rest_incident_people.prepare_changes(request, account, row, item)
        if ready is not None:
            prepared.append((row, ready))
    for row, ready in prepared:
        await rest_incident_people.commit_changes(request, account, user, row, ready)
    if changes:
        await _apply(request, account, user, changes)
    rows = []
    for incident_id in dict.fromkeys(wanted):
        row = await store.incidents.get(account["id"], incident_id)
        if row is None:
            raise RestError.not_found()
        rows.append(row)
    page = rest_query.Page(limit=len(rows), offset=0, total=False)
    return rest_common.listing("incidents", await _incident_objects(request, rows), page, False, None)


# ---- services and integrations --------------------------------------------------------------------------


async def _service_objects(request: Request, rows: list[dict]) -> list[dict]:
    """Services; `include[]=integrations` (GET /services, /services/{id}) gives their integrations in full."""
    integrations, last = await request.app.state.store.services.integrations_and_last_incident([row["id"] for row in rows])
    base = rest_common.base_url(request)
    services = [rest_objects.service(base, row, integrations.get(row["id"], []), last.get(row["id"])) for row in rows]
    open_statuses = await request.app.state.store.services.open_incident_statuses([row["id"] for row in rows])
    teams = await _teams(request, [row.get("escalation_policy_id") for row in rows])
    for row, service in zip(rows, services, strict=True):
        service["status"] = rest_objects.service_status(row["status"], open_statuses.get(row["id"], set()))
        service["teams"] = teams.get(row.get("escalation_policy_id"), [])
    # the request's include[] is about services only on /api/services (elsewhere: the objects that hold these)
    include = rest_common.includes(request) if request.url.path.startswith("/api/services") else ()
    if "integrations" in include:
        for row, service in zip(rows, services, strict=True):
            service["integrations"] = [rest_objects.integration(base, i, row["name"])
                                       for i in integrations.get(row["id"], [])]
    if "escalation_policies" in include:
        await rest_policies.expand_policies(request, services)
    if "teams" in include:
        await rest_includes.expand_teams(request, services)
    return services


service_objects = _service_objects  # for other modules' include[]=services (escalation policies)


async def list_services(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    query, page = rest_common.parsed(rest_query.service_query, request)
    rows, more, total = await request.app.state.store.services.page(account["id"], page, query)
    items = rest_common.in_time_zone(request, await _service_objects(request, rows))
    return rest_common.listing("services", items, page, more, total)


async def get_service(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await request.app.state.store.services.get(account["id"], request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    (service,) = await _service_objects(request, [row])
    return JSONResponse({"service": service})


def _timeout(doc: dict, name: str, errors: list[str]) -> int | None:
    """Service timeouts: seconds; 0, null or unset turn the timeout off (as rest.json's Service says)."""
    value = doc.get(name)
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors.append(f"{name.replace('_', ' ').capitalize()} must be a non-negative integer or null")
        return None
    return value or None


def _urgency_rule(doc: dict, errors: list[str]) -> str:
    rule = doc.get("incident_urgency_rule")
    if rule is None:
        return "severity_based"
    if not isinstance(rule, dict) or rule.get("type", "constant") != "constant" \
            or rule.get("urgency", "high") not in URGENCY_RULES:
        errors.append("Incident urgency rule must be constant with urgency high, low or severity_based")
        return "severity_based"
    return rule.get("urgency", "high")


async def create_service(request: Request) -> JSONResponse:
    """`POST /services` `{"service": {"type": "service", "name", "description", timeouts…}}` → 201."""
    account = await rest_common.account(request)
    doc = (await rest_common.json_body(request)).get("service")
    if not isinstance(doc, dict):
        raise RestError.invalid_input("Service must be an object")
    errors: list[str] = []
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("Name can't be blank")
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        errors.append("Description must be a string")
    ack_timeout = _timeout(doc, "acknowledgement_timeout", errors)
    resolve_timeout = _timeout(doc, "auto_resolve_timeout", errors)
    urgency_rule = _urgency_rule(doc, errors)
    policy_id = await rest_policies.policy_of(request, account, doc, errors)
    if errors:
        raise RestError.invalid_input(*errors)
    row = await request.app.state.store.services.create(
        account["id"], name=name.strip(), description=description or "", acknowledgement_timeout=ack_timeout,
        auto_resolve_timeout=resolve_timeout, urgency_rule=urgency_rule, now=request.app.state.clock.now(),
        escalation_policy_id=policy_id,
    )
    if row is None:
        raise RestError.invalid_input("Name has already been taken")
    (service,) = await _service_objects(request, [row])
    return JSONResponse({"service": service}, status_code=201)


async def get_integration(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await request.app.state.store.services.integration(
        account["id"], request.path_params["id"], request.path_params["integration_id"]
    )
    if row is None:
        raise RestError.not_found()
    integration = rest_objects.integration(rest_common.base_url(request), row, row["service_name"])
    if "services" in rest_common.includes(request):
        await _expand_services(request, [integration])
    return JSONResponse({"integration": integration})


async def create_integration(request: Request) -> JSONResponse:
    """`POST /services/{id}/integrations` `{"integration": {"type": "events_api_v2_inbound_integration",
    "name"}}` → 201 with a new integration key."""
    account = await rest_common.account(request)
    doc = (await rest_common.json_body(request)).get("integration")
    if not isinstance(doc, dict):
        raise RestError.invalid_input("Integration must be an object")
    kind = doc.get("type", "events_api_v2_inbound_integration")
    if kind not in INTEGRATION_TYPES:
        raise RestError.invalid_input(f"Type must be one of: {', '.join(INTEGRATION_TYPES)}")
    name = doc.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise RestError.invalid_input("Name can't be blank")
    default_name = "Events API V2" if kind == "events_api_v2_inbound_integration" else "Events API V1"
    row = await request.app.state.store.services.create_integration(
        account["id"], request.path_params["id"], name=(name or default_name).strip(), type=kind,
        now=request.app.state.clock.now(),
    )
    if row is None:
        raise RestError.not_found()
    return JSONResponse(
        {"integration": rest_objects.integration(rest_common.base_url(request), row, row["service_name"])}, status_code=201
    )


# ---- change events --------------------------------------------------------------------------------------


async def list_change_events(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    errors: list[str] = []
    page = rest_query.page(request.query_params, errors)
    since, until = rest_query.change_event_window(request.query_params, errors)
    if errors:
        raise RestError.invalid_input(*errors)
    params = request.query_params
    integration_ids = tuple(params.getlist("integration_ids[]") + params.getlist("integration_ids"))
    team_ids = tuple(params.getlist("team_ids[]") + params.getlist("team_ids"))
    rows, more, total = await request.app.state.store.services.change_events_page(
        account["id"], page, since, until, integration_ids, team_ids
    )
    base = rest_common.base_url(request)
    return rest_common.listing("change_events", [rest_objects.change_event(base, row) for row in rows], page, more, total)
