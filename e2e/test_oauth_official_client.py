"""PagerDuty's official Python client (`pagerduty`, `OAuthTokenClient`) running the OAuth flows against a real
sandbox process over HTTPS: the README's recipe (section "OAuth apps"), run as written — only the HTTPS port
and the CA file are this sandbox's — with an httpx "browser" that signs in as Dana and approves the consent page
where the recipe says `approve_in_browser`. Client credentials and PKCE end to end, REST calls with the tokens
through `RestApiV2Client(auth_type="bearer")`, a refresh, and the OAuth journal's account of it all."""

from __future__ import annotations

import ssl

import pagerduty
import pytest

from e2e.readme_oauth import REDIRECT, browser_approval, recipe

pytestmark = pytest.mark.e2e

RECIPE_PORT = "https://127.0.0.1:8443"
RECIPE_CA = "var/fake-pagerduty-ca/ca.pem"


def test_the_readme_recipe_runs_both_flows_with_the_official_client(fake_pagerduty):
    code = recipe("OAuthTokenClient")
    assert code.count(RECIPE_PORT) == 3 and code.count(RECIPE_CA) == 1
    code = code.replace(RECIPE_PORT, fake_pagerduty.https_url).replace(RECIPE_CA, str(fake_pagerduty.ca_pem_path))
    ca = ssl.create_default_context(cafile=str(fake_pagerduty.ca_pem_path))
    namespace: dict = {"approve_in_browser": browser_approval(ca)}

    exec(compile(code, "README.md (OAuth apps recipe)", "exec"), namespace)  # noqa: S102 - our own README

    assert namespace["app_token"]["scope"] == "as_account-us.acme incidents.read services.read"
    assert "Acme Website" in [s["name"] for s in namespace["services"]]
    assert namespace["incidents"] == []
    refreshed = namespace["user_token"]
    assert refreshed["scope"] == "openid incidents.read services.read" and refreshed["refresh_token"]
    assert "expiration_date" in refreshed  # the client's amendment: it parsed the sandbox's expires_in
    journal = fake_pagerduty.client.get("/_sandbox/oauth/requests", params={"client_id": "demo-monitor-oauth"})
    got = [(r["endpoint"], r["grant_type"], r["outcome"]) for r in reversed(journal.json()["requests"])]
    assert got == [("token", "client_credentials", "ok"),
                   ("authorize", "authorization_code", "login_required"),
                   ("authorize", "authorization_code", "ok"),  # the consent page
                   ("authorize", "authorization_code", "ok"),  # Authorize: the code
                   ("token", "authorization_code", "ok"),
                   ("token", "refresh_token", "ok")]


def test_the_snag_the_recipe_works_around_and_a_failed_exchange_in_the_journal(fake_pagerduty):
    ca = ssl.create_default_context(cafile=str(fake_pagerduty.ca_pem_path))
    oauth = pagerduty.OAuthTokenClient("demo-monitor-oauth-secret", "demo-monitor-oauth",
                                       base_url=fake_pagerduty.https_url, verify=ca)
    verifier, challenge = oauth.generate_s256_pkce_params()
    if not hasattr(oauth, "client_id"):  # pagerduty 7.2; a later release may fix it
        with pytest.raises(AttributeError, match="client_id"):
            oauth.get_pkce_authorize_url("incidents.read", REDIRECT, challenge)
        oauth.client_id = "demo-monitor-oauth"
    code = browser_approval(ca)(oauth.get_pkce_authorize_url("incidents.read", REDIRECT, challenge))

    with pytest.raises(pagerduty.HttpError) as failed:
        oauth.get_new_token_from_code_with_pkce(code, "incidents.read", REDIRECT, "w" * 43 + "not-the-verifier")

    assert failed.value.response.status_code == 400
    assert failed.value.response.json()["error"] == "invalid_grant"
    [newest] = fake_pagerduty.client.get("/_sandbox/oauth/requests", params={"limit": 1}).json()["requests"]
    assert (newest["endpoint"], newest["outcome"], newest["description"]) == (
        "token", "invalid_grant", "The code_verifier does not match the code_challenge")
    with pytest.raises(pagerduty.HttpError):  # the code was tried once: it is used up
        oauth.get_new_token_from_code_with_pkce(code, "incidents.read", REDIRECT, verifier)
