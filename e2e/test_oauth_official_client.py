"""PagerDuty's official Python client (`pagerduty`, `OAuthTokenClient`) running the OAuth flows against a real
sandbox process over HTTPS: the README's recipe (section "OAuth apps"), run as written — only the HTTPS port
and the CA file are this sandbox's — with an httpx "browser" that signs in as Dana and approves the consent page
where the recipe says `approve_in_browser`. Client credentials and PKCE end to end, REST calls with the tokens
through `RestApiV2Client(auth_type="bearer")`, a refresh, and the OAuth journal's account of it all."""

from __future__ import annotations

import html
import re
import ssl
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pagerduty
import pytest

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[1] / "README.md"
RECIPE_PORT = "https://127.0.0.1:8443"
RECIPE_CA = "var/fake-pagerduty-ca/ca.pem"
REDIRECT = "http://127.0.0.1:8000/integrations/pagerduty/oauth/callback"


def recipe() -> str:
    """The README's python block in "OAuth apps" that uses OAuthTokenClient."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## OAuth apps\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "OAuthTokenClient" in b]
    assert len(blocks) == 1, "the README's OAuth section should have one OAuthTokenClient recipe"
    return blocks[0]


def _hidden_fields(page: str, action: str) -> dict[str, str]:
    form = page[page.index(f'action="{action}"'):]
    form = form[:form.index("</form>")]
    return {html.unescape(name): html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}


def browser_approval(ca: ssl.SSLContext):
    """`approve_in_browser(url)`: what a person does in a browser — sign in when asked, press Authorize — and
    the code the sandbox sends back to the redirect URI."""

    def approve_in_browser(url: str) -> str:
        with httpx.Client(verify=ca, follow_redirects=False, timeout=10) as browser:
            answer = browser.get(url)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?")
            login = browser.get(urljoin(url, answer.headers["location"]))
            form = {**_hidden_fields(login.text, "/login"), "email": "demo@acme.test", "password": "demo"}
            signed_in = browser.post(urljoin(url, "/login"), data=form)
            assert signed_in.status_code == 303, signed_in.text[:300]
            consent = browser.get(urljoin(url, signed_in.headers["location"]))
            assert consent.status_code == 200 and "Demo Monitor wants to use your PagerDuty account" in consent.text
            approved = browser.post(urljoin(url, "/oauth/authorize"),
                                    data={**_hidden_fields(consent.text, "/oauth/authorize"), "decision": "authorize"})
            assert approved.status_code == 302, approved.text[:300]
            location = approved.headers["location"]
            assert location.startswith(REDIRECT + "?")
            return parse_qs(urlsplit(location).query)["code"][0]

    return approve_in_browser


def test_the_readme_recipe_runs_both_flows_with_the_official_client(fake_pagerduty):
    code = recipe()
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
