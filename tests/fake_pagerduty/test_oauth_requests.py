"""The OAuth journal, `GET /_sandbox/oauth/requests` (issue 14): every authorize, token and revoke request with
its outcome, newest first; never a secret, a code or a token; a plain reset wipes it."""

from __future__ import annotations

import base64

from tests.fake_pagerduty.oauth_helpers import CLIENT_ID, CLIENT_SECRET, authorize_url, code, token_form


async def journal(sandbox, **params) -> dict:
    answer = await sandbox.get("/_sandbox/oauth/requests", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_flow_and_a_failed_token_request_are_recorded_with_their_outcomes(sandbox):
    the_code = await code(sandbox)  # authorize: the sign-in trip, the consent page, the approval
    bad = await sandbox.post("/oauth/token", data=token_form(the_code, code_verifier="w" * 50))
    assert bad.status_code == 400
    again = await sandbox.post("/oauth/token", data=token_form(the_code))  # the code was used up

    page = await journal(sandbox)

    assert again.status_code == 400
    assert (page["total"], page["limit"], page["offset"], page["more"]) == (5, 100, 0, False)
    got = [(r["endpoint"], r["method"], r["status"], r["outcome"]) for r in page["requests"]]
    assert got == [("token", "POST", 400, "invalid_grant"), ("token", "POST", 400, "invalid_grant"),
                   ("authorize", "POST", 302, "ok"), ("authorize", "GET", 200, "ok"),
                   ("authorize", "GET", 303, "login_required")]
    newest, second = page["requests"][0], page["requests"][1]
    assert second["description"] == "The code_verifier does not match the code_challenge"
    assert second["client_id"] == CLIENT_ID and second["grant_type"] == "authorization_code"
    assert newest["id"] > second["id"] and newest["received_at"].endswith("Z")
    assert set(newest) == {"id", "received_at", "endpoint", "method", "client_id", "grant_type", "status",
                           "outcome", "description"}
    text = str(page)
    assert the_code not in text and CLIENT_SECRET not in text and "w" * 50 not in text


async def test_errors_of_every_kind_and_successes_say_why(sandbox):
    await sandbox.get(authorize_url(client_id="nobody"))
    await sandbox.post("/oauth/token", data={"grant_type": "password", "client_id": CLIENT_ID})
    await sandbox.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                             "client_secret": "wrong-secret"})
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    ok = await sandbox.post("/oauth/token", headers={"Authorization": f"Basic {basic}"},
                            data={"grant_type": "client_credentials", "scope": "as_account-us.acme incidents.read"})
    assert ok.status_code == 200
    await sandbox.post("/oauth/revoke", data={"client_id": CLIENT_ID, "token": ok.json()["access_token"]})
    await sandbox.post("/oauth/token", content=b"", headers={"content-type": "application/x-www-form-urlencoded"})

    rows = (await journal(sandbox))["requests"]

    summary = [(r["endpoint"], r["client_id"], r["grant_type"], r["status"], r["outcome"], r["description"])
               for r in reversed(rows)]
    assert summary == [
        ("authorize", "nobody", "authorization_code", 400, "invalid_request", "Unknown OAuth app"),
        ("token", CLIENT_ID, "password", 400, "unsupported_grant_type", "The grant type 'password' is not supported"),
        ("token", CLIENT_ID, "client_credentials", 401, "invalid_client", "Client authentication failed"),
        ("token", CLIENT_ID, "client_credentials", 200, "ok", "Tokens issued"),
        ("revoke", CLIENT_ID, None, 200, "ok", "Token revoked"),
        ("token", "", None, 400, "invalid_request", "Missing parameter: grant_type"),
    ]
    assert ok.json()["access_token"] not in str(rows)


async def test_deny_is_recorded_as_access_denied(sandbox):
    from tests.fake_pagerduty.oauth_helpers import consent

    response = await consent(sandbox, decision="deny")
    assert response.status_code == 302
    [newest] = (await journal(sandbox, limit=1))["requests"]
    assert (newest["endpoint"], newest["status"], newest["outcome"]) == ("authorize", 302, "access_denied")


async def test_filter_by_client_id_and_page(sandbox):
    for client_id in ("a-app", "b-app", "a-app"):
        await sandbox.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id})
    page = await journal(sandbox, client_id="a-app", limit=1)
    assert (page["total"], page["more"], len(page["requests"])) == (2, True, 1)
    last = await journal(sandbox, client_id="a-app", limit=1, offset=1)
    assert last["more"] is False and last["requests"][0]["id"] < page["requests"][0]["id"]
    assert (await journal(sandbox, client_id="nobody"))["total"] == 0
    for bad in ({"limit": "0"}, {"limit": "x"}, {"offset": "-1"}):
        answer = await sandbox.get("/_sandbox/oauth/requests", params=bad)
        assert answer.status_code == 400 and "error" in answer.json()


async def test_a_plain_reset_wipes_it_and_says_how_many(sandbox):
    await sandbox.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "x"})
    answer = await sandbox.post("/_sandbox/reset")
    assert answer.json()["deleted"]["oauth_requests"] == 1
    assert (await journal(sandbox))["total"] == 0
    assert (await sandbox.get("/_sandbox/oauth-apps/demo-monitor-oauth")).status_code == 200  # apps stay
