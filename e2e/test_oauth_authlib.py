"""A generic OAuth 2.0 library against a real sandbox process: the README's Authlib recipe (section "OAuth
apps", `authlib.integrations.httpx_client.OAuth2Client`), run as written — only the sandbox's port is this
one's — with the httpx "browser" of e2e/readme_oauth.py where the recipe says `approve_in_browser`. Authorization
code with PKCE S256, a REST call with the Bearer token, a refresh, a revoke, an app token, and the OAuth journal's
account of it all."""

from __future__ import annotations

import httpx
import pytest

from e2e.readme_oauth import browser_approval, recipe

pytestmark = pytest.mark.e2e

RECIPE_BASE = "http://127.0.0.1:8090"


def test_the_readme_recipe_runs_with_authlib(fake_pagerduty):
    code = recipe("authlib")
    assert code.count(RECIPE_BASE) == 1
    namespace: dict = {"approve_in_browser": browser_approval()}

    exec(compile(code.replace(RECIPE_BASE, fake_pagerduty.url), "README.md (Authlib recipe)", "exec"),  # noqa: S102
         namespace)

    token = namespace["token"]
    assert token["scope"] == "openid incidents.read services.read" and token["token_type"] == "bearer"
    assert "Acme Website" in [s["name"] for s in namespace["services"]]
    assert namespace["app_token"]["scope"] == "as_account-us.acme incidents.read"
    assert namespace["incidents"] == []
    revoked = httpx.get(f"{fake_pagerduty.rest_url}/services", timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}", "Accept": "application/vnd.pagerduty+json;version=2"})
    assert revoked.status_code == 401  # the revoked refresh token took its access token with it
    journal = fake_pagerduty.client.get("/_sandbox/oauth/requests", params={"client_id": "demo-monitor-oauth"})
    got = [(r["endpoint"], r["grant_type"], r["outcome"]) for r in reversed(journal.json()["requests"])]
    assert got == [("authorize", "authorization_code", "login_required"),
                   ("authorize", "authorization_code", "ok"),  # the consent page
                   ("authorize", "authorization_code", "ok"),  # Authorize: the code
                   ("token", "authorization_code", "ok"),
                   ("token", "refresh_token", "ok"),
                   ("revoke", None, "ok"),
                   ("token", "client_credentials", "ok")]
