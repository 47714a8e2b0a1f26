"""OpenID Connect ID tokens (contract section 8): RS256 JWTs with PagerDuty's claims, the JWKS that verifies
them, and the discovery document. Keys are made by `new_key` and kept by the store (one per database)."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER_PATH = "/global/oauth/anonymous"
JWKS_PATH = ISSUER_PATH + "/jwks"
ID_TOKEN_LIFETIME = timedelta(days=1)


def new_key() -> tuple[str, str]:
    """(kid, private key PEM): a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return uuid.uuid4().hex, pem.decode("ascii")


@functools.lru_cache(maxsize=8)
def _private(pem: str) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(pem.encode("ascii"), password=None)


def issuer(base_url: str) -> str:
    return base_url.rstrip("/") + ISSUER_PATH


def id_token(*, base_url: str, kid: str, pem: str, client_id: str, user_id: str, account_id: str,
             subdomain: str, now: datetime) -> str:
    claims = {
        "iss": issuer(base_url),
        "aud": [base_url.rstrip("/") + "/api", client_id],
        "sub": user_id,
        "azp": client_id,
        "account_id": account_id,
        "user_id": user_id,
        "subdomain": subdomain,
        "region": "us",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + ID_TOKEN_LIFETIME).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, _private(pem), algorithm="RS256", headers={"kid": kid})


def jwks(kid: str, pem: str) -> dict:
    jwk = json.loads(RSAAlgorithm.to_jwk(_private(pem).public_key()))
    return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}


def discovery(base_url: str, scopes: list[str]) -> dict:
    base = base_url.rstrip("/")
    return {
        "issuer": issuer(base),
        "authorization_endpoint": base + "/oauth/authorize",
        "token_endpoint": base + "/oauth/token",
        "revocation_endpoint": base + "/oauth/revoke",
        "jwks_uri": base + JWKS_PATH,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "aud", "sub", "azp", "account_id", "user_id", "subdomain", "region", "exp",
                             "iat", "nbf", "jti"],
    }
