"""The people REST API (issue 15): users, /users/me, contact methods, notification rules, teams, schedules and
overrides, escalation policies, on-calls, priorities, abilities, vendors — exact statuses and bodies, paging,
include[], 404s and PagerDuty's 400s, objects checked against rest.json's schemas, the REST rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fake_pagerduty import seed_people
from fake_pagerduty.domain.clock import iso
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.oauth_helpers import code, token_form
from tests.fake_pagerduty.rest_helpers import FROM_DANA
from tests.openapi import component_validator

BASE = "http://sandbox.test"
NOT_FOUND = {"error": {"message": "Not Found", "code": 2100}}
DANA, SAM, PRIYA = seed_people.DANA, seed_people.SAM, seed_people.PRIYA


def invalid(*errors: str) -> dict:
    return {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": list(errors)}}


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def check(component: str, instance: dict) -> None:
    """`instance` is a valid rest.json `component` (nulls aside: see test_rest_schemas.py)."""
    errors = sorted(component_validator("rest.json", component).iter_errors(_without_nulls(instance)), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


async def get(sandbox, url: str, status: int = 200, headers: dict | None = None) -> dict:
    answer = await sandbox.get(url, headers=headers or REST_HEADERS)
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else {}


def ref(kind: str, object_id: str, summary: str, page: str | None = None) -> dict:
    collection = {"user": "users", "schedule": "schedules", "team": "teams", "service": "services",
                  "escalation_policy": "escalation_policies"}[kind]
    return {"id": object_id, "type": f"{kind}_reference", "summary": summary,
            "self": f"{BASE}/api/{collection}/{object_id}", "html_url": f"{BASE}/{page or collection}/{object_id}"}


def seed_day() -> datetime:
    return seed_people.seed_day(datetime.now(UTC))


# ---- users ----------------------------------------------------------------------------------------------

async def test_users_are_listed_by_name_with_references_and_validate(sandbox):
    doc = await get(sandbox, "/api/users")
    assert [(u["id"], u["name"], u["email"]) for u in doc["users"]] == [
        (DANA, "Dana Demo", "demo@acme.test"), (PRIYA, "Priya Patel", "priya@acme.test"),
        (SAM, "Sam Rivera", "sam@acme.test")]
    assert (doc["limit"], doc["offset"], doc["more"], doc["total"]) == (25, 0, False, None)
    dana = doc["users"][0]
    assert {k: dana[k] for k in ("type", "summary", "self", "html_url", "role", "time_zone", "job_title")} == {
        "type": "user", "summary": "Dana Demo", "self": f"{BASE}/api/users/{DANA}", "html_url": f"{BASE}/users/{DANA}",
        "role": "owner", "time_zone": "America/New_York", "job_title": "Site Reliability Engineer"}
    assert [m["type"] for m in dana["contact_methods"]] == [
        "email_contact_method_reference", "phone_contact_method_reference", "sms_contact_method_reference",
        "push_notification_contact_method_reference"]
    assert dana["teams"] == [ref("team", "PTEAM00", "Acme Web Team")]
    for user in doc["users"]:
        check("User", user)


async def test_users_query_team_ids_and_paging(sandbox):
    assert [u["name"] for u in (await get(sandbox, "/api/users?query=SAM"))["users"]] == ["Sam Rivera"]
    assert [u["name"] for u in (await get(sandbox, "/api/users?query=priya@acme"))["users"]] == ["Priya Patel"]
    assert len((await get(sandbox, "/api/users?team_ids[]=PTEAM00"))["users"]) == 3
    assert (await get(sandbox, "/api/users?team_ids[]=PNOTEAM"))["users"] == []
    first = await get(sandbox, "/api/users?limit=2&total=true")
    assert ([u["name"] for u in first["users"]], first["more"], first["total"]) == (
        ["Dana Demo", "Priya Patel"], True, 3)
    rest = await get(sandbox, "/api/users?limit=2&offset=2")
    assert ([u["name"] for u in rest["users"]], rest["more"]) == (["Sam Rivera"], False)
    assert await get(sandbox, "/api/users?limit=x", 400) == invalid("Limit must be an integer")


async def test_include_expands_contact_methods_notification_rules_and_teams(sandbox):
    doc = await get(sandbox, f"/api/users/{DANA}?include[]=contact_methods&include[]=notification_rules"
                             "&include[]=teams")
    methods = doc["user"]["contact_methods"]
    assert [(m["type"], m["address"]) for m in methods] == [
        ("email_contact_method", "demo@acme.test"), ("phone_contact_method", "5550100001"),
        ("sms_contact_method", "5550100001"), ("push_notification_contact_method", "dana-phone")]
    rules = doc["user"]["notification_rules"]
    assert [(r["urgency"], r["start_delay_in_minutes"], r["contact_method"]["type"]) for r in rules] == [
        ("high", 0, "push_notification_contact_method_reference"), ("high", 0, "sms_contact_method_reference"),
        ("high", 5, "phone_contact_method_reference"), ("low", 0, "email_contact_method_reference")]
    assert doc["user"]["teams"][0]["type"] == "team"  # the whole answer: checked by the client's hook, spec holes named
    for method, schema in zip(methods, ("EmailContactMethod", "PhoneContactMethod", "PhoneContactMethod",
                                        "PushContactMethod"), strict=True):
        check(schema, method)
    for rule in rules:
        check("NotificationRule", rule)
    assert await get(sandbox, f"/api/users/{DANA}?include[]=bogus", 400) == invalid(
        "Include[] 'bogus' is not one of: contact_methods, notification_rules, teams, subdomains, calendar_urls")


async def test_a_user_its_contact_methods_and_rules_and_404s(sandbox):
    assert (await get(sandbox, f"/api/users/{SAM}"))["user"]["name"] == "Sam Rivera"
    assert await get(sandbox, "/api/users/PNOBODY", 404) == NOT_FOUND
    methods = (await get(sandbox, f"/api/users/{SAM}/contact_methods"))["contact_methods"]
    assert [(m["id"], m["label"]) for m in methods] == [
        ("PSAMRCE", "Default"), ("PSAMRCP", "Mobile"), ("PSAMRCS", "Mobile"), ("PSAMRCN", "Sam's phone")]
    high = (await get(sandbox, f"/api/users/{SAM}/notification_rules"))["notification_rules"]
    assert [(r["id"], r["contact_method"]["type"]) for r in high] == [
        ("PSAMRRN", "push_notification_contact_method_reference"), ("PSAMRRS", "sms_contact_method_reference"),
        ("PSAMRRP", "phone_contact_method_reference")]
    low = (await get(sandbox, f"/api/users/{SAM}/notification_rules?urgency=low"))["notification_rules"]
    assert [r["id"] for r in low] == ["PSAMRRE"]
    assert len((await get(sandbox, f"/api/users/{SAM}/notification_rules?urgency=all"))["notification_rules"]) == 4
    assert await get(sandbox, f"/api/users/{SAM}/notification_rules?urgency=loud", 400) == invalid(
        "Urgency must be one of high, low, all")
    assert await get(sandbox, "/api/users/PNOBODY/contact_methods", 404) == NOT_FOUND


async def test_one_contact_method_one_rule_team_members_and_a_vendor(sandbox):
    method = (await get(sandbox, f"/api/users/{SAM}/contact_methods/PSAMRCS"))["contact_method"]
    assert (method["type"], method["address"], method["country_code"]) == ("sms_contact_method", "5550100002", 1)
    assert method["self"] == f"{BASE}/api/users/{SAM}/contact_methods/PSAMRCS"
    check("PhoneContactMethod", method)
    assert await get(sandbox, f"/api/users/{DANA}/contact_methods/PSAMRCS", 404) == NOT_FOUND  # Sam's, not Dana's
    rule = (await get(sandbox, f"/api/users/{SAM}/notification_rules/PSAMRRP?include[]=contact_methods"))[
        "notification_rule"]
    assert (rule["start_delay_in_minutes"], rule["contact_method"]["type"], rule["contact_method"]["address"]) == (
        5, "phone_contact_method", "5550100002")
    assert await get(sandbox, f"/api/users/{SAM}/notification_rules/PNORULE", 404) == NOT_FOUND
    members = await get(sandbox, "/api/teams/PTEAM00/members?total=true")
    assert [(m["user"]["summary"], m["role"]) for m in members["members"]] == [
        ("Dana Demo", "manager"), ("Priya Patel", "responder"), ("Sam Rivera", "responder")]
    assert members["total"] == 3
    assert await get(sandbox, "/api/teams/PNOTEAM/members", 404) == NOT_FOUND
    vendor = (await get(sandbox, "/api/vendors/PDEMOMN"))["vendor"]
    assert (vendor["id"], vendor["name"]) == ("PDEMOMN", "Demo Monitor")
    assert await get(sandbox, "/api/vendors/PNOVEND", 404) == NOT_FOUND


async def user_token(sandbox) -> str:
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox, scope="incidents.read")))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def test_users_me_needs_a_user_token(sandbox):
    assert await get(sandbox, "/api/users/me", 400) == {"error": {
        "message": "Because this request was made using an account-level access token, we were unable to determine"
                   " the user's identity. Please use a user-level token.", "code": 2100}}
    token = await user_token(sandbox)
    bearer = {"Accept": REST_HEADERS["Accept"], "Authorization": f"Bearer {token}"}
    me = await get(sandbox, "/api/users/me?include[]=contact_methods", headers=bearer)
    assert (me["user"]["id"], me["user"]["email"]) == (DANA, "demo@acme.test")
    assert me["user"]["contact_methods"][0]["address"] == "demo@acme.test"


async def test_scoped_tokens_need_the_people_scopes(sandbox):
    scopes = ["incidents.read", "users.read", "users:contact_methods.read"]
    assert (await sandbox.put("/_sandbox/oauth-apps/demo-monitor-oauth", json={"scopes": scopes})).status_code == 200
    answer = await sandbox.post("/oauth/token", data=token_form(await code(
        sandbox, scope="users.read users:contact_methods.read")))
    assert answer.status_code == 200, answer.text
    bearer = {"Accept": REST_HEADERS["Accept"], "Authorization": f"Bearer {answer.json()['access_token']}"}
    assert len((await get(sandbox, f"/api/users/{SAM}/contact_methods", headers=bearer))["contact_methods"]) == 4
    assert len((await get(sandbox, "/api/users", headers=bearer))["users"]) == 3
    refused = await sandbox.get("/api/oncalls", headers=bearer)
    assert (refused.status_code, refused.json()) == (403, {"error": {
        "message": "Token missing required scopes", "code": 0, "required_scopes": "oncalls.read"}})


async def test_create_update_and_delete_a_user(sandbox):
    body = {"user": {"type": "user", "name": "Lee Chen", "email": "lee@acme.test", "time_zone": "Asia/Tokyo",
                     "role": "limited_user", "job_title": "SRE"}}
    refused = await sandbox.post("/api/users", headers=REST_HEADERS, json=body)
    assert (refused.status_code, refused.json()) == (400, {"error": {
        "message": "You must specify a user's email address in the \"From\" header to perform this action",
        "code": 2016}})
    made = await sandbox.post("/api/users", headers=FROM_DANA, json=body)
    assert made.status_code == 201, made.text
    lee = made.json()["user"]
    assert {k: lee[k] for k in ("name", "email", "time_zone", "role", "job_title", "color")} == {
        "name": "Lee Chen", "email": "lee@acme.test", "time_zone": "Asia/Tokyo", "role": "limited_user",
        "job_title": "SRE", "color": "green"}
    assert [m["type"] for m in lee["contact_methods"]] == ["email_contact_method_reference"]
    assert len(lee["notification_rules"]) == 1
    check("User", lee)
    again = await sandbox.post("/api/users", headers=FROM_DANA, json=body)
    assert (again.status_code, again.json()) == (400, invalid("Email has already been taken"))
    bad = await sandbox.post("/api/users", headers=FROM_DANA, json={"user": {"email": "nope", "time_zone": "Mars/Base",
                                                                             "role": "king"}})
    assert (bad.status_code, bad.json()) == (400, invalid(
        "Name can't be blank", "Email is invalid", "Time zone 'Mars/Base' is not a valid time zone",
        "Role must be one of admin, limited_user, observer, owner, read_only_user, restricted_access,"
        " read_only_limited_user, user"))

    changed = await sandbox.put(f"/api/users/{lee['id']}", headers=REST_HEADERS,
                                json={"user": {"name": "Lee Chen-Ito", "description": "Tokyo office"}})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["user"]["name"], changed.json()["user"]["description"]) == ("Lee Chen-Ito", "Tokyo office")
    assert (await get(sandbox, f"/api/users/{lee['id']}"))["user"]["name"] == "Lee Chen-Ito"
    taken = await sandbox.put(f"/api/users/{lee['id']}", headers=REST_HEADERS, json={"user": {"email": "sam@acme.test"}})
    assert (taken.status_code, taken.json()) == (400, invalid("Email has already been taken"))
    missing = await sandbox.put("/api/users/PNOBODY", headers=REST_HEADERS, json={"user": {"name": "X"}})
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)

    gone = await sandbox.delete(f"/api/users/{lee['id']}", headers=REST_HEADERS)
    assert (gone.status_code, gone.content) == (204, b"")
    assert await get(sandbox, f"/api/users/{lee['id']}", 404) == NOT_FOUND
    assert (await sandbox.delete(f"/api/users/{lee['id']}", headers=REST_HEADERS)).status_code == 404


async def test_deleting_the_only_target_of_a_level_is_refused_and_a_deleted_user_leaves_the_schedules(sandbox):
    refused = await sandbox.delete(f"/api/users/{SAM}", headers=REST_HEADERS)
    assert (refused.status_code, refused.json()) == (400, invalid(
        "The user cannot be deleted as they are the only target of an escalation rule; change the escalation"
        " policy first"))
    assert (await sandbox.delete(f"/api/users/{PRIYA}", headers=REST_HEADERS)).status_code == 204
    layer = (await get(sandbox, "/api/schedules/PPRIM00"))["schedule"]["schedule_layers"][0]
    assert [u["user"]["id"] for u in layer["users"]] == [DANA, SAM]


# ---- teams, priorities, abilities, vendors --------------------------------------------------------------

async def test_teams(sandbox):
    listed = await get(sandbox, "/api/teams?query=web")
    assert listed["teams"] == [{"id": "PTEAM00", "type": "team", "summary": "Acme Web Team",
                                "self": f"{BASE}/api/teams/PTEAM00", "html_url": f"{BASE}/teams/PTEAM00",
                                "name": "Acme Web Team", "description": "Keeps acme.test up.",
                                "default_role": "manager", "parent": None}]
    assert (await get(sandbox, "/api/teams?query=ops"))["teams"] == []
    made = await sandbox.post("/api/teams", headers=REST_HEADERS, json={"team": {"type": "team", "name": "Ops"}})
    assert made.status_code == 201, made.text
    team = made.json()["team"]
    check("Team", team)
    assert (await get(sandbox, f"/api/teams/{team['id']}"))["team"] == team
    again = await sandbox.post("/api/teams", headers=REST_HEADERS, json={"team": {"type": "team", "name": "ops"}})
    assert (again.status_code, again.json()) == (400, invalid("Name has already been taken"))
    blank = await sandbox.post("/api/teams", headers=REST_HEADERS, json={"team": {"type": "team"}})
    assert (blank.status_code, blank.json()) == (400, invalid("Name can't be blank"))
    assert await get(sandbox, "/api/teams/PNOTEAM", 404) == NOT_FOUND


async def test_priorities_abilities_and_vendors(sandbox):
    doc = await get(sandbox, "/api/priorities?limit=2&total=true")
    assert [(p["id"], p["name"]) for p in doc["priorities"]] == [("PPRIO01", "P1"), ("PPRIO02", "P2")]
    assert (doc["more"], doc["total"]) == (True, 5)
    every = await get(sandbox, "/api/priorities")
    assert [p["name"] for p in every["priorities"]] == ["P1", "P2", "P3", "P4", "P5"]
    for priority in every["priorities"]:
        check("Priority", priority)
    assert await get(sandbox, "/api/abilities") == {"abilities": ["teams", "urgencies", "manage_schedules"]}
    assert (await sandbox.get("/api/abilities/teams", headers=REST_HEADERS)).status_code == 204
    assert await get(sandbox, "/api/abilities/sso", 404) == NOT_FOUND
    vendors = (await get(sandbox, "/api/vendors"))["vendors"]
    assert [(v["id"], v["name"]) for v in vendors] == [("PDEMOMN", "Demo Monitor")]
    check("Vendor", vendors[0])
    assert (await sandbox.get("/api/abilities", headers={"Authorization": "Token token=nope"})).status_code == 401


# ---- schedules ------------------------------------------------------------------------------------------

async def test_the_primary_schedule_renders_dana_this_week_then_sam_then_priya(sandbox):
    day = seed_day()
    since, until = day + timedelta(days=1), day + timedelta(days=15)
    doc = await get(sandbox, f"/api/schedules/PPRIM00?since={iso(since)}&until={iso(until)}")
    schedule = doc["schedule"]
    check("Schedule", schedule)
    assert (schedule["name"], schedule["time_zone"]) == ("Acme Primary", "UTC")
    expected = [
        {"start": iso(since), "end": iso(day + timedelta(days=7)), "user": ref("user", DANA, "Dana Demo")},
        {"start": iso(day + timedelta(days=7)), "end": iso(day + timedelta(days=14)),
         "user": ref("user", SAM, "Sam Rivera")},
        {"start": iso(day + timedelta(days=14)), "end": iso(until), "user": ref("user", PRIYA, "Priya Patel")}]
    assert schedule["final_schedule"] == {"name": "Final Schedule", "rendered_schedule_entries": expected,
                                          "rendered_coverage_percentage": 100.0}
    assert schedule["overrides_subschedule"] == {"name": "Overrides", "rendered_schedule_entries": [],
                                                 "rendered_coverage_percentage": 0.0}
    (layer,) = schedule["schedule_layers"]
    assert (layer["rotation_turn_length_seconds"], layer["rotation_virtual_start"], layer["end"]) == (
        604800, iso(day), None)
    assert layer["rendered_schedule_entries"] == expected
    assert schedule["escalation_policies"] == [ref("escalation_policy", "PPOLI00", "Acme Website On-Call")]

    overflowing = (await get(sandbox, f"/api/schedules/PPRIM00?since={iso(since)}&until={iso(until)}&overflow=true"))
    entries = overflowing["schedule"]["final_schedule"]["rendered_schedule_entries"]
    assert (entries[0]["start"], entries[-1]["end"]) == (iso(day), iso(day + timedelta(days=21)))

    plain = (await get(sandbox, "/api/schedules/PPRIM00"))["schedule"]
    assert plain["final_schedule"] == {"name": "Final Schedule", "rendered_schedule_entries": [],
                                       "rendered_coverage_percentage": None}
    assert await get(sandbox, "/api/schedules/PPRIM00?since=yesterday", 400) == invalid(
        "Since must be a valid ISO 8601 date")
    assert await get(sandbox, f"/api/schedules/PPRIM00?since={iso(until)}&until={iso(since)}", 400) == invalid(
        "Until must be after since")
    assert await get(sandbox, "/api/schedules/PNOSCHD", 404) == NOT_FOUND


async def test_schedules_list_and_query(sandbox):
    doc = await get(sandbox, "/api/schedules?total=true")
    assert ([s["name"] for s in doc["schedules"]], doc["total"]) == (["Acme Primary", "Acme Secondary"], 2)
    assert [u["summary"] for u in doc["schedules"][1]["users"]] == ["Dana Demo", "Priya Patel", "Sam Rivera"]
    assert [s["id"] for s in (await get(sandbox, "/api/schedules?query=second"))["schedules"]] == ["PSECO00"]
    assert await get(sandbox, "/api/schedules?since=2030-01-01T00:00:00Z", 400) == invalid(
        "The sandbox does not implement the since parameter of GET /schedules (see README: REST API)")


async def test_an_override_wins_and_is_listed(sandbox):
    start = seed_day() + timedelta(days=1, hours=9)
    end = start + timedelta(hours=2)
    body = {"overrides": [{"start": iso(start), "end": iso(end), "user": {"id": PRIYA, "type": "user_reference"}},
                          {"start": iso(start), "end": iso(end), "user": {"id": "PNOBODY", "type": "user_reference"}}]}
    made = await sandbox.post("/api/schedules/PPRIM00/overrides", headers=REST_HEADERS, json=body)
    assert made.status_code == 201, made.text
    first, second = made.json()
    assert (first["status"], first["override"]["start"], first["override"]["user"]) == (
        201, iso(start), ref("user", PRIYA, "Priya Patel"))
    assert (second["status"], second["errors"]) == (400, ["User PNOBODY not found"])
    check("Override", first["override"])

    since, until = start - timedelta(hours=1), end + timedelta(hours=1)
    schedule = (await get(sandbox, f"/api/schedules/PPRIM00?since={iso(since)}&until={iso(until)}"))["schedule"]
    assert [(e["start"], e["user"]["id"]) for e in schedule["final_schedule"]["rendered_schedule_entries"]] == [
        (iso(since), DANA), (iso(start), PRIYA), (iso(end), DANA)]
    assert schedule["overrides_subschedule"]["rendered_schedule_entries"] == [
        {"start": iso(start), "end": iso(end), "user": ref("user", PRIYA, "Priya Patel")}]
    assert schedule["overrides_subschedule"]["rendered_coverage_percentage"] == 50.0

    listed = await get(sandbox, f"/api/schedules/PPRIM00/overrides?since={iso(since)}&until={iso(until)}")
    assert listed == {"overrides": [first["override"]]}
    assert await get(sandbox, "/api/schedules/PPRIM00/overrides", 400) == invalid(
        "Since can't be blank", "Until can't be blank")
    users = (await get(sandbox, f"/api/schedules/PPRIM00/users?since={iso(since)}&until={iso(until)}"))["users"]
    assert [u["id"] for u in users] == [DANA, PRIYA]
    bad = await sandbox.post("/api/schedules/PPRIM00/overrides", headers=REST_HEADERS,
                             json={"overrides": [{"start": iso(end), "end": iso(start), "user": {"id": PRIYA}}]})
    assert (bad.status_code, bad.json()) == (400, invalid("Override 1 end must be after its start"))


def _layer(**extra) -> dict:
    return {"name": "Business hours", "start": "2026-01-05T00:00:00Z", "rotation_virtual_start": "2026-01-05T09:00:00Z",
            "rotation_turn_length_seconds": 86400,
            "users": [{"user": {"id": SAM, "type": "user_reference"}}, {"user": {"id": PRIYA, "type": "user_reference"}}],
            "restrictions": [{"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 28800}],
            **extra}


async def test_create_update_and_delete_a_schedule(sandbox):
    body = {"schedule": {"type": "schedule", "name": "Support", "time_zone": "Europe/London",
                         "schedule_layers": [_layer()]}}
    made = await sandbox.post("/api/schedules", headers=REST_HEADERS, json=body)
    assert made.status_code == 201, made.text
    schedule = made.json()["schedule"]
    check("Schedule", schedule)
    (layer,) = schedule["schedule_layers"]
    assert layer["restrictions"] == [{"type": "daily_restriction", "start_time_of_day": "09:00:00",
                                      "duration_seconds": 28800}]
    rendered = await get(sandbox, f"/api/schedules/{schedule['id']}?since=2026-01-05T00:00:00Z"
                                  "&until=2026-01-07T00:00:00Z")
    assert [(e["start"], e["end"], e["user"]["id"]) for e in
            rendered["schedule"]["final_schedule"]["rendered_schedule_entries"]] == [
        ("2026-01-05T09:00:00Z", "2026-01-05T17:00:00Z", SAM), ("2026-01-06T09:00:00Z", "2026-01-06T17:00:00Z", PRIYA)]

    changed = await sandbox.put(f"/api/schedules/{schedule['id']}", headers=REST_HEADERS, json={"schedule": {
        "name": "Support desk", "schedule_layers": [_layer(id=layer["id"], users=[{"user": {"id": DANA}}])]}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["schedule"]["name"] == "Support desk"
    assert changed.json()["schedule"]["schedule_layers"][0]["id"] == layer["id"]
    assert [u["user"]["id"] for u in changed.json()["schedule"]["schedule_layers"][0]["users"]] == [DANA]

    for wrong, errors in [
        ({"name": "X"}, ["Time zone can't be blank", "Schedule layers can't be blank"]),
        ({"time_zone": "UTC", "schedule_layers": [_layer(rotation_turn_length_seconds=0, users=[])]},
         ["Schedule layer 1 rotation_turn_length_seconds must be between 3600 and 31536000",
          "Schedule layer 1 must have at least one user"]),
        ({"time_zone": "UTC", "schedule_layers": [_layer(restrictions=[{"type": "weekly_restriction",
                                                                       "start_time_of_day": "25:00",
                                                                       "duration_seconds": 60}])]},
         ["Schedule layer 1 restriction start_time_of_day must be HH:mm:ss"]),
    ]:
        answer = await sandbox.post("/api/schedules", headers=REST_HEADERS, json={"schedule": wrong})
        assert (answer.status_code, answer.json()) == (400, invalid(*errors)), wrong
    unknown = await sandbox.post("/api/schedules", headers=REST_HEADERS, json={"schedule": {
        "time_zone": "UTC", "schedule_layers": [_layer(users=[{"user": {"id": "PNOBODY"}}])]}})
    assert (unknown.status_code, unknown.json()) == (400, invalid("User PNOBODY not found"))

    in_use = await sandbox.delete("/api/schedules/PPRIM00", headers=REST_HEADERS)
    assert (in_use.status_code, in_use.json()) == (400, invalid(
        "The schedule cannot be deleted as escalation policies use it; remove it from them first"))
    assert (await sandbox.delete(f"/api/schedules/{schedule['id']}", headers=REST_HEADERS)).status_code == 204
    assert await get(sandbox, f"/api/schedules/{schedule['id']}", 404) == NOT_FOUND


# ---- escalation policies --------------------------------------------------------------------------------

async def test_the_seeded_policy(sandbox):
    policy = (await get(sandbox, "/api/escalation_policies/PPOLI00"))["escalation_policy"]
    check("EscalationPolicy", policy)
    assert policy["escalation_rules"] == [
        {"id": "PRULE01", "escalation_delay_in_minutes": 5, "targets": [ref("schedule", "PPRIM00", "Acme Primary")]},
        {"id": "PRULE02", "escalation_delay_in_minutes": 5, "targets": [ref("user", SAM, "Sam Rivera")]}]
    assert (policy["num_loops"], policy["services"], policy["teams"]) == (
        0, [ref("service", "PWEBS00", "Acme Website")], [ref("team", "PTEAM00", "Acme Web Team")])
    assert await get(sandbox, "/api/escalation_policies/PNOPOLI", 404) == NOT_FOUND
    whole = (await get(sandbox, "/api/escalation_policies/PPOLI00?include[]=targets&include[]=services"
                                "&include[]=teams"))["escalation_policy"]
    assert [(r["targets"][0]["type"], r["targets"][0]["name"]) for r in whole["escalation_rules"]] == [
        ("schedule", "Acme Primary"), ("user", "Sam Rivera")]
    assert (whole["services"][0]["type"], whole["teams"][0]["type"]) == ("service", "team")


async def test_create_list_update_and_delete_a_policy(sandbox):
    body = {"escalation_policy": {"type": "escalation_policy", "name": "Billing On-Call", "num_loops": 2,
                                  "escalation_rules": [
                                      {"escalation_delay_in_minutes": 10,
                                       "targets": [{"id": "PSECO00", "type": "schedule_reference"}]},
                                      {"escalation_delay_in_minutes": 15,
                                       "targets": [{"id": PRIYA, "type": "user_reference"}]}]}}
    made = await sandbox.post("/api/escalation_policies", headers=REST_HEADERS, json=body)
    assert made.status_code == 201, made.text
    policy = made.json()["escalation_policy"]
    check("EscalationPolicy", policy)
    assert [r["targets"][0]["id"] for r in policy["escalation_rules"]] == ["PSECO00", PRIYA]

    listed = await get(sandbox, "/api/escalation_policies?sort_by=name:desc")
    assert [p["name"] for p in listed["escalation_policies"]] == ["Billing On-Call", "Acme Website On-Call"]
    assert [p["name"] for p in (await get(sandbox, "/api/escalation_policies?query=bill"))["escalation_policies"]] == [
        "Billing On-Call"]
    by_user = await get(sandbox, f"/api/escalation_policies?user_ids[]={SAM}")  # Sam: on both, one way or another
    assert [p["name"] for p in by_user["escalation_policies"]] == ["Acme Website On-Call", "Billing On-Call"]
    assert [p["name"] for p in (await get(sandbox, "/api/escalation_policies?team_ids[]=PTEAM00"))[
        "escalation_policies"]] == ["Acme Website On-Call"]
    assert await get(sandbox, "/api/escalation_policies?sort_by=age", 400) == invalid(
        "Sort by must be one of name, name:asc, name:desc")

    changed = await sandbox.put(f"/api/escalation_policies/{policy['id']}", headers=REST_HEADERS, json={
        "escalation_policy": {"num_loops": 1, "services": [{"id": "PWEBS00", "type": "service_reference"}]}})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["escalation_policy"]["num_loops"], changed.json()["escalation_policy"]["services"]) == (
        1, [ref("service", "PWEBS00", "Acme Website")])
    assert (await get(sandbox, "/api/services/PWEBS00"))["service"]["escalation_policy"]["id"] == policy["id"]

    for wrong, errors in [
        ({"name": "Acme Website On-Call", "escalation_rules": body["escalation_policy"]["escalation_rules"]},
         ["Name has already been taken"]),
        ({"name": "X"}, ["Escalation rules can't be blank"]),
        ({"name": "X", "num_loops": -1, "escalation_rules": [{"escalation_delay_in_minutes": 5, "targets": []}]},
         ["Num loops must be between 0 and 9", "Escalation rule 1 must have at least one target"]),
        ({"name": "X", "escalation_rules": [{"escalation_delay_in_minutes": 5,
                                             "targets": [{"id": "PNOBODY", "type": "user_reference"},
                                                         {"id": "PNOSCHD", "type": "schedule_reference"}]}]},
         ["User PNOBODY not found", "Schedule PNOSCHD not found"]),
    ]:
        answer = await sandbox.post("/api/escalation_policies", headers=REST_HEADERS, json={"escalation_policy": wrong})
        assert (answer.status_code, answer.json()) == (400, invalid(*errors)), wrong

    in_use = await sandbox.delete(f"/api/escalation_policies/{policy['id']}", headers=REST_HEADERS)
    assert (in_use.status_code, in_use.json()) == (400, invalid(
        "The escalation policy cannot be deleted as services use it; give them another policy first"))
    back = await sandbox.put("/api/escalation_policies/PPOLI00", headers=REST_HEADERS,
                             json={"escalation_policy": {"services": [{"id": "PWEBS00"}]}})
    assert back.status_code == 200
    assert (await sandbox.delete(f"/api/escalation_policies/{policy['id']}", headers=REST_HEADERS)).status_code == 204
    assert await get(sandbox, f"/api/escalation_policies/{policy['id']}", 404) == NOT_FOUND


async def test_services_made_by_rest_follow_the_accounts_default_policy(sandbox):
    made = await sandbox.post("/api/services", headers=REST_HEADERS, json={"service": {"type": "service",
                                                                                      "name": "Checkout"}})
    assert made.status_code == 201, made.text
    assert made.json()["service"]["escalation_policy"] == ref("escalation_policy", "PPOLI00", "Acme Website On-Call")
    policy = await sandbox.post("/api/escalation_policies", headers=REST_HEADERS, json={"escalation_policy": {
        "name": "Checkout On-Call", "escalation_rules": [{"escalation_delay_in_minutes": 5,
                                                           "targets": [{"id": PRIYA, "type": "user_reference"}]}]}})
    chosen = await sandbox.post("/api/services", headers=REST_HEADERS, json={"service": {
        "name": "Payments", "escalation_policy": {"id": policy.json()["escalation_policy"]["id"],
                                                  "type": "escalation_policy_reference"}}})
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["service"]["escalation_policy"]["summary"] == "Checkout On-Call"
    unknown = await sandbox.post("/api/services", headers=REST_HEADERS, json={"service": {
        "name": "Ledger", "escalation_policy": {"id": "PNOPOLI", "type": "escalation_policy_reference"}}})
    assert (unknown.status_code, unknown.json()) == (400, invalid("Escalation policy PNOPOLI not found"))


# ---- on-calls -------------------------------------------------------------------------------------------

def _oncall(level: int, user: tuple[str, str], schedule: bool, start: datetime | None, end: datetime | None) -> dict:
    return {"escalation_policy": ref("escalation_policy", "PPOLI00", "Acme Website On-Call"), "escalation_level": level,
            "schedule": ref("schedule", "PPRIM00", "Acme Primary") if schedule else None,
            "user": ref("user", *user), "start": iso(start) if start else None, "end": iso(end) if end else None}


async def test_oncalls_now_and_over_a_range(sandbox):
    day = seed_day()
    dana, sam, priya = (DANA, "Dana Demo"), (SAM, "Sam Rivera"), (PRIYA, "Priya Patel")
    now = await get(sandbox, "/api/oncalls")
    assert now["oncalls"] == [_oncall(1, dana, True, day, day + timedelta(days=7)), _oncall(2, sam, False, None, None)]
    for item in now["oncalls"]:
        check("Oncall", _without_nulls(item))

    since, until = iso(day + timedelta(days=1)), iso(day + timedelta(days=15))
    weeks = await get(sandbox, f"/api/oncalls?since={since}&until={until}")
    assert weeks["oncalls"] == [
        _oncall(1, dana, True, day, day + timedelta(days=7)),
        _oncall(1, sam, True, day + timedelta(days=7), day + timedelta(days=14)),
        _oncall(1, priya, True, day + timedelta(days=14), day + timedelta(days=21)),
        _oncall(2, sam, False, None, None)]
    assert [o["user"]["id"] for o in (await get(sandbox, f"/api/oncalls?since={since}&until={until}"
                                                          f"&user_ids[]={SAM}"))["oncalls"]] == [SAM, SAM]
    earliest = await get(sandbox, f"/api/oncalls?since={since}&until={until}&user_ids[]={SAM}&earliest=true")
    assert [o["escalation_level"] for o in earliest["oncalls"]] == [1, 2]
    by_schedule = await get(sandbox, f"/api/oncalls?since={since}&until={until}&schedule_ids[]=PPRIM00")
    assert [o["user"]["id"] for o in by_schedule["oncalls"]] == [DANA, SAM, PRIYA]
    assert (await get(sandbox, "/api/oncalls?escalation_policy_ids[]=PNOPOLI"))["oncalls"] == []
    paged = await get(sandbox, f"/api/oncalls?since={since}&until={until}&limit=3&offset=1&total=true")
    assert ([o["user"]["id"] for o in paged["oncalls"]], paged["more"], paged["total"]) == ([SAM, PRIYA, SAM], False, 4)
    assert await get(sandbox, f"/api/oncalls?since={iso(day)}&until={iso(day + timedelta(days=100))}", 400) == invalid(
        "The range between since and until must be at most 93 days")


async def test_advancing_the_sandbox_clock_a_week_hands_the_primary_to_sam(sandbox):
    assert (await sandbox.post("/_sandbox/clock", json={"advance_seconds": 7 * 86400})).status_code == 200
    now = await get(sandbox, "/api/oncalls?schedule_ids[]=PPRIM00")
    assert [o["user"]["id"] for o in now["oncalls"]] == [SAM]


# ---- the REST rate limit ---------------------------------------------------------------------------------

async def test_the_rate_limit_switch_limits_rest_to_960_a_minute_per_key(sandbox):
    assert (await sandbox.put("/_sandbox/rate-limits", json={"enabled": True})).status_code == 200
    for _ in range(960):
        answer = await sandbox.get("/api/abilities", headers=REST_HEADERS)
        assert answer.status_code == 200
    over = await sandbox.get("/api/abilities", headers=REST_HEADERS)
    assert (over.status_code, over.json()) == (429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}})
    assert (over.headers["ratelimit-limit"], over.headers["ratelimit-remaining"]) == ("960", "0")
    assert 1 <= int(over.headers["ratelimit-reset"]) <= 60
    assert (await sandbox.get("/api/incidents", headers=REST_HEADERS)).status_code == 429  # every /api route
    assert (await sandbox.post("/_sandbox/clock", json={"advance_seconds": 61})).status_code == 200
    assert (await sandbox.get("/api/abilities", headers=REST_HEADERS)).status_code == 200


@pytest.mark.parametrize("path", ["/api/users", "/api/schedules", "/api/escalation_policies", "/api/oncalls",
                                  "/api/teams", "/api/priorities", "/api/vendors", "/api/abilities"])
async def test_every_people_endpoint_needs_a_key(sandbox, path):
    answer = await sandbox.get(path)
    assert (answer.status_code, answer.json()) == (401, {"error": {"message": "Authentication failed", "code": 2006}})


async def test_oncalls_and_schedules_in_a_time_zone_with_users_whole_as_backstage_asks(sandbox):
    day = seed_day()
    doc = await get(sandbox, "/api/oncalls?time_zone=America/New_York&include[]=users&escalation_policy_ids[]=PPOLI00")
    first = doc["oncalls"][0]
    assert (first["start"], first["end"]) == (
        day.astimezone(ZoneInfo("America/New_York")).isoformat(timespec="seconds"),
        (day + timedelta(days=7)).astimezone(ZoneInfo("America/New_York")).isoformat(timespec="seconds"))
    assert (first["user"]["type"], first["user"]["email"], first["user"]["avatar_url"]) == (
        "user", "demo@acme.test", f"{BASE}/static/favicon.svg")
    whole = await get(sandbox, "/api/oncalls?include[]=escalation_policies&include[]=schedules")
    assert whole["oncalls"][0]["escalation_policy"]["type"] == "escalation_policy"
    assert whole["oncalls"][0]["schedule"]["type"] == "schedule" and whole["oncalls"][1]["schedule"] is None
    since, until = iso(day + timedelta(days=1)), iso(day + timedelta(days=2))
    schedule = (await get(sandbox, f"/api/schedules/PPRIM00?since={since}&until={until}&time_zone=Asia/Tokyo"))[
        "schedule"]
    assert schedule["final_schedule"]["rendered_schedule_entries"][0]["start"] == (
        (day + timedelta(days=1)).astimezone(ZoneInfo("Asia/Tokyo")).isoformat(timespec="seconds"))
    assert await get(sandbox, "/api/oncalls?time_zone=Mars/Base", 400) == invalid(
        "Time zone 'Mars/Base' is not a valid time zone")


async def test_times_outside_the_era_are_refused_not_a_500(sandbox):
    assert await get(sandbox, "/api/oncalls?since=0001-01-02T00:00:00Z", 400) == invalid(
        "Since must be a valid ISO 8601 date between 1970 and 2199")
    assert await get(sandbox, "/api/schedules/PPRIM00?until=9999-12-31T00:00:00Z", 400) == invalid(
        "Until must be a valid ISO 8601 date between 1970 and 2199")
    made = await sandbox.post("/api/schedules/PPRIM00/overrides", headers=REST_HEADERS, json={"overrides": [
        {"start": "0001-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z", "user": {"id": DANA}}]})
    assert (made.status_code, made.json()) == (400, invalid(
        "Override 1 start must be a valid ISO 8601 date between 1970 and 2199"))
