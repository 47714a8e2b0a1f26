"""REST API, escalation policies (issue 15): list, show, create, update, delete — levels in order with their
targets (users and schedules), the services that follow the policy, its team."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import people_input, people_objects, rest_query
from fake_pagerduty.errors import RestError
from fake_pagerduty.store.records import Conflict
from fake_pagerduty.web import rest_common
from fake_pagerduty.web.rest_people import body_of, deletion, invalid

SORTS = {"name": "asc", "name:asc": "asc", "name:desc": "desc"}


async def policy_objects(request: Request, account: dict, rows: list[dict]) -> list[dict]:
    people, base = request.app.state.store.people, rest_common.base_url(request)
    rules = {row["id"]: await people.rules(row["id"]) for row in rows}
    targets = [t for rs in rules.values() for r in rs for t in r.targets]
    users = await people.existing(account["id"], "users", [t.id for t in targets if t.type == "user_reference"])
    schedules = await people.existing(account["id"], "schedules",
                                      [t.id for t in targets if t.type == "schedule_reference"])
    names = {**users, **schedules}
    services = await people.policy_services([row["id"] for row in rows])
    teams = await people.existing(account["id"], "teams", [row["team_id"] for row in rows if row["team_id"]])
    return [people_objects.escalation_policy(base, row, [
        {"id": r.id, "escalation_delay_in_minutes": r.escalation_delay_in_minutes,
         "targets": [people_objects.target(base, t.type, t.id, names[t.id]["name"]) for t in r.targets
                     if t.id in names]} for r in rules[row["id"]]], services[row["id"]], teams.get(row["team_id"]))
        for row in rows]


async def policy_of(request: Request, account: dict, doc: dict, errors: list[str]) -> str | None:
    """A service body's `escalation_policy` reference: its id, when it names one of the account's policies
    (None when it names none: the account's default policy then)."""
    ref = doc.get("escalation_policy")
    if ref is None:
        return None
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), str) or not ref["id"]:
        errors.append("Escalation policy must be a reference with an id")
        return None
    if not await request.app.state.store.people.existing(account["id"], "escalation_policies", [ref["id"]]):
        errors.append(f"Escalation policy {ref['id']} not found")
        return None
    return ref["id"]


async def expand_policies(request: Request, objects: list[dict]) -> None:
    """`include[]=escalation_policies` (services): each escalation policy reference becomes the full policy."""
    account = request.state.account
    people = request.app.state.store.people
    rows = [row for row in (await people.policies(account["id"], tuple(
        {o["escalation_policy"]["id"] for o in objects if o.get("escalation_policy")})))]
    full = {policy["id"]: policy for policy in await policy_objects(request, account, rows)}
    for item in objects:
        if item.get("escalation_policy") and item["escalation_policy"]["id"] in full:
            item["escalation_policy"] = full[item["escalation_policy"]["id"]]


async def _policy_row(request: Request, account: dict) -> dict:
    row = await request.app.state.store.people.policy_row(account["id"], request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    return row


async def _check_references(request: Request, account: dict, fields: dict) -> None:
    """Every user, schedule, team and service the policy names must be the account's."""
    people, errors = request.app.state.store.people, []
    targets = [t for rule in fields.get("escalation_rules", []) for t in rule["targets"]]
    for kind, wanted in (("users", [t["id"] for t in targets if t["type"] == "user_reference"]),
                         ("schedules", [t["id"] for t in targets if t["type"] == "schedule_reference"]),
                         ("teams", fields.get("teams", [])), ("services", fields.get("services", []))):
        found = await people.existing(account["id"], kind, wanted)
        errors += [f"{kind[:-1].capitalize()} {object_id} not found" for object_id in dict.fromkeys(wanted)
                   if object_id not in found]
    if errors:
        raise RestError.invalid_input(*errors)


async def list_policies(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    page = rest_common.page(request)
    params = request.query_params
    sort = params.get("sort_by") or "name"
    if sort not in SORTS:
        raise RestError.invalid_input("Sort by must be one of name, name:asc, name:desc")
    rows, more, total = await request.app.state.store.people.policies_page(
        account["id"], page, params.get("query") or None, tuple(rest_query.values(params, "user_ids")),
        tuple(rest_query.values(params, "team_ids")), descending=SORTS[sort] == "desc")
    policies = await policy_objects(request, account, rows)
    await _expand(request, account, policies)
    return rest_common.listing("escalation_policies", policies, page, more, total)


async def get_policy(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    policies = await policy_objects(request, account, [await _policy_row(request, account)])
    await _expand(request, account, policies)
    return JSONResponse({"escalation_policy": policies[0]})


async def _expand(request: Request, account: dict, policies: list[dict]) -> None:
    """`include[]=services|teams|targets`: those references in the policies become the whole objects."""
    from fake_pagerduty.web import rest_api, rest_people, rest_schedules  # they use this module

    wanted, store = rest_common.includes(request), request.app.state.store
    if "services" in wanted:
        rows = [await store.services.get(account["id"], sid)
                for sid in dict.fromkeys(s["id"] for p in policies for s in p["services"])]
        full = {service["id"]: service for service in await rest_api.service_objects(request, [r for r in rows if r])}
        for policy in policies:
            policy["services"] = [full.get(s["id"], s) for s in policy["services"]]
    if "teams" in wanted:
        base = rest_common.base_url(request)
        for policy in policies:
            policy["teams"] = [people_objects.team(base, row) for row in
                               [await store.people.team(account["id"], t["id"]) for t in policy["teams"]] if row]
    if "targets" in wanted:
        targets = [t for p in policies for r in p["escalation_rules"] for t in r["targets"]]
        users = {u["id"]: u for u in await rest_people.user_objects(request, list((await store.people.users_by_ids(
            [t["id"] for t in targets if t["type"] == "user_reference"])).values()))}
        schedules = {}
        for sid in dict.fromkeys(t["id"] for t in targets if t["type"] == "schedule_reference"):
            row = await store.people.schedule_row(account["id"], sid)
            if row:
                schedules[sid] = await rest_schedules.schedule_object(request, row)
        for policy in policies:
            for rule in policy["escalation_rules"]:
                rule["targets"] = [users.get(t["id"], t) if t["type"] == "user_reference" else schedules.get(t["id"], t)
                                   for t in rule["targets"]]


async def create_policy(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    fields = await body_of(request, people_input.escalation_policy, creating=True)
    await _check_references(request, account, fields)
    people = request.app.state.store.people
    try:
        policy_id = await people.create_policy(account["id"], fields, request.app.state.clock.now())
    except Conflict as exc:
        raise invalid(exc) from None
    (policy,) = await policy_objects(request, account, [await people.policy_row(account["id"], policy_id)])
    return JSONResponse({"escalation_policy": policy}, status_code=201)


async def update_policy(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    await _policy_row(request, account)
    fields = await body_of(request, people_input.escalation_policy, creating=False)
    await _check_references(request, account, fields)
    try:
        await request.app.state.store.people.update_policy(account["id"], request.path_params["id"], fields,
                                                           request.app.state.clock.now())
    except Conflict as exc:
        raise invalid(exc) from None
    (policy,) = await policy_objects(request, account, [await _policy_row(request, account)])
    return JSONResponse({"escalation_policy": policy})


async def delete_policy(request: Request) -> Response:
    return await deletion(request, request.app.state.store.people.delete_policy)
