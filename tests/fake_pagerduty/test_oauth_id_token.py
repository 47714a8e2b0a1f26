"""ID tokens (issue 14): RS256 JWTs verified with PyJWT against the sandbox's JWKS, found by discovery."""

from __future__ import annotations

import jwt

from tests.fake_pagerduty.oauth_helpers import CLIENT_ID, code, token_form

BASE = "http://sandbox.test"
ISSUER = BASE + "/global/oauth/anonymous"


async def test_discovery_names_the_issuer_endpoints_and_keys(sandbox):
    for path in ("/.well-known/openid-configuration", "/global/oauth/anonymous/.well-known/openid-configuration"):
        doc = (await sandbox.get(path)).json()
        assert doc["issuer"] == ISSUER
        assert doc["jwks_uri"] == ISSUER + "/jwks"
        assert doc["authorization_endpoint"] == BASE + "/oauth/authorize"
        assert doc["token_endpoint"] == BASE + "/oauth/token"
        assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
        assert doc["code_challenge_methods_supported"] == ["S256"]


async def test_the_id_token_verifies_against_the_jwks_with_the_contracts_claims(sandbox):
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox)))
    id_token = answer.json()["id_token"]
    doc = (await sandbox.get("/.well-known/openid-configuration")).json()
    jwks = (await sandbox.get(doc["jwks_uri"].removeprefix(BASE))).json()
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == "RS256"
    [key] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims = jwt.decode(id_token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER)
    assert claims["aud"] == [BASE + "/api", CLIENT_ID]
    assert (claims["sub"], claims["user_id"], claims["account_id"]) == ("PDANA00", "PDANA00", "PACME00")
    assert (claims["subdomain"], claims["region"], claims["azp"]) == ("acme", "us", CLIENT_ID)
    assert claims["exp"] > claims["iat"] == claims["nbf"] and claims["jti"]


async def test_the_key_is_kept_and_a_forged_token_fails(sandbox):
    first = (await sandbox.get("/global/oauth/anonymous/jwks")).json()
    assert (await sandbox.get("/global/oauth/anonymous/jwks")).json() == first
    assert "d" not in first["keys"][0]  # the public half only
    answer = await sandbox.post("/oauth/token", data=token_form(await code(sandbox)))
    header, payload, signature = answer.json()["id_token"].split(".")
    forged = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    key = jwt.PyJWK(first["keys"][0]).key
    try:
        jwt.decode(forged, key, algorithms=["RS256"], audience=CLIENT_ID)
    except jwt.InvalidSignatureError:
        pass
    else:
        raise AssertionError("a forged signature verified")
