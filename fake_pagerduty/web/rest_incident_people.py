"""REST API, the people side of incidents: `POST /incidents`, the reassign/escalate/priority/title/urgency
fields of `PUT /incidents/{id}` (`apply_changes`, called by rest_api.update_incident), `POST
/incidents/{id}/snooze`, `PUT /incidents/{id}/merge`, `GET|POST /incidents/{id}/notes`, `GET /log_entries`
and `GET /log_entries/{id}`. Bodies and errors as PagerDuty's; the checks are `domain/incident_input.py`'s, the
writes `store/incident_changes.py`'s and `store/notes.py`'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from fake_pagerduty.domain import incident_actions, incident_input, notes, rest_objects, rest_query
from fake_pagerduty.errors import RestError
from fake_pagerduty.store.incident_changes import NobodyAtLevel, NotAcknowledged, OpenIncidentWithKey
from fake_pagerduty.web import rest_api, rest_common


def _checked(read, *args):
    try:
        return read(*args)
    except rest_query.InvalidInput as exc:
        raise RestError.invalid_input(*exc.errors) from None


async def _lookups(request: Request, account_id: str, wanted: incident_input.Wanted, policy_id: str | None):
    """The priority, the people to assign directly and the plan of the policy a request names; unknown ids
    are PagerDuty's 400."""
    changes, now = request.app.state.store.incident_changes, request.app.state.clock.now()
    priority = None
    if wanted.priority_id is not None:
        priority = await changes.priority(account_id, wanted.priority_id)
        if priority is None:
            raise RestError.invalid_input("Priority not found")
    direct = None
    if wanted.assignees is not None:
        direct = await changes.users(account_id, wanted.assignees)
        if direct is None:
            raise RestError.invalid_input("Assignee not found")
    plan = await request.app.state.store.people.escalation_plan(account_id, policy_id, now) if policy_id else None
    if policy_id and plan is None and wanted.policy_id is not None:
        raise RestError.invalid_input("Escalation policy not found")
    return priority, direct, plan


def _publish(request: Request, published: list) -> None:
    request.app.state.changes.publish(published)


async def _incident_json(request: Request, account: dict, incident_id: str) -> dict:
    row = await request.app.state.store.incidents.get(account["id"], incident_id)
    (incident,) = await rest_api._incident_objects(request, [row])
    return incident


async def create_incident(request: Request) -> JSONResponse:
    """`POST /incidents` `{"incident": {"type": "incident", "title", "service", …}}` → 201: assigned by the
    escalation policy given or the service's, or to the `assignments` given."""
    account = await rest_common.account(request)
    user = await rest_common.requester(request, account)
    new = _checked(incident_input.new_incident, await rest_common.json_body(request))
    state = request.app.state
    service = await state.store.incident_changes.service(account["id"], new.service_id)
    if service is None:
        raise RestError.invalid_input("Service not found")
    wanted = new.wanted
    priority, direct, plan = await _lookups(request, account["id"], wanted,
                                            wanted.policy_id or service["escalation_policy_id"])
    urgency = wanted.urgency or ("low" if service["urgency_rule"] == "low" else "high")
    try:
        incident_id, published = await state.store.incident_changes.create(
            account["id"], service, new, urgency, priority, user, plan, direct, state.clock.now())
    except OpenIncidentWithKey as exc:
        raise RestError.invalid_input(f"Open incident with key '{exc.args[0]}' already exists") from None
    _publish(request, published)
    return JSONResponse({"incident": await _incident_json(request, account, incident_id)}, status_code=201)


async def apply_changes(request: Request, account: dict, user: dict, row: dict, doc: dict) -> None:
    """`PUT /incidents/{id}`'s people-side fields: reassign (`assignments` or `escalation_policy`),
    `escalation_level`, `priority`, `title`, `urgency`. Nothing asked: nothing done."""
    prepared = await prepare_changes(request, account, row, doc)
    if prepared is not None:
        await commit_changes(request, account, user, row, prepared)


async def prepare_changes(request: Request, account: dict, row: dict, doc: dict) -> tuple | None:
    """What `doc` asks of the incident `row`, checked and its references looked up (PagerDuty's 400 for a bad
    one), before anything is written — `PUT /incidents` prepares every item first; None: nothing asked."""
    wanted = _checked(incident_input.changes, doc)
    if wanted == incident_input.Wanted():
        return None
    policy = rest_objects._json(row.get("escalation_policy"), None) or {}
    policy_id = wanted.policy_id or (policy.get("id") if wanted.level is not None else None)
    priority, direct, plan = await _lookups(request, account["id"], wanted, policy_id)
    return wanted, priority, plan, direct


async def commit_changes(request: Request, account: dict, user: dict, row: dict, prepared: tuple) -> None:
    wanted, priority, plan, direct = prepared
    state = request.app.state
    try:
        published = await state.store.incident_changes.update(account["id"], row, wanted, priority, plan, direct,
                                                              user, state.clock.now())
    except incident_actions.IncidentAlreadyResolved:
        raise RestError.invalid_input("Incident Already Resolved") from None
    except NobodyAtLevel:
        raise RestError.invalid_input(f"Escalation level {wanted.level} has nobody on call") from None
    _publish(request, published)


async def snooze(request: Request) -> JSONResponse:
    """`POST /incidents/{id}/snooze` `{"duration": seconds}` → 201: back to triggered after that long."""
    account = await rest_common.account(request)
    user = await rest_common.requester(request, account)
    row = await rest_api._incident_row(request, account)
    duration = _checked(incident_input.snooze_duration, await rest_common.json_body(request))
    state = request.app.state
    try:
        published = await state.store.incident_changes.snooze(account["id"], row["id"], duration, user,
                                                              state.clock.now())
    except (incident_actions.IncidentAlreadyResolved, NotAcknowledged) as exc:
        raise RestError.invalid_input(exc.reason) from None
    _publish(request, published)
    return JSONResponse({"incident": await _incident_json(request, account, row["id"])}, status_code=201)


async def merge(request: Request) -> JSONResponse:
    """`PUT /incidents/{id}/merge` `{"source_incidents": [{"id", "type": "incident_reference"}]}`: their alerts
    move to this incident and they are resolved."""
    account = await rest_common.account(request)
    user = await rest_common.requester(request, account)
    target = await rest_api._incident_row(request, account)
    sources = _checked(incident_input.merge_sources, await rest_common.json_body(request), target["id"])
    state = request.app.state
    try:
        published = await state.store.incident_changes.merge(account["id"], target, sources, user, state.clock.now())
    except incident_actions.IncidentNotFound:
        raise RestError.not_found() from None
    except incident_actions.IncidentAlreadyResolved:
        raise RestError.invalid_input("Open incidents cannot be merged into a resolved incident") from None
    _publish(request, published)
    base = rest_common.base_url(request)  # rest.json: the answer names the target by reference
    return JSONResponse({"incident": rest_objects.incident_reference(base, target["id"], target["incident_number"],
                                                                     target["title"])})


# ---- notes -----------------------------------------------------------------------------------------------------


def _note(base: str, note: dict) -> dict:
    return {"id": note["id"], "user": rest_objects.reference(base, note["user"]),
            "channel": {"summary": note["channel"]["summary"]}, "content": note["content"],
            "created_at": note["created_at"], "updated_at": note["created_at"]}


async def list_notes(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await rest_api._incident_row(request, account)
    base = rest_common.base_url(request)
    found = await request.app.state.store.notes.for_incident(row["id"])
    return JSONResponse({"notes": rest_common.in_time_zone(request, [_note(base, n) for n in found])})


async def create_note(request: Request) -> JSONResponse:
    """`POST /incidents/{id}/notes` `{"note": {"content"}}` (200, as rest.json says)."""
    account = await rest_common.account(request)
    user = await rest_common.requester(request, account)
    row = await rest_api._incident_row(request, account)
    doc = (await rest_common.json_body(request)).get("note")
    problem = notes.content_error(doc.get("content") if isinstance(doc, dict) else None)
    if problem is not None:
        raise RestError.invalid_input(problem)
    state = request.app.state
    try:
        note, published = await state.store.notes.add(account["id"], row["id"], user, doc["content"], "api",
                                                       state.clock.now())
    except notes.TooManyNotes:
        raise RestError.invalid_input(f"An incident may have at most {notes.MAX_NOTES} notes") from None
    _publish(request, published)
    return JSONResponse({"note": _note(rest_common.base_url(request), note)})


# ---- log entries ----------------------------------------------------------------------------------------------


async def list_log_entries(request: Request) -> JSONResponse:
    """`GET /log_entries`: the account's, newest first; `since`/`until`, `is_overview`, `include[]`."""
    account = await rest_common.account(request)
    query, page = rest_common.parsed(rest_query.log_entry_query, request)
    rows, more, total = await request.app.state.store.log_entries.page(account["id"], page, query)
    entries = await rest_api.log_entries(request, rows)
    return rest_common.listing("log_entries", rest_common.in_time_zone(request, entries), page, more, total)


async def get_log_entry(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await request.app.state.store.log_entries.get(account["id"], request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    (entry,) = rest_common.in_time_zone(request, await rest_api.log_entries(request, [row]))
    return JSONResponse({"log_entry": entry})
