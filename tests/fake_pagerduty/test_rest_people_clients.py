"""The people REST API through the clients integrations use (issue 15): PagerDuty's official Python client
(`pagerduty` 7.2, RestApiV2Client: iter_all, find by email, rget /users/me with a user's OAuth token, on-calls)
and pdpyras (APISession), both in-process over a bridge to the app (no ports; see test_rest_official_client.py
for how the official client's transport is wired)."""

from __future__ import annotations

import asyncio
import warnings

import httpx
import pagerduty
import requests
from requests.structures import CaseInsensitiveDict

from tests.conftest import API_KEY
from tests.fake_pagerduty.oauth_helpers import code, token_form
from tests.fake_pagerduty.test_rest_official_client import REST_BASE, bridge  # noqa: F401 (the fixture)

with warnings.catch_warnings():  # pdpyras announces its own deprecation on import
    warnings.simplefilter("ignore")
    import pdpyras


class RequestsBridge(requests.adapters.BaseAdapter):
    """A requests transport adapter (for pdpyras, a requests session, in a worker thread) that serves each
    request with the in-process app on the test's event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._client, self._loop = client, loop

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        future = asyncio.run_coroutine_threadsafe(self._client.request(
            request.method, request.url, headers=dict(request.headers), content=request.body or b""), self._loop)
        answer = future.result(timeout=60)
        response = requests.Response()
        response.status_code, response.url, response.request = answer.status_code, request.url, request
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content, response.encoding = answer.content, "utf-8"
        return response

    def close(self) -> None:
        pass


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


async def test_pdpyras_finds_people_and_oncalls(sandbox_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=REST_BASE) as client:
        adapter = RequestsBridge(client, asyncio.get_running_loop())

        def scenario() -> dict:
            session = pdpyras.APISession(API_KEY, default_from="demo@acme.test")
            session.url = REST_BASE
            session.mount("https://", adapter)
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
