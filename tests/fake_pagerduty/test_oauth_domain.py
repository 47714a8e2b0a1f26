"""OAuth's pure rules (fake_pagerduty/domain/oauth.py): PKCE, scopes, redirect URIs, token formats."""

from __future__ import annotations

import re

import pytest

from fake_pagerduty.domain import oauth

CALLBACK = "http://127.0.0.1:*/integrations/pagerduty/oauth/callback"


def test_pkce_s256_matches_rfc7636s_example():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert oauth.pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not oauth.pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN")
    assert not oauth.pkce_matches("short", oauth.s256("short"))  # RFC 7636: 43 to 128 characters
    assert not oauth.pkce_matches(verifier + "é" * 3, "x")
    assert not oauth.pkce_matches(verifier, "é")


@pytest.mark.parametrize(("uri", "allowed"), [
    ("http://127.0.0.1:8000/integrations/pagerduty/oauth/callback", True),
    ("http://127.0.0.1:51234/integrations/pagerduty/oauth/callback", True),
    ("http://127.0.0.1/integrations/pagerduty/oauth/callback", True),
    ("http://127.0.0.1:8000/integrations/pagerduty/oauth/callback/", False),
    ("http://127.0.0.1:8000/integrations/pagerduty/oauth/callback?x=1", False),
    ("http://127.0.0.1:8000/integrations/pagerduty/oauth/callback#f", False),
    ("https://127.0.0.1:8000/integrations/pagerduty/oauth/callback", False),
    ("http://evil.test:8000/integrations/pagerduty/oauth/callback", False),
    ("http://user@127.0.0.1:8000/integrations/pagerduty/oauth/callback", False),
    ("/integrations/pagerduty/oauth/callback", False),
    ("", False),
])
def test_redirect_uris_match_a_pattern_with_any_port_and_exactly_its_path(uri, allowed):
    assert oauth.redirect_allowed(uri, [CALLBACK]) is allowed


def test_an_exactly_registered_redirect_uri_matches_only_itself():
    assert oauth.redirect_allowed("https://app.test/cb?x=1", ["https://app.test/cb?x=1"])
    assert not oauth.redirect_allowed("https://app.test/cb?x=2", ["https://app.test/cb?x=1"])
    assert not oauth.redirect_allowed(None, ["https://app.test/cb"])


def test_user_scopes_always_add_openid_and_refuse_unknown_ones():
    allowed = ["incidents.read", "services.write"]
    assert oauth.user_scopes("incidents.read", "scoped", allowed) == ["openid", "incidents.read"]
    assert oauth.user_scopes("openid services.write openid", "scoped", allowed) == ["openid", "services.write"]
    assert oauth.user_scopes("", "scoped", allowed) == ["openid", *allowed]
    assert oauth.user_scopes("write", "classic", []) == ["openid", "write"]
    people = ["users:contact_methods.read", "oncalls.read"]  # a scope of a resource's part (issue 15)
    assert oauth.user_scopes("users:contact_methods.read", "scoped", people) == ["openid", "users:contact_methods.read"]
    assert oauth.grants(["users:contact_methods.write"], "users:contact_methods.read")
    assert not oauth.grants(["users.read"], "users:contact_methods.read")
    for requested, kind in [("incidents.write", "scoped"), ("read", "scoped"), ("incidents.read", "classic"),
                            ("admin", "classic"), ("incidents.delete", "scoped"), ("users:.read", "scoped"),
                            ("users:contact_methods:x.read", "scoped")]:
        with pytest.raises(oauth.OAuthError) as caught:
            oauth.user_scopes(requested, kind, allowed)
        assert caught.value.body() == {"error": "invalid_request", "error_description": "Invalid scope"}


def test_app_scopes_need_exactly_one_account_scope():
    account, scopes = oauth.app_scopes("as_account-us.acme incidents.read", ["incidents.read"])
    assert (account.region, account.subdomain) == ("us", "acme")
    assert scopes == ["as_account-us.acme", "incidents.read"]
    assert oauth.app_scopes("as_account-eu.acme", [])[0].region == "eu"
    for requested in ["incidents.read", "as_account-us.acme as_account-us.globex", "as_account-xx.acme",
                      "as_account-us.acme incidents.write", "as_account-us.acme openid"]:
        with pytest.raises(oauth.OAuthError):
            oauth.app_scopes(requested, ["incidents.read"])


def test_which_scopes_grant_an_endpoint():
    assert oauth.grants(["openid", "incidents.read"], "incidents.read")
    assert not oauth.grants(["openid", "incidents.read"], "incidents.write")
    assert oauth.grants(["incidents.write"], "incidents.read")
    assert not oauth.grants(["services.write"], "incidents.read")
    assert oauth.grants(["read"], "services.read") and not oauth.grants(["read"], "services.write")
    assert oauth.grants(["write"], "services.write")


def test_token_formats_lifetimes_and_words():
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(r"pdus\+_0XBPWQQ_" + uuid, oauth.new_access_token())
    assert re.fullmatch(r"pdus\+_1XBPWQQ_" + uuid, oauth.new_refresh_token())
    assert oauth.new_code() != oauth.new_code()
    assert oauth.access_lifetime("scoped").total_seconds() == 86400
    assert oauth.access_lifetime("classic").days == 30
    assert oauth.REFRESH_LIFETIME.days == 30 and oauth.CODE_LIFETIME.total_seconds() == 30
    assert oauth.scope_words("incidents.read") == "See your incidents"
    assert oauth.scope_words("escalation_policies.write") == "Create and change your escalation policies"
    assert oauth.same_secret("s", oauth.token_hash("s")) and not oauth.same_secret("t", oauth.token_hash("s"))
