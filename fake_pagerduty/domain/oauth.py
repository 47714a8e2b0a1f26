"""OAuth 2.0 apps' rules (contract section 8): scopes, redirect URIs, PKCE, token formats and lifetimes,
and RFC 6749's error bodies. Pure: no SQL, no HTTP.

- Scopes: classic apps ask for `read` or `write`; scoped apps for `<resource>.<read|write>` (and app tokens
  for `as_account-<us|eu>.<subdomain>`); `openid` is always granted with a user token.
- Redirect URIs: an app registers exact URIs, or `http://127.0.0.1:*/path` (any port, that path exactly).
- Codes and tokens are random; only their SHA-256 is stored (`token_hash`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from fake_pagerduty.domain.callbacks import parse_pattern, parse_url_origin
from fake_pagerduty.domain.clock import parse_iso

SCOPED, CLASSIC = "scoped", "classic"
CONFIDENTIAL, PUBLIC = "confidential", "public"
ACCESS_PREFIX = "pdus+_0XBPWQQ_"
REFRESH_PREFIX = "pdus+_1XBPWQQ_"
CODE_LIFETIME = timedelta(seconds=30)
SCOPED_ACCESS_LIFETIME = timedelta(days=1)
CLASSIC_ACCESS_LIFETIME = timedelta(days=30)
REFRESH_LIFETIME = timedelta(days=30)
DENIED = "The resource owner or authorization server denied the request."

_RESOURCE_SCOPE = re.compile(r"^[a-z][a-z_]{0,63}(:[a-z][a-z_]{0,63})?\.(read|write)$")  # users:contact_methods.read
_AS_ACCOUNT = re.compile(r"^as_account-(us|eu)\.([a-z0-9][a-z0-9-]{0,62})$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")

# What people read on the consent page, per resource (anything else: the resource's own name).
_RESOURCE_WORDS = {"incidents": "incidents", "services": "services", "users": "users", "schedules": "schedules",
                   "escalation_policies": "escalation policies", "webhook_subscriptions": "webhook subscriptions",
                   "change_events": "change events", "teams": "teams", "priorities": "priorities"}


class OAuthError(Exception):
    """An RFC 6749 error: `{"error", "error_description"}` with its HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_client() -> OAuthError:
    return OAuthError("invalid_client", "Client authentication failed", 401)


def invalid_grant(description: str = "The provided authorization grant is invalid, expired or revoked") -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_scope() -> OAuthError:
    """The contract's words for a scope that is not known."""
    return OAuthError("invalid_request", "Invalid scope")


# ---- hashing and formats -------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(given: str, expected_hash: str) -> bool:
    return hmac.compare_digest(token_hash(given), expected_hash)


def new_access_token() -> str:
    return ACCESS_PREFIX + str(uuid.uuid4())


def new_refresh_token() -> str:
    return REFRESH_PREFIX + str(uuid.uuid4())


def new_code() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def access_lifetime(kind: str) -> timedelta:
    return SCOPED_ACCESS_LIFETIME if kind == SCOPED else CLASSIC_ACCESS_LIFETIME


# ---- PKCE ------------------------------------------------------------------------------------------------------


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: base64url(sha256(verifier)) == challenge, compared in constant time."""
    if not _VERIFIER.match(verifier) or not challenge.isascii():
        return False
    return hmac.compare_digest(s256(verifier).encode(), challenge.encode())


# ---- scopes ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AsAccount:
    region: str
    subdomain: str


def split_scopes(text: str) -> list[str]:
    seen: list[str] = []
    for scope in text.split():
        if scope not in seen:
            seen.append(scope)
    return seen


def as_account(scope: str) -> AsAccount | None:
    match = _AS_ACCOUNT.match(scope)
    return AsAccount(match.group(1), match.group(2)) if match else None


def scope_known(scope: str, kind: str) -> bool:
    if scope == "openid":
        return True
    if kind == CLASSIC:
        return scope in ("read", "write")
    return bool(_RESOURCE_SCOPE.match(scope))


def user_scopes(requested: str, kind: str, allowed: list[str]) -> list[str]:
    """The scopes a user token is granted for `requested` (with `openid` first). Raises `invalid_scope` for
    an unknown scope or one the app was not registered for."""
    scopes = [s for s in split_scopes(requested) if s != "openid"]
    if not scopes:
        scopes = ["read"] if kind == CLASSIC else list(allowed)
    for scope in scopes:
        if not scope_known(scope, kind) or (kind == SCOPED and scope not in allowed):
            raise invalid_scope()
    return ["openid", *scopes]


def app_scopes(requested: str, allowed: list[str]) -> tuple[AsAccount, list[str]]:
    """An app token's scopes: exactly one `as_account-<region>.<subdomain>` and resource scopes the app has."""
    scopes = split_scopes(requested)
    accounts = [a for a in map(as_account, scopes) if a]
    if len(accounts) != 1:
        raise invalid_scope()
    for scope in scopes:
        if as_account(scope) is None and (not scope_known(scope, SCOPED) or scope == "openid"
                                          or scope not in allowed):
            raise invalid_scope()
    return accounts[0], scopes


def scope_words(scope: str) -> str:
    """A scope in plain words for the consent page."""
    if scope == "openid":
        return "Know who you are (your name, email and account)"
    if scope == "read":
        return "Read all of your account's data"
    if scope == "write":
        return "Read and change all of your account's data"
    resource, _, access = scope.partition(".")
    words = _RESOURCE_WORDS.get(resource, resource.replace("_", " "))
    return f"See your {words}" if access == "read" else f"Create and change your {words}"


def grants(scopes: list[str], required: str) -> bool:
    """Whether a token's scopes allow an endpoint that needs `required` (`incidents.read` …). Classic `write`
    allows everything, `read` only reads; a scoped `x.write` also allows `x.read`."""
    if "write" in scopes:
        return True
    resource, _, access = required.partition(".")
    if access == "read" and "read" in scopes:
        return True
    return required in scopes or (access == "read" and f"{resource}.write" in scopes)


# ---- redirect URIs ---------------------------------------------------------------------------------------------


def _split_pattern(pattern: str) -> tuple[str, str]:
    """`http://127.0.0.1:*/integrations/cb` → (`http://127.0.0.1:*`, `/integrations/cb`)."""
    scheme, sep, rest = pattern.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host}", slash + path


def redirect_allowed(uri: object, registered: list) -> bool:
    """True if `uri` is an absolute http(s) URL equal to a registered URI, or matching a registered pattern's
    origin (port `*`: any) with exactly its path, and carrying no query and no fragment."""
    if not isinstance(uri, str) or parse_url_origin(uri) is None:
        return False
    parts = urlsplit(uri)
    for entry in registered:
        if not isinstance(entry, str):
            continue
        if entry == uri:
            return True
        origin_text, path = _split_pattern(entry)
        origin, pattern = parse_url_origin(uri), parse_pattern(origin_text)
        if pattern is None or origin is None or parts.query or parts.fragment or "#" in uri:
            continue
        if ((pattern.scheme, pattern.host) == (origin.scheme, origin.host) and pattern.port in (None, origin.port)
                and parts.path == path):
            return True
    return False


def expired(expires_at: str | None, now: datetime) -> bool:
    """Whether a code or token with this expiry (ISO 8601; unreadable counts as expired) has run out."""
    moment = parse_iso(expires_at) if expires_at else None
    return moment is None or moment <= now
