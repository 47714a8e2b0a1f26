"""`/_sandbox/oauth-apps` (issue 14): list, get, create or update, delete; secrets hashed and never listed."""

from __future__ import annotations

import re

import httpx
import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.settings import Settings
from tests.fake_pagerduty.oauth_helpers import authorize_url, token_form
from tests.fake_pagerduty.webpages import sign_in

NEW = {"name": "Globex Monitor", "redirect_uris": ["http://127.0.0.1:*/cb"], "scopes": ["incidents.read"]}


async def test_the_seeded_app_is_listed_without_its_secret(sandbox):
    listed = (await sandbox.get("/_sandbox/oauth-apps")).json()
    [app] = listed["oauth_apps"]
    assert app["client_id"] == "demo-monitor-oauth" and "secret_hash" not in app and "client_secret" not in app
    one = await sandbox.get("/_sandbox/oauth-apps/demo-monitor-oauth")
    assert one.status_code == 200 and one.json()["oauth_app"]["name"] == "Demo Monitor"
    assert (await sandbox.get("/_sandbox/oauth-apps/nope")).status_code == 404


async def test_a_new_app_gets_a_secret_shown_once_and_works(sandbox):
    created = await sandbox.put("/_sandbox/oauth-apps/globex", json=NEW)
    assert created.status_code == 201, created.text
    app = created.json()["oauth_app"]
    secret = app["client_secret"]
    assert (app["kind"], app["client_type"], app["account_id"]) == ("scoped", "confidential", None)
    assert "client_secret" not in (await sandbox.get("/_sandbox/oauth-apps/globex")).json()["oauth_app"]
    answer = await sandbox.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "globex", "client_secret": secret,
        "scope": "as_account-us.acme incidents.read"})
    assert answer.status_code == 200, answer.text


async def test_an_update_keeps_left_out_fields_and_can_set_the_secret(sandbox):
    updated = await sandbox.put("/_sandbox/oauth-apps/demo-monitor-oauth",
                                json={"redirect_uris": ["http://127.0.0.1:7000/cb"], "account": "acme"})
    assert updated.status_code == 200, updated.text
    app = updated.json()["oauth_app"]
    assert app["name"] == "Demo Monitor" and app["account_id"] == "PACME00" and "client_secret" not in app
    await sign_in(sandbox)
    refused = await sandbox.get(authorize_url())  # the seeded callback URI, no longer registered
    assert refused.status_code == 400 and "This redirect URI is not registered" in refused.text
    allowed = await sandbox.get(authorize_url(redirect_uri="http://127.0.0.1:7000/cb"))
    assert allowed.status_code == 200 and "Demo Monitor wants to use your PagerDuty account" in allowed.text
    await sandbox.put("/_sandbox/oauth-apps/demo-monitor-oauth", json={"client_secret": "a-new-secret"})
    answer = await sandbox.post("/oauth/token", data=token_form("x", grant_type="client_credentials",
                                                                client_secret="demo-monitor-oauth-secret",
                                                                scope="as_account-us.acme"))
    assert answer.status_code == 401
    answer = await sandbox.post("/oauth/token", data=token_form("x", grant_type="client_credentials",
                                                                client_secret="a-new-secret",
                                                                scope="as_account-us.acme"))
    assert answer.status_code == 200


@pytest.mark.parametrize("body", [
    [], {"redirect_uris": []}, {"redirect_uris": ["ftp://x/cb"]}, {"redirect_uris": ["http://127.0.0.1:*"]},
    {"redirect_uris": ["http://a.test/cb"], "kind": "odd"}, {"redirect_uris": ["http://a.test/cb"], "scopes": ["x"]},
    {"redirect_uris": ["http://a.test/cb"], "client_secret": "short"}, {"redirect_uris": ["http://a.test/cb"], "x": 1},
    {"redirect_uris": ["http://a.test/cb"], "account": "nosuch"}, {"name": "no redirect uris"},
    {"redirect_uris": ["http://a.test/cb"], "client_id": "other"},
    {"redirect_uris": ["http://a.test/cb"], "kind": "classic", "scopes": ["incidents.read"]},
])
async def test_bad_bodies_are_400_naming_the_problem(sandbox, body):
    answer = await sandbox.put("/_sandbox/oauth-apps/bad", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["errors"]


async def test_delete_removes_the_app_and_a_reset_brings_the_seeded_one_back(sandbox):
    assert (await sandbox.delete("/_sandbox/oauth-apps/demo-monitor-oauth")).json() == {"deleted": 1}
    assert (await sandbox.delete("/_sandbox/oauth-apps/demo-monitor-oauth")).status_code == 404
    assert (await sandbox.get("/_sandbox/oauth-apps")).json() == {"oauth_apps": []}
    await sandbox.post("/_sandbox/reset")
    assert len((await sandbox.get("/_sandbox/oauth-apps")).json()["oauth_apps"]) == 1


async def test_the_sandbox_page_lists_the_oauth_apps_without_secrets(sandbox):
    await sandbox.put("/_sandbox/oauth-apps/globex-cli", json={
        "name": "Globex <CLI>", "kind": "classic", "client_type": "public", "client_secret": "globex-secret-1",
        "redirect_uris": ["http://localhost:*/callback"]})
    page = (await sandbox.get("/_sandbox")).text
    table = page[page.index('aria-label="OAuth apps"'):]
    table = table[:table.index("</table>")]
    text = " ".join(re.sub(r"<[^>]+>", " ", table.replace("<wbr>", "")).split())  # <wbr>: a break point
    assert ("demo-monitor-oauth Demo Monitor scoped confidential"
            " http://127.0.0.1:*/integrations/pagerduty/oauth/callback") in text
    assert "incidents.read incidents.write services.read services.write" in text
    assert "globex-cli Globex &lt;CLI&gt; classic public http://localhost:*/callback —" in text  # escaped
    assert "globex-secret-1" not in page and "demo-monitor-oauth-secret" not in page and "secret_hash" not in page


async def test_with_a_sandbox_token_the_page_leaves_the_apps_to_its_script(tmp_path):
    """The page is open to anyone who can reach it; the apps come from `/_sandbox/oauth-apps` with the token."""
    settings = Settings(db_path=str(tmp_path / "s.db"), sandbox_token="s3cret")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            page = (await client.get("/_sandbox")).text
    assert "OAuth apps" in page and "demo-monitor-oauth" not in page
