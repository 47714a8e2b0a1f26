"""The people REST API through the clients integrations use (issue 15): PagerDuty's official Python client
(`pagerduty` 7.2, RestApiV2Client: iter_all, find by email, rget /users/me with a user's OAuth token, on-calls)
and pdpyras (APISession), both in-process over a bridge to the app (no ports; see client_bridges.py for how
they are wired)."""

from __future__ import annotations

import asyncio

import pagerduty

from tests.conftest import API_KEY
from tests.fake_pagerduty.client_bridges import REST_BASE, bridge, pdpyras_session  # noqa: F401 (the fixtures)
from tests.fake_pagerduty.oauth_helpers import code, token_form


async def test_the_official_client_lists_finds_and_pages_people(sandbox, bridge):  # noqa: F811
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox, scope="incidents.read")))
    user_token = answer.json()["access_token"]

    def scenario() -> dict:
        rest = pagerduty.RestApiV2Client(API_KEY, base_url=REST_BASE, transport=bridge)
        me = pagerduty.RestApiV2Client(user_token, auth_type="bearer", base_url=REST_BASE, transport=bridge)
        return {
            "users": list(rest.iter_all("users", page_size=2)),
            "found": rest.find("users", "sam@acme.test", attribute="email"),
            "me": me.rget("/users/me"),
            "oncalls": list(rest.iter_all("oncalls", page_size=1)),
            "policies": rest.list_all("escalation_policies"),
            "schedule": rest.rget("schedules/PPRIM00", params={"since": "2030-01-01T00:00:00Z",
                                                               "until": "2030-01-02T00:00:00Z"}),
            "priorities": rest.list_all("priorities"),
            "abilities": rest.rget("abilities"),
        }

    result = await asyncio.to_thread(scenario)
    assert [u["email"] for u in result["users"]] == ["demo@acme.test", "priya@acme.test", "sam@acme.test"]
    assert (result["found"]["id"], result["found"]["name"]) == ("PSAMR00", "Sam Rivera")
    assert (result["me"]["id"], result["me"]["email"]) == ("PDANA00", "demo@acme.test")
    assert [(o["escalation_level"], o["user"]["summary"]) for o in result["oncalls"]] == [
        (1, "Dana Demo"), (2, "Sam Rivera")]
    assert [p["name"] for p in result["policies"]] == ["Acme Website On-Call"]
    assert len(result["schedule"]["final_schedule"]["rendered_schedule_entries"]) == 1
    assert [p["name"] for p in result["priorities"]] == ["P1", "P2", "P3", "P4", "P5"]
    assert result["abilities"] == ["teams", "urgencies", "manage_schedules"]


async def test_pdpyras_finds_people_and_oncalls(pdpyras_session):  # noqa: F811
    session = pdpyras_session

    def scenario() -> dict:
        made = session.rpost("users", json={"type": "user", "name": "Lee Chen", "email": "lee@acme.test"})
        return {
            "found": session.find("users", "demo@acme.test", attribute="email"),
            "made": made,
            "teams": session.list_all("teams"),
            "oncalls": session.list_all("oncalls", params={"schedule_ids[]": ["PPRIM00"]}),
            "users": [u["name"] for u in session.iter_all("users")],
        }

    result = await asyncio.to_thread(scenario)
    assert result["found"]["id"] == "PDANA00"
    assert (result["made"]["name"], result["made"]["email"]) == ("Lee Chen", "lee@acme.test")
    assert [t["name"] for t in result["teams"]] == ["Acme Web Team"]
    assert [o["user"]["id"] for o in result["oncalls"]] == ["PDANA00"]
    assert result["users"] == ["Dana Demo", "Lee Chen", "Priya Patel", "Sam Rivera"]
