"""`include[]` for the people in incidents, services and log entries (issue 17): `assignees`, `acknowledgers` and
`agents` turn user references into full users (agents: services too, through `services`), `escalation_policies`
the policy reference into the full policy, `teams` team references into full teams. References to anything else
stay as they are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from fake_pagerduty.domain import people_objects
from fake_pagerduty.web import rest_common, rest_people, rest_policies


async def _users(request: Request, ids: list[str]) -> dict[str, dict]:
    people, account_id = request.app.state.store.people, request.state.account["id"]
    rows = [row for row in [await people.user(account_id, user_id) for user_id in dict.fromkeys(ids)] if row]
    return {user["id"]: user for user in await rest_people.user_objects(request, rows)}


def _user_slots(incident: dict, include: tuple[str, ...]) -> list[tuple[dict, str]]:
    """(holder, key) of each user reference an `include[]` value asks to expand in an incident."""
    slots = []
    if "assignees" in include:
        slots += [(a, "assignee") for a in incident.get("assignments") or []]
    if "acknowledgers" in include:
        slots += [(a, "acknowledger") for a in incident.get("acknowledgements") or []]
    if "agents" in include:
        slots.append((incident, "last_status_change_by"))
    return [(holder, key) for holder, key in slots
            if isinstance(holder.get(key), dict) and holder[key].get("type") == "user_reference"]


async def expand_people(request: Request, incidents: list[dict], include: tuple[str, ...],
                        services: Callable[[Request, list[dict], str], Awaitable[None]]) -> None:
    slots = [slot for incident in incidents for slot in _user_slots(incident, include)]
    if slots:
        users = await _users(request, [holder[key]["id"] for holder, key in slots])
        for holder, key in slots:
            holder[key] = users.get(holder[key]["id"], holder[key])
    if "agents" in include:  # a service that changed the status (a timeout): the full service
        await services(request, [i for i in incidents if (i.get("last_status_change_by") or {}).get("type")
                                 == "service_reference"], "last_status_change_by")
    if "escalation_policies" in include:
        await rest_policies.expand_policies(request, incidents)
    if "teams" in include:
        await expand_teams(request, incidents)


async def expand_teams(request: Request, objects: list[dict]) -> None:
    """`include[]=teams` (incidents, services, log entries): each team reference becomes the full team."""
    people, account_id = request.app.state.store.people, request.state.account["id"]
    base = rest_common.base_url(request)
    full = {}
    for team_id in dict.fromkeys(t["id"] for o in objects for t in o.get("teams") or []):
        row = await people.team(account_id, team_id)
        if row is not None:
            full[team_id] = people_objects.team(base, row)
    for item in objects:
        item["teams"] = [full.get(team["id"], team) for team in item.get("teams") or []]
