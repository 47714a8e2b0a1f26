"""The console's "Authorized apps" (`/account/apps`, issue 14): the OAuth apps holding a person's live tokens,
and Revoke, which ends every token of that app for that person."""

from __future__ import annotations

import re

from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.oauth_helpers import CLIENT_ID, CLIENT_SECRET, code, token_form
from tests.fake_pagerduty.webpages import csrf, sign_in

PAGE = "/account/apps"


async def user_tokens(sandbox) -> dict:
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox)))
    assert answer.status_code == 200, answer.text
    return answer.json()


def bearer(token: str) -> dict:
    return {**REST_HEADERS, "Authorization": f"Bearer {token}"}


async def test_the_page_needs_a_session_and_is_linked_from_the_top_bar(sandbox):
    answer = await sandbox.get(PAGE)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?")
    await sign_in(sandbox)
    incidents = await sandbox.get("/incidents")
    assert 'href="/account/apps"' in incidents.text
    page = await sandbox.get(PAGE)
    assert page.status_code == 200
    assert "No app holds access to your account" in page.text
    assert 'aria-current="page">Authorized apps' in page.text


async def test_an_authorized_app_is_listed_with_its_scopes_and_revoke_ends_its_tokens(sandbox):
    tokens = await user_tokens(sandbox)
    assert (await sandbox.get("/api/incidents", headers=bearer(tokens["access_token"]))).status_code == 200

    page = await sandbox.get(PAGE)

    assert "Demo Monitor" in page.text and CLIENT_ID in page.text
    assert "See your incidents" in page.text and "See your services" in page.text
    assert 'data-confirm="Revoke Demo Monitor\'s access to your account?"' in page.text
    assert tokens["access_token"] not in page.text and tokens["refresh_token"] not in page.text
    form = re.search(r'<form method="post" action="/account/apps/revoke".*?</form>', page.text, re.S).group(0)
    assert f'name="client_id" value="{CLIENT_ID}"' in form

    answer = await sandbox.post("/account/apps/revoke",
                                data={"csrf_token": csrf(page.text, "/account/apps/revoke"), "client_id": CLIENT_ID})

    assert answer.status_code == 303 and answer.headers["location"] == f"{PAGE}?revoked={CLIENT_ID}"
    after = await sandbox.get(answer.headers["location"])
    assert "Demo Monitor no longer has access to your account" in after.text
    assert "No app holds access to your account" in after.text
    assert (await sandbox.get("/api/incidents", headers=bearer(tokens["access_token"]))).status_code == 401
    refreshed = await sandbox.post("/oauth/token", data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_revoke_touches_only_this_person_and_app_tokens(sandbox):
    mine = await user_tokens(sandbox)
    app_token = (await sandbox.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "as_account-us.acme incidents.read"})).json()["access_token"]
    page = await sandbox.get(PAGE)
    token = csrf(page.text, "/account/apps/revoke")
    for other in ("nobody", "x" * 300, None):  # unknown apps: nothing to revoke; nonsense: a 400 page
        answer = await sandbox.post("/account/apps/revoke",
                                    data={"csrf_token": token, **({"client_id": other} if other else {})})
        assert answer.status_code in (303, 400)
        if answer.status_code == 303:
            assert "no longer has access" not in (await sandbox.get(answer.headers["location"])).text
    assert (await sandbox.get("/api/incidents", headers=bearer(mine["access_token"]))).status_code == 200
    await sandbox.post("/account/apps/revoke", data={"csrf_token": token, "client_id": CLIENT_ID})
    assert (await sandbox.get("/api/incidents", headers=bearer(mine["access_token"]))).status_code == 401
    assert (await sandbox.get("/api/incidents", headers=bearer(app_token))).status_code == 200  # no user: kept


async def test_expired_tokens_do_not_count_and_names_are_escaped(sandbox):
    answer = await sandbox.put(f"/_sandbox/oauth-apps/{CLIENT_ID}", json={"name": "<b>Evil</b> & co"})
    assert answer.status_code == 200, answer.text
    await user_tokens(sandbox)
    page = await sandbox.get(PAGE)
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; co" in page.text and "<b>Evil</b>" not in page.text
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 31 * 86400})  # refresh tokens last 30 days
    await sign_in(sandbox)  # the session did not last that long either
    assert "No app holds access to your account" in (await sandbox.get(PAGE)).text
