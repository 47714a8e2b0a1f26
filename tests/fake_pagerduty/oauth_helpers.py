"""Helpers for the OAuth tests: an authorization request for the seeded Demo Monitor app, and a code."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from fake_pagerduty.domain.oauth import s256
from tests.fake_pagerduty.webpages import csrf, query_of, sign_in

CLIENT_ID, CLIENT_SECRET = "demo-monitor-oauth", "demo-monitor-oauth-secret"
REDIRECT = "http://127.0.0.1:8000/integrations/pagerduty/oauth/callback"
VERIFIER = "v" * 20 + "-verifier-of-pkce-with-enough-characters"
SCOPE = "incidents.read services.read"


def authorize_params(**overrides) -> dict[str, str]:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": SCOPE,
              "state": "st-1", "code_challenge": s256(VERIFIER), "code_challenge_method": "S256"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize_url(**overrides) -> str:
    return "/oauth/authorize?" + urlencode(authorize_params(**overrides))


async def consent(client: httpx.AsyncClient, decision: str = "authorize", **overrides) -> httpx.Response:
    """Signed in (if not yet), the consent page's form posted with `decision`."""
    page = await client.get(authorize_url(**overrides))
    if page.status_code == 303:
        await sign_in(client)
        page = await client.get(authorize_url(**overrides))
    assert page.status_code == 200, page.text
    return await client.post("/oauth/authorize",
                             data={**authorize_params(**overrides), "csrf_token": csrf(page.text, "/oauth/authorize"),
                                   "decision": decision})


async def code(client: httpx.AsyncClient, **overrides) -> str:
    response = await consent(client, **overrides)
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])["code"][0]


def token_form(the_code: str, **overrides) -> dict[str, str]:
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "code": the_code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}
