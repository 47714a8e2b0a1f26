"""OAuth access tokens on the REST API (issue 14): Bearer as the token's user or app, expiry, revocation, and
each endpoint's scope (checked against PagerDuty's REST spec)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.routing import Route

from fake_pagerduty.domain import rest_scopes
from fake_pagerduty.domain.oauth import token_hash
from fake_pagerduty.routes import routes
from tests.fake_pagerduty.oauth_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT, code, token_form
from tests.fake_pagerduty.sandbox_helpers import trigger

SPEC = Path(__file__).resolve().parents[1] / "specs" / "rest.json"
ACCEPT = {"Accept": "application/vnd.pagerduty+json;version=2"}
UNAUTHORIZED = {"error": {"message": "Authentication failed", "code": 2006}}
ACK = {"incident": {"type": "incident_reference", "status": "acknowledged"}}


def bearer(token: str) -> dict:
    return {**ACCEPT, "Authorization": f"Bearer {token}"}


NO_SCOPE_IN_SPEC = {("GET", "/users/me")}  # the spec names no scope: any user token may ask who it is


def test_the_scope_table_is_the_rest_specs_for_every_route_served():
    spec = json.loads(SPEC.read_text(encoding="utf-8"))["paths"]
    served = set()
    for route in routes():
        if isinstance(route, Route) and route.path.startswith("/api/"):
            path = route.path.removeprefix("/api")
            for method in route.methods - {"HEAD"}:
                served.add((method, path))
                text = spec[path][method.lower()].get("description", "")
                match = re.search(r"Scoped OAuth requires: `([^`]+)`", text)
                if match is None and (method, path) in NO_SCOPE_IN_SPEC:
                    assert rest_scopes.required(method, path) is None
                    served.discard((method, path))
                    continue
                assert match, (method, path)
                assert rest_scopes.required(method, path) == match.group(1), (method, path)
    assert served == set(rest_scopes.REQUIRED)


async def user_token(sandbox, scope: str = "incidents.read incidents.write services.read") -> str:
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox, scope=scope)))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def app_token(sandbox, scope: str = "as_account-us.acme incidents.read incidents.write") -> str:
    answer = await sandbox.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                      "client_secret": CLIENT_SECRET, "scope": scope})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def incident_id(sandbox, token: str) -> str:
    assert (await trigger(sandbox)).status_code == 202
    listed = await sandbox.get("/api/incidents", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    return listed.json()["incidents"][0]["id"]


async def test_a_user_token_reads_and_writes_as_its_user_without_from(sandbox):
    token = await user_token(sandbox)
    incident = await incident_id(sandbox, token)
    answer = await sandbox.put(f"/api/incidents/{incident}", json=ACK, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["incident"]["status"] == "acknowledged"
    entries = (await sandbox.get(f"/api/incidents/{incident}/log_entries", headers=bearer(token))).json()
    assert entries["log_entries"][0]["agent"]["id"] == "PDANA00"


async def test_an_app_token_reads_and_names_the_user_with_from(sandbox):
    token = await app_token(sandbox)
    incident = await incident_id(sandbox, token)
    missing_from = await sandbox.put(f"/api/incidents/{incident}", json=ACK, headers=bearer(token))
    assert missing_from.status_code == 400 and missing_from.json()["error"]["code"] == 2016
    answer = await sandbox.put(f"/api/incidents/{incident}", json=ACK,
                               headers={**bearer(token), "From": "demo@acme.test"})
    assert answer.status_code == 200, answer.text


async def test_a_missing_scope_is_403_naming_it(sandbox):
    token = await user_token(sandbox, scope="incidents.read")
    incident = await incident_id(sandbox, token)
    for method, path, scope in (("GET", "/api/services", "services.read"),
                                ("PUT", f"/api/incidents/{incident}", "incidents.write"),
                                ("GET", "/api/webhook_subscriptions", "webhook_subscriptions.read")):
        answer = await sandbox.request(method, path, json=ACK if method == "PUT" else None, headers=bearer(token))
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json() == {"error": {"message": "Token missing required scopes", "code": 0,
                                           "required_scopes": scope}}
    app = await app_token(sandbox, "as_account-us.acme services.read")
    assert (await sandbox.get("/api/incidents", headers=bearer(app))).json()["error"]["required_scopes"] == (
        "incidents.read")
    assert (await sandbox.get("/api/services", headers=bearer(app))).status_code == 200


async def test_a_classic_read_token_may_not_write(sandbox, sandbox_app):
    state = sandbox_app.state
    await state.store.oauth.upsert_app(client_id="classic", secret_hash=token_hash("s"), name="Classic",
                                       kind="classic", client_type="confidential", redirect_uris=[REDIRECT],
                                       scopes=[], account_id=None, now=state.clock.now())
    the_code = await code(sandbox, client_id="classic", scope="read")
    answer = await sandbox.post("/oauth/token", data=token_form(the_code, client_id="classic", client_secret="s"))
    token = answer.json()["access_token"]
    incident = await incident_id(sandbox, token)
    denied = await sandbox.put(f"/api/incidents/{incident}", json=ACK, headers=bearer(token))
    assert denied.status_code == 403 and denied.json()["error"]["required_scopes"] == "incidents.write"
    assert (await sandbox.get("/api/services", headers=bearer(token))).status_code == 200


async def test_expired_revoked_unknown_and_refresh_tokens_are_401(sandbox):
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox)))
    tokens = answer.json()
    assert (await sandbox.get("/api/incidents", headers=bearer(tokens["access_token"]))).status_code == 200
    for value in (tokens["refresh_token"], "pdus+_0XBPWQQ_00000000-0000-0000-0000-000000000000", "nonsense"):
        refused = await sandbox.get("/api/incidents", headers=bearer(value))
        assert refused.status_code == 401 and refused.json() == UNAUTHORIZED
    revoked = await user_token(sandbox)
    await sandbox.post("/oauth/revoke", data={"client_id": CLIENT_ID, "token": revoked})
    assert (await sandbox.get("/api/incidents", headers=bearer(revoked))).json() == UNAUTHORIZED
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 86400 + 1})  # scoped access: one day
    expired = await sandbox.get("/api/incidents", headers=bearer(tokens["access_token"]))
    assert expired.status_code == 401 and expired.json() == UNAUTHORIZED


async def test_revoking_a_refresh_token_revokes_the_access_tokens_it_came_with(sandbox):
    tokens = (await sandbox.post("/oauth/token", data=token_form(await code(sandbox)))).json()
    await sandbox.post("/oauth/revoke", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                              "token": tokens["refresh_token"]})
    assert (await sandbox.get("/api/incidents", headers=bearer(tokens["access_token"]))).status_code == 401


async def test_api_keys_still_work_as_bearer_and_as_token(sandbox):
    for header in ("Bearer sandbox-api-key-acme", "Token token=sandbox-api-key-acme"):
        assert (await sandbox.get("/api/incidents", headers={**ACCEPT, "Authorization": header})).status_code == 200
