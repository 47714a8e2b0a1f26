"""REST API, schedules and on-calls (issue 15): schedules with their layers, final schedule and overrides
rendered over `since`/`until`, overrides, a schedule's users, and `GET /oncalls` computed from escalation
policies and schedules at the sandbox clock (`domain/oncall.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import oncall, people_input, people_objects, rest_query
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.errors import RestError
from fake_pagerduty.web import rest_common
from fake_pagerduty.web.rest_people import body_of, deletion, invalid, listing_in_memory, user_objects
from fake_pagerduty.web.rest_policies import expand_policies

DEFAULT_SPAN = timedelta(days=7)  # a range with only `since` or only `until` spans a week


def _window(request: Request, *, default_span: timedelta = DEFAULT_SPAN) -> tuple[datetime, datetime]:
    try:
        return people_input.window(request.query_params, request.app.state.clock.now(), default_span=default_span)
    except rest_query.InvalidInput as exc:
        raise invalid(exc) from None


def _asked_range(request: Request) -> bool:
    return bool(request.query_params.get("since") or request.query_params.get("until"))


async def _schedule_row(request: Request, account: dict) -> dict:
    row = await request.app.state.store.people.schedule_row(account["id"], request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    return row


async def _check_users(request: Request, account: dict, user_ids: list[str]) -> None:
    found = await request.app.state.store.people.existing(account["id"], "users", user_ids)
    missing = [uid for uid in dict.fromkeys(user_ids) if uid not in found]
    if missing:
        raise RestError.invalid_input(*(f"User {uid} not found" for uid in missing))


async def schedule_names(people, schedules: list[oncall.Schedule]) -> dict[str, str]:
    """The names of the people in the schedules' layers and overrides, by id."""
    ids = [uid for s in schedules for layer in s.layers for uid in layer.user_ids]
    ids += [o.user_id for s in schedules for o in s.overrides]
    return {uid: u["name"] for uid, u in (await people.users_by_ids(ids)).items()}


async def schedule_object(request: Request, row: dict, *, since: datetime | None = None,
                          until: datetime | None = None, overflow: bool = False) -> dict:
    """A schedule with its layers; rendered (entries, final schedule, overrides) when a range is given."""
    people, base = request.app.state.store.people, rest_common.base_url(request)
    reach = oncall.MAX_RANGE
    at = request.app.state.clock.now()
    model = (await people.schedules([row["id"]], (since or at) - reach, (until or at) + reach))[row["id"]]
    names = await schedule_names(people, [model])
    rendered = since is not None and until is not None

    def clip(entries: list[oncall.Entry]) -> list[oncall.Entry]:
        return entries if overflow else [
            oncall.Entry(max(e.start, since), min(e.end, until), e.user_id) for e in entries]

    def layer_entries(layer: oncall.Layer) -> list[oncall.Entry] | None:
        if not rendered:
            return None
        if not overflow:
            return oncall.layer_entries(layer, model.time_zone, since, until)
        wide = oncall.layer_entries(layer, model.time_zone, since - oncall.horizon(model), until + oncall.horizon(model))
        return [e for e in wide if e.start < until and e.end > since]

    layers = [people_objects.schedule_layer(base, layer, names, layer_entries(layer), since, until)
              for layer in model.layers]
    final = clip(oncall.stretches(model, since, until)) if rendered else None
    overrides = clip(oncall.stretches(model, since, until, overrides_only=True)) if rendered else None
    users = sorted({uid for layer in model.layers for uid in layer.user_ids}, key=lambda uid: names.get(uid, ""))
    return people_objects.schedule(
        base, row, layers=layers,
        final=people_objects.subschedule(base, "Final Schedule", final, names, since, until),
        overrides=people_objects.subschedule(base, "Overrides", overrides, names, since, until),
        users=[{"id": uid, "name": names.get(uid)} for uid in users],
        policies=(await people.policies_using([row["id"]]))[row["id"]])


# ---- schedules ------------------------------------------------------------------------------------------

async def list_schedules(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    page = rest_common.page(request)
    people = request.app.state.store.people
    rows, more, total = await people.schedules_page(account["id"], page, request.query_params.get("query") or None)
    users = await people.schedule_users([row["id"] for row in rows])
    using = await people.policies_using([row["id"] for row in rows])
    base = rest_common.base_url(request)
    items = [people_objects.schedule(base, row, users=users[row["id"]], policies=using[row["id"]]) for row in rows]
    await _next_oncall_for_user(request, items)
    return rest_common.listing("schedules", rest_common.in_time_zone(request, items), page, more, total)


async def _next_oncall_for_user(request: Request, items: list[dict]) -> None:
    """`include_next_oncall_for_user=<user id>`: each schedule's next stretch of that user on call (the one under
    way included), looked for up to 93 days ahead; none found, none shown."""
    user_id = request.query_params.get("include_next_oncall_for_user")
    if not user_id:
        return
    people, now = request.app.state.store.people, request.app.state.clock.now()
    models = await people.schedules([item["id"] for item in items], now - oncall.MAX_RANGE, now + oncall.MAX_RANGE)
    names = await people.users_by_ids([user_id])
    base = rest_common.base_url(request)
    for item in items:
        entry = next((e for e in oncall.final_entries(models[item["id"]], now, now + oncall.MAX_RANGE)
                      if e.user_id == user_id), None)
        if entry is not None:
            whole = oncall.stretches(models[item["id"]], entry.start, entry.start)  # not cut at now
            entry = whole[0] if whole else entry
            item["next_oncall_for_user"] = {"start": iso(entry.start), "end": iso(entry.end), "user": people_objects.user_ref(
                base, user_id, names.get(user_id, {}).get("name"))}


async def get_schedule(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await _schedule_row(request, account)
    since = until = None
    if _asked_range(request):
        since, until = _window(request)
    overflow = people_input.flag(request.query_params, "overflow")
    schedule = await schedule_object(request, row, since=since, until=until, overflow=overflow)
    await _next_oncall_for_user(request, [schedule])
    (schedule,) = rest_common.in_time_zone(request, [schedule])
    return JSONResponse({"schedule": schedule})


async def create_schedule(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    fields = await body_of(request, people_input.schedule, creating=True)
    await _check_users(request, account, [uid for layer in fields["schedule_layers"] for uid in layer["users"]])
    people = request.app.state.store.people
    schedule_id = await people.create_schedule(account["id"], fields, request.app.state.clock.now())
    row = await people.schedule_row(account["id"], schedule_id)
    return JSONResponse({"schedule": await schedule_object(request, row)}, status_code=201)


async def update_schedule(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    await _schedule_row(request, account)
    fields = await body_of(request, people_input.schedule, creating=False)
    await _check_users(request, account, [uid for layer in fields.get("schedule_layers", []) for uid in layer["users"]])
    people = request.app.state.store.people
    await people.update_schedule(account["id"], request.path_params["id"], fields, request.app.state.clock.now())
    return JSONResponse({"schedule": await schedule_object(request, await _schedule_row(request, account))})


async def delete_schedule(request: Request) -> Response:
    return await deletion(request, request.app.state.store.people.delete_schedule)


async def list_overrides(request: Request) -> JSONResponse:
    """The overrides overlapping `since`–`until` (both required, as at PagerDuty)."""
    account = await rest_common.account(request)
    row = await _schedule_row(request, account)
    missing = [f"{name.capitalize()} can't be blank" for name in ("since", "until")
               if not request.query_params.get(name)]
    if missing:
        raise RestError.invalid_input(*missing)
    since, until = _window(request)
    people = request.app.state.store.people
    rows = await people.overrides(row["id"], since, until)
    names = await people.users_by_ids([r["user_id"] for r in rows])
    base = rest_common.base_url(request)
    return JSONResponse({"overrides": [
        people_objects.override(base, r, names.get(r["user_id"], {}).get("name")) for r in rows]})


async def create_overrides(request: Request) -> JSONResponse:
    """Each override created (201) or refused (400, its `errors` saying why), as PagerDuty answers."""
    account = await rest_common.account(request)
    row = await _schedule_row(request, account)
    items = await body_of(request, people_input.overrides)
    people = request.app.state.store.people
    names = await people.existing(account["id"], "users", [i["user_id"] for i in items])
    made = iter(await people.add_overrides(row["id"], [i for i in items if i["user_id"] in names],
                                           request.app.state.clock.now()))
    base = rest_common.base_url(request)
    answer = []
    for item in items:
        if item["user_id"] in names:
            answer.append({"status": 201, "override": people_objects.override(
                base, next(made), names[item["user_id"]]["name"])})
        else:
            answer.append({"status": 400, "errors": [f"User {item['user_id']} not found"], "override": {
                "start": item["start"], "end": item["end"],
                "user": people_objects.user_ref(base, item["user_id"], None)}})
    return JSONResponse(answer, status_code=201)


async def schedule_users(request: Request) -> JSONResponse:
    """Who the schedule has on call over `since`–`until` (final schedule); without a range, everyone on its
    layers."""
    account = await rest_common.account(request)
    row = await _schedule_row(request, account)
    people = request.app.state.store.people
    if _asked_range(request):
        since, until = _window(request)
        model = (await people.schedules([row["id"]], since - oncall.MAX_RANGE, until + oncall.MAX_RANGE))[row["id"]]
        user_ids = [e.user_id for e in oncall.final_entries(model, since, until)]
    else:
        user_ids = (await people.schedule_users([row["id"]]))[row["id"]]
        user_ids = [u["id"] for u in user_ids]
    rows = sorted((await people.users_by_ids(user_ids)).values(), key=lambda u: (u["name"].lower(), u["id"]))
    return JSONResponse({"users": await user_objects(request, rows)})


# ---- on-calls -------------------------------------------------------------------------------------------

async def find_oncalls(people, account_id: str, since: datetime, until: datetime,
                       policy_ids: tuple[str, ...] = (), schedule_ids: set[str] | frozenset = frozenset()
                       ) -> tuple[list[tuple], dict]:
    """On-calls over [since, until] (the one under way when they are equal): `(policy row, level, user id,
    schedule id or None, start, end)` in policy name, level and time order, and the schedules they came from.
    With `schedule_ids`, only on-calls through those schedules."""
    policies = await people.policies(account_id, policy_ids)
    rules = {p["id"]: await people.rules(p["id"]) for p in policies}
    wanted = [t.id for rs in rules.values() for r in rs for t in r.targets if t.type == "schedule_reference"]
    schedules = await people.schedules(wanted, since - oncall.MAX_RANGE, until + oncall.MAX_RANGE)
    found: list[tuple] = []
    for policy in policies:
        for level, rule in enumerate(rules[policy["id"]], start=1):
            for target in rule.targets:
                if target.type == "user_reference" and not schedule_ids:
                    found.append((policy, level, target.id, None, None, None))
                elif target.type == "schedule_reference" and target.id in schedules and (
                        not schedule_ids or target.id in schedule_ids):
                    found += [(policy, level, e.user_id, target.id, e.start, e.end)
                              for e in oncall.stretches(schedules[target.id], since, until)]
    found.sort(key=lambda f: (f[0]["name"].lower(), f[0]["id"], f[1], f[4] or since, f[2]))
    return found, schedules


async def list_oncalls(request: Request) -> JSONResponse:
    """On-calls over `since`–`until` (both default to now: who is on call now), per policy, level and user,
    filtered by `user_ids[]`, `escalation_policy_ids[]`, `schedule_ids[]`; `earliest=true` keeps each
    (policy, level, user)'s first."""
    account = await rest_common.account(request)
    page = rest_common.page(request)
    params = request.query_params
    since, until = _window(request, default_span=timedelta(0))
    user_ids = set(rest_query.values(params, "user_ids"))
    people = request.app.state.store.people
    found, schedules = await find_oncalls(people, account["id"], since, until,
                                          tuple(rest_query.values(params, "escalation_policy_ids")),
                                          set(rest_query.values(params, "schedule_ids")))
    found = [f for f in found if not user_ids or f[2] in user_ids]
    if people_input.flag(params, "earliest"):
        firsts: dict[tuple, tuple] = {}
        for f in found:
            firsts.setdefault((f[0]["id"], f[1], f[2]), f)
        found = list(firsts.values())
    names = await people.users_by_ids([f[2] for f in found])
    base = rest_common.base_url(request)
    items = [people_objects.oncall(base, policy, level, uid, names.get(uid, {}).get("name"),
                                   {"id": sid, "name": schedules[sid].name} if sid else None, start, end)
             for policy, level, uid, sid, start, end in found if uid in names]
    await _expand_oncalls(request, account, items)
    return listing_in_memory("oncalls", rest_common.in_time_zone(request, items), page)


async def _expand_oncalls(request: Request, account: dict, items: list[dict]) -> None:
    """`include[]=users|escalation_policies|schedules`: those references become the full objects."""
    wanted = rest_common.includes(request)
    people = request.app.state.store.people
    if "users" in wanted:
        rows = (await people.users_by_ids([o["user"]["id"] for o in items])).values()
        full = {user["id"]: user for user in await user_objects(request, list(rows))}
        for item in items:
            item["user"] = full.get(item["user"]["id"], item["user"])
    if "escalation_policies" in wanted:
        await expand_policies(request, items)
    if "schedules" in wanted:
        ids = list(dict.fromkeys(o["schedule"]["id"] for o in items if o["schedule"]))
        rows = [await people.schedule_row(account["id"], sid) for sid in ids]
        full = {row["id"]: await schedule_object(request, row) for row in rows if row}
        for item in items:
            if item["schedule"]:
                item["schedule"] = full.get(item["schedule"]["id"], item["schedule"])
