"""`POST /oauth/token` and `/oauth/revoke` (issue 14): every grant, and every error the contract names."""

from __future__ import annotations

import base64
import re

import pytest

from fake_pagerduty.domain.oauth import s256
from tests.fake_pagerduty.oauth_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT, VERIFIER, code, token_form

ACCESS = re.compile(r"^pdus\+_0XBPWQQ_[0-9a-f-]{36}$")
REFRESH = re.compile(r"^pdus\+_1XBPWQQ_[0-9a-f-]{36}$")
INVALID_GRANT = "invalid_grant"


async def tokens(sandbox) -> dict:
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox)))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_code_becomes_tokens_in_the_contracts_shape(sandbox):
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox)))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert list(body) == ["client_info", "id_token", "token_type", "access_token", "refresh_token", "scope",
                          "expires_in"]
    assert body["client_info"] == "prefix_legacy_app" and body["token_type"] == "bearer"
    assert ACCESS.match(body["access_token"]) and REFRESH.match(body["refresh_token"])
    assert body["scope"] == "openid incidents.read services.read"
    assert body["expires_in"] == 86400  # scoped: one day
    assert body["id_token"].count(".") == 2


async def test_http_basic_client_authentication_works_too(sandbox):
    form = token_form(await code(sandbox), client_secret=None, client_id=None)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    answer = await sandbox.post("/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 200, answer.text
    wrong = base64.b64encode(f"{CLIENT_ID}:nope".encode()).decode()
    answer = await sandbox.post("/oauth/token", data=form, headers={"Authorization": f"Basic {wrong}"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")
    answer = await sandbox.post("/oauth/token", data=form, headers={"Authorization": "Basic %%%"})
    assert answer.status_code == 401


@pytest.mark.parametrize("overrides", [{"client_secret": "wrong"}, {"client_secret": None},
                                       {"client_id": "nobody"}, {"client_id": None}])
async def test_a_bad_client_is_invalid_client_401(sandbox, overrides):
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox), **overrides))
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}


async def test_a_wrong_verifier_or_none_is_invalid_grant(sandbox):
    for verifier in ("x" * 43 + "-not-the-verifier", None, "short"):
        answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox), code_verifier=verifier))
        assert answer.status_code == 400 and answer.json()["error"] == INVALID_GRANT, verifier


async def test_scoped_apps_need_pkce(sandbox):
    the_code = await code(sandbox, code_challenge=None, code_challenge_method=None)
    answer = await sandbox.post("/oauth/token", data=token_form(the_code, code_verifier=None))
    assert answer.status_code == 400 and answer.json()["error"] == INVALID_GRANT


async def test_a_code_works_once(sandbox):
    the_code = await code(sandbox)
    assert (await sandbox.post("/oauth/token", data=token_form(the_code))).status_code == 200
    again = await sandbox.post("/oauth/token", data=token_form(the_code))
    assert again.status_code == 400 and again.json()["error"] == INVALID_GRANT


async def test_a_code_tried_with_a_wrong_verifier_is_spent(sandbox):
    the_code = await code(sandbox)
    await sandbox.post("/oauth/token", data=token_form(the_code, code_verifier="w" * 50))
    assert (await sandbox.post("/oauth/token", data=token_form(the_code))).json()["error"] == INVALID_GRANT


async def test_a_code_expires_after_30_seconds_of_the_sandbox_clock(sandbox):
    fresh = await code(sandbox)
    assert (await sandbox.post("/_sandbox/clock", json={"advance_seconds": 29})).status_code == 200
    assert (await sandbox.post("/oauth/token", data=token_form(fresh))).status_code == 200
    stale = await code(sandbox)
    assert (await sandbox.post("/_sandbox/clock", json={"advance_seconds": 31})).status_code == 200
    answer = await sandbox.post("/oauth/token", data=token_form(stale))
    assert answer.status_code == 400 and answer.json()["error"] == INVALID_GRANT


async def test_the_redirect_uri_must_equal_the_authorize_one(sandbox):
    other = "http://127.0.0.1:9999/integrations/pagerduty/oauth/callback"
    for redirect in (other, REDIRECT + "x"):
        answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox), redirect_uri=redirect))
        assert answer.status_code == 400 and answer.json()["error"] == INVALID_GRANT
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox), redirect_uri=None))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


async def test_unknown_codes_and_missing_fields(sandbox):
    answer = await sandbox.post("/oauth/token", data=token_form("no-such-code"))
    assert answer.status_code == 400 and answer.json()["error"] == INVALID_GRANT
    answer = await sandbox.post("/oauth/token", data=token_form("", code=None))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    answer = await sandbox.post("/oauth/token", data={"client_id": CLIENT_ID})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    answer = await sandbox.post("/oauth/token", data={"grant_type": "password", "client_id": CLIENT_ID})
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


async def test_odd_bodies_get_an_oauth_error_never_a_500(sandbox):
    for body, content_type in ((b"\xff\xfe", "application/x-www-form-urlencoded"), (b"{}", "application/json"),
                               (b"--x\r\n", "multipart/form-data; boundary=x"), (b"grant_type=%00", None)):
        headers = {"content-type": content_type} if content_type else {}
        answer = await sandbox.post("/oauth/token", content=body, headers=headers)
        assert answer.status_code in (400, 401), (body, answer.status_code)
        assert "error" in answer.json()


async def test_refresh_tokens_rotate(sandbox):
    first = await tokens(sandbox)
    form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "refresh_token": first["refresh_token"]}
    answer = await sandbox.post("/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"] and "id_token" in second
    reused = await sandbox.post("/oauth/token", data=form)
    assert reused.status_code == 400 and reused.json()["error"] == INVALID_GRANT
    newest = await sandbox.post("/oauth/token", data={**form, "refresh_token": second["refresh_token"]})
    assert newest.status_code == 200
    bad_secret = await sandbox.post("/oauth/token", data={**form, "refresh_token": newest.json()["refresh_token"],
                                                          "client_secret": "nope"})
    assert bad_secret.status_code == 401
    access_as_refresh = await sandbox.post("/oauth/token", data={**form, "refresh_token": first["access_token"]})
    assert access_as_refresh.json()["error"] == INVALID_GRANT


async def test_refresh_tokens_expire_after_30_days(sandbox):
    first = await tokens(sandbox)
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 30 * 86400 + 1})
    answer = await sandbox.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                      "client_secret": CLIENT_SECRET,
                                                      "refresh_token": first["refresh_token"]})
    assert answer.status_code == 400 and answer.json()["error"] == INVALID_GRANT


def credentials(scope: str, **overrides) -> dict:
    return {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "scope": scope, **overrides}


async def test_client_credentials_give_an_app_token(sandbox):
    answer = await sandbox.post("/oauth/token", data=credentials("as_account-us.acme incidents.read services.read"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body) == ["access_token", "scope", "token_type", "expires_in"]
    assert ACCESS.match(body["access_token"])
    assert body["scope"] == "as_account-us.acme incidents.read services.read"
    assert (body["token_type"], body["expires_in"]) == ("bearer", 86400)
    eu = await sandbox.post("/oauth/token", data=credentials("as_account-eu.acme incidents.read"))
    assert eu.status_code == 200


@pytest.mark.parametrize("scope", ["incidents.read", "as_account-us.nosuch incidents.read",
                                   "as_account-us.acme users.write", "as_account-us.acme bogus", ""])
async def test_client_credentials_with_a_bad_scope_are_invalid_scope(sandbox, scope):
    answer = await sandbox.post("/oauth/token", data=credentials(scope))
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request", "error_description": "Invalid scope"}


async def test_client_credentials_need_the_secret(sandbox):
    answer = await sandbox.post("/oauth/token", data=credentials("as_account-us.acme", client_secret="x"))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


async def test_classic_apps_follow_their_rules(sandbox, sandbox_app):
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    from fake_pagerduty.domain.oauth import token_hash

    for client_id, client_type in (("classic-conf", "confidential"), ("classic-pub", "public")):
        await store.oauth.upsert_app(client_id=client_id, secret_hash=token_hash("classic-secret"),
                                     name="Classic", kind="classic", client_type=client_type,
                                     redirect_uris=[REDIRECT], scopes=[], account_id=None, now=now)
    # confidential: secret required, PKCE optional; access tokens last 30 days
    the_code = await code(sandbox, client_id="classic-conf", scope="write", code_challenge=None,
                          code_challenge_method=None)
    no_secret = await sandbox.post("/oauth/token", data=token_form(the_code, client_id="classic-conf",
                                                                    client_secret=None, code_verifier=None))
    assert no_secret.status_code == 401
    the_code = await code(sandbox, client_id="classic-conf", scope="write", code_challenge=None,
                          code_challenge_method=None)
    answer = await sandbox.post("/oauth/token", data=token_form(the_code, client_id="classic-conf",
                                                                 client_secret="classic-secret", code_verifier=None))
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "openid write" and answer.json()["expires_in"] == 30 * 86400
    # public: no secret, PKCE required
    the_code = await code(sandbox, client_id="classic-pub", scope="read", code_challenge=None,
                          code_challenge_method=None)
    answer = await sandbox.post("/oauth/token", data=token_form(the_code, client_id="classic-pub",
                                                                 client_secret=None, code_verifier=None))
    assert answer.status_code == 400 and answer.json()["error"] == INVALID_GRANT
    the_code = await code(sandbox, client_id="classic-pub", scope="read", code_challenge=s256(VERIFIER))
    answer = await sandbox.post("/oauth/token", data=token_form(the_code, client_id="classic-pub", client_secret=None))
    assert answer.status_code == 200, answer.text
    denied = await sandbox.post("/oauth/token", data=credentials("as_account-us.acme", client_id="classic-conf",
                                                                 client_secret="classic-secret"))
    assert denied.status_code == 400 and denied.json()["error"] == "unauthorized_client"


async def test_revoke_stops_a_refresh_token_and_needs_a_known_client(sandbox):
    first = await tokens(sandbox)
    answer = await sandbox.post("/oauth/revoke", data={"client_id": CLIENT_ID, "token": first["refresh_token"]})
    assert answer.status_code == 200 and answer.json() == {}
    refresh = await sandbox.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                       "client_secret": CLIENT_SECRET,
                                                       "refresh_token": first["refresh_token"]})
    assert refresh.json()["error"] == INVALID_GRANT
    unknown = await sandbox.post("/oauth/revoke", data={"client_id": CLIENT_ID, "token": "nothing"})
    assert unknown.status_code == 200
    assert (await sandbox.post("/oauth/revoke", data={"client_id": "nobody", "token": "x"})).status_code == 401
    wrong = await sandbox.post("/oauth/revoke", data={"client_id": CLIENT_ID, "client_secret": "no", "token": "x"})
    assert wrong.status_code == 401
    missing = await sandbox.post("/oauth/revoke", data={"client_id": CLIENT_ID})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
