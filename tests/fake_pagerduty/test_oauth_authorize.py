"""`/oauth/authorize` (issue 14): error pages, sign-in first, the consent page, Deny and Authorize."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

from tests.fake_pagerduty.oauth_helpers import REDIRECT, authorize_params, authorize_url, consent
from tests.fake_pagerduty.webpages import base_of, csrf, query_of, sign_in


@pytest.mark.parametrize(("overrides", "title"), [
    ({"client_id": "nobody"}, "Unknown OAuth app"),
    ({"client_id": None}, "Unknown OAuth app"),
    ({"redirect_uri": "http://evil.test/integrations/pagerduty/oauth/callback"}, "This redirect URI is not registered"),
    ({"redirect_uri": "http://127.0.0.1:8000/elsewhere"}, "This redirect URI is not registered"),
    ({"redirect_uri": None}, "This redirect URI is not registered"),
    ({"response_type": "token"}, "Unsupported response type"),
    ({"code_challenge_method": "plain"}, "Unsupported code challenge"),
    ({"code_challenge_method": None}, "Unsupported code challenge"),  # RFC 7636's default, plain, is refused
    ({"code_challenge": None}, "Unsupported code challenge"),
])
async def test_a_bad_request_gets_an_error_page_never_a_redirect(sandbox, overrides, title):
    for signed_in in (False, True):
        if signed_in:
            await sign_in(sandbox)
        response = await sandbox.get(authorize_url(**overrides))
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")
        assert title in response.text and "location" not in response.headers
        assert 'class="topbar"' in response.text  # the console's layout


async def test_without_a_session_the_sign_in_page_comes_first_then_the_request(sandbox):
    url = authorize_url()
    response = await sandbox.get(url)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?" + urlencode({"next": url})
    signed = await sign_in(sandbox, next_path=url)
    assert signed.status_code == 303 and signed.headers["location"] == url


async def test_the_consent_page_names_the_app_the_account_and_the_scopes(sandbox):
    await sign_in(sandbox)
    page = await sandbox.get(authorize_url())
    assert page.status_code == 200
    text = page.text
    assert "Demo Monitor" in text and "Acme Corp" in text
    assert "See your incidents" in text and "See your services" in text and "Know who you are" in text
    assert ">Authorize</button>" in text and ">Deny</button>" in text
    assert 'name="csrf_token"' in text and "<script>" not in text and "style=" not in text
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_deny_goes_back_with_access_denied_and_the_state(sandbox):
    response = await consent(sandbox, "deny")
    assert response.status_code == 302
    assert response.headers["location"] == (
        REDIRECT + "?error=access_denied&error_description=The+resource+owner+or+authorization+server+denied"
        "+the+request.&state=st-1")


async def test_authorize_goes_back_with_a_code_and_the_state(sandbox):
    response = await consent(sandbox, "authorize", state="x y")
    location = response.headers["location"]
    assert response.status_code == 302 and base_of(location) == REDIRECT
    query = query_of(location)
    assert query["state"] == ["x y"] and len(query["code"][0]) >= 32
    assert set(query) == {"code", "state"}


async def test_without_state_none_is_sent_back(sandbox):
    response = await consent(sandbox, "authorize", state=None)
    assert set(query_of(response.headers["location"])) == {"code"}


async def test_a_scope_the_app_may_not_have_goes_back_as_invalid_scope(sandbox):
    await sign_in(sandbox)
    response = await sandbox.get(authorize_url(scope="users.write"))
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == ["invalid_scope"]


async def test_the_form_needs_the_sessions_csrf_token(sandbox):
    await sign_in(sandbox)
    page = await sandbox.get(authorize_url())
    for token in ("", "forged", csrf(page.text, "/oauth/authorize") + "x"):
        response = await sandbox.post("/oauth/authorize",
                                      data={**authorize_params(), "csrf_token": token, "decision": "authorize"})
        assert response.status_code == 403


async def test_posting_without_a_session_goes_to_sign_in(sandbox):
    response = await sandbox.post("/oauth/authorize", data={**authorize_params(), "decision": "authorize"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=%2Foauth%2Fauthorize%3F")


async def test_odd_values_get_a_clear_page_never_a_500(sandbox):
    await sign_in(sandbox)
    for query in ("client_id=%00", "client_id=demo-monitor-oauth&redirect_uri=%ff%fe", "redirect_uri=" + "a" * 5000,
                  "client_id=demo-monitor-oauth&redirect_uri=" + quote(REDIRECT) + "&response_type=code&scope=%00"):
        response = await sandbox.get("/oauth/authorize?" + query)
        assert response.status_code in (302, 400), (query, response.status_code)
