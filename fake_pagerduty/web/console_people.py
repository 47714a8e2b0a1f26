"""The console's people pages (issue 15): who is who (`/users`, `/users/{id}`: contact methods, notification
rules, teams, schedules, a link to their on-call phone), who is on call (`/schedules`, `/schedules/{id}`: now,
next, a rendered week, the layers and overrides) and how incidents escalate (`/escalation_policies`,
`/escalation_policies/{id}`: each level and who it reaches now). Read-only; scoped to the signed-in person's
account (another account's ids are 404 pages)."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from fake_pagerduty.domain import oncall, people_view
from fake_pagerduty.domain.rest_query import Page
from fake_pagerduty.web import sessions
from fake_pagerduty.web.console import _not_found, _render
from fake_pagerduty.web.rest_schedules import find_oncalls, schedule_names

EVERYONE = Page(limit=1000, offset=0, total=False)
AHEAD = timedelta(days=28)  # how far the pages look for someone's next turn


def _found(row: dict | None, what: str) -> dict:
    """The row a detail page shows, or its 404 page (none in the signed-in person's account)."""
    if row is None:
        raise _not_found(what)
    return row


def _now_and_next(schedule: oncall.Schedule, now: datetime) -> tuple[oncall.Entry | None, oncall.Entry | None]:
    """Who the schedule has on call now (their stretch), and the next stretch after it."""
    entries = oncall.final_entries(schedule, now - oncall.horizon(schedule), now + AHEAD)
    current = next((e for e in entries if e.start <= now < e.end), None)
    later = [e for e in entries if e.start >= (current.end if current else now)]
    return current, later[0] if later else None


def _on_call_now(found: list[tuple]) -> dict[str, list[dict]]:
    """Per user: the policies and levels they are on call for."""
    out: dict[str, list[dict]] = {}
    for policy, level, uid, *_ in found:
        out.setdefault(uid, []).append({"policy": policy, "level": level})
    return out


# ---- users ----------------------------------------------------------------------------------------------

async def users(request: Request) -> Response:
    session = sessions.require(request)
    people, now = request.app.state.store.people, request.app.state.clock.now()
    rows, _, _ = await people.users_page(session["account_id"], EVERYONE)
    teams = await people.teams_of([row["id"] for row in rows])
    found, _ = await find_oncalls(people, session["account_id"], now, now)
    on_call = _on_call_now(found)
    return _render(request, "users.html", {"nav": "users", "users": [
        {**row, "role_words": people_view.role(row["role"]), "teams": teams[row["id"]],
         "on_call": on_call.get(row["id"], [])} for row in rows]})


async def user_detail(request: Request) -> Response:
    session = sessions.require(request)
    people, now = request.app.state.store.people, request.app.state.clock.now()
    row = _found(await people.user(session["account_id"], request.path_params["user_id"]), "User")
    methods = (await people.contact_methods([row["id"]]))[row["id"]]
    by_id = {m["id"]: m for m in methods}
    rules = [{**r, "method": by_id.get(r["contact_method_id"]), "kind": people_view.contact_kind(r["contact_method_type"])}
             for r in (await people.notification_rules([row["id"]]))[row["id"]]]
    found, _ = await find_oncalls(people, session["account_id"], now, now + AHEAD)
    mine = [f for f in found if f[2] == row["id"]]
    tz = row["time_zone"]
    return _render(request, "user.html", {
        "nav": "users", "user": row, "role_words": people_view.role(row["role"]),
        "methods": [{**m, "kind": people_view.contact_kind(m["type"])} for m in methods],
        "high": [r for r in rules if r["urgency"] == "high"], "low": [r for r in rules if r["urgency"] == "low"],
        "teams": (await people.teams_of([row["id"]]))[row["id"]],
        "schedules": await people.schedules_of(row["id"]),
        "shifts": [{"policy": policy, "level": level, "schedule_id": sid,
                    "start": people_view.local(start, tz) if start else None,
                    "end": people_view.local(end, tz) if end else None,
                    "now": start is None or start <= now}
                   for policy, level, _, sid, start, end in mine],
    })


# ---- schedules ------------------------------------------------------------------------------------------

def _stretch(entry: oncall.Entry | None, names: dict[str, str], tz: str) -> dict | None:
    if entry is None:
        return None
    return {"user_id": entry.user_id, "name": names.get(entry.user_id, entry.user_id),
            "start": people_view.local(entry.start, tz), "end": people_view.local(entry.end, tz)}


async def schedules(request: Request) -> Response:
    session = sessions.require(request)
    people, now = request.app.state.store.people, request.app.state.clock.now()
    rows, _, _ = await people.schedules_page(session["account_id"], EVERYONE)
    models = await people.schedules([row["id"] for row in rows], now - oncall.MAX_RANGE, now + oncall.MAX_RANGE)
    names = await schedule_names(people, list(models.values()))
    listed = []
    for row in rows:
        current, coming = _now_and_next(models[row["id"]], now)
        listed.append({**row, "now": _stretch(current, names, row["time_zone"]),
                       "next": _stretch(coming, names, row["time_zone"])})
    return _render(request, "schedules.html", {"nav": "schedules", "schedules": listed})


async def schedule_detail(request: Request) -> Response:
    session = sessions.require(request)
    people, now = request.app.state.store.people, request.app.state.clock.now()
    row = _found(await people.schedule_row(session["account_id"], request.path_params["schedule_id"]), "Schedule")
    model = (await people.schedules([row["id"]], now - oncall.MAX_RANGE, now + oncall.MAX_RANGE))[row["id"]]
    names = await schedule_names(people, [model])
    tz = row["time_zone"]
    current, coming = _now_and_next(model, now)
    return _render(request, "schedule.html", {
        "nav": "schedules", "schedule": row, "now": _stretch(current, names, tz), "next": _stretch(coming, names, tz),
        "week": people_view.week(model, now, names),
        "layers": [{"name": layer.name, "turn": people_view.turn_length(layer.rotation_turn_length_seconds),
                    "start": people_view.local(layer.start, tz), "end": people_view.local(layer.end, tz)
                    if layer.end else None, "users": [{"id": uid, "name": names.get(uid, uid)} for uid in layer.user_ids],
                    "restrictions": [people_view.restriction(r) for r in layer.restrictions]}
                   for layer in reversed(model.layers)],  # the layer that wins first, as PagerDuty shows them
        "overrides": [{"name": names.get(o.user_id, o.user_id), "user_id": o.user_id,
                       "start": people_view.local(o.start, tz), "end": people_view.local(o.end, tz)}
                      for o in model.overrides if o.end > now],
        "policies": (await people.policies_using([row["id"]]))[row["id"]],
    })


# ---- escalation policies --------------------------------------------------------------------------------

async def escalation_policies(request: Request) -> Response:
    session = sessions.require(request)
    people = request.app.state.store.people
    rows = await people.policies(session["account_id"])
    services = await people.policy_services([row["id"] for row in rows])
    return _render(request, "escalation_policies.html", {"nav": "escalation_policies", "policies": [
        {**row, "levels": len(await people.rules(row["id"])), "services": services[row["id"]]} for row in rows]})


async def escalation_policy_detail(request: Request) -> Response:
    session = sessions.require(request)
    people, now = request.app.state.store.people, request.app.state.clock.now()
    row = _found(await people.policy_row(session["account_id"], request.path_params["policy_id"]), "Escalation policy")
    plan = await people.escalation_plan(session["account_id"], row["id"], now)
    rules = await people.rules(row["id"])
    targets = [t for rule in rules for t in rule.targets]
    users = await people.existing(session["account_id"], "users",
                                  [t.id for t in targets if t.type == "user_reference"])
    schedules = await people.existing(session["account_id"], "schedules",
                                      [t.id for t in targets if t.type == "schedule_reference"])
    reached = {level.rule_id: level.users for level in (plan.levels if plan else ())}  # matched by id
    levels = [{"number": number, "delay": rule.escalation_delay_in_minutes,
               "targets": [{"kind": "schedule" if t.type == "schedule_reference" else "user", "id": t.id,
                            "name": (schedules if t.type == "schedule_reference" else users).get(t.id, {}).get("name", t.id)}
                           for t in rule.targets],
               "on_call": [{"id": u.id, "name": u.name} for u in reached.get(rule.id, ())]}
              for number, rule in enumerate(rules, start=1)]
    return _render(request, "escalation_policy.html", {
        "nav": "escalation_policies", "policy": row, "levels": levels,
        "services": (await people.policy_services([row["id"]]))[row["id"]],
        "team": (await people.existing(session["account_id"], "teams", [row["team_id"]] if row["team_id"] else [])
                 ).get(row["team_id"])})
