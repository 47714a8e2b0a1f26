"""OAuth apps as the sandbox controls edit them (`PUT /_sandbox/oauth-apps/{client_id}`): the fields and the
values each accepts. Pure: the handler looks up the account and stores the result."""

from __future__ import annotations

from typing import Any

from fake_pagerduty.domain import oauth
from fake_pagerduty.domain.callbacks import parse_pattern, parse_url_origin

EDITABLE = ("name", "client_secret", "kind", "client_type", "redirect_uris", "scopes", "account")
SHOWN = ("name", "kind", "client_type", "redirect_uris", "scopes", "account_id")
CHOICES = {"kind": (oauth.SCOPED, oauth.CLASSIC), "client_type": (oauth.CONFIDENTIAL, oauth.PUBLIC)}


def redirect_uri_ok(value: object) -> bool:
    """An absolute http(s) URI, or a pattern whose port is `*` followed by a path."""
    if not isinstance(value, str) or "#" in value:
        return False
    if parse_url_origin(value) is not None:
        return True
    scheme, sep, rest = value.partition("://")
    host, slash, path = rest.partition("/")
    return bool(sep and slash) and host.endswith(":*") and parse_pattern(f"{scheme}://{host}") is not None


def _problems(doc: dict, kind: str) -> list[str]:
    found = []
    name = doc.get("name")
    if "name" in doc and not (isinstance(name, str) and 0 < len(name.strip()) <= 255):
        found.append("'name' must be a non-empty string of at most 255 characters")
    secret = doc.get("client_secret")
    if "client_secret" in doc and not (isinstance(secret, str) and 8 <= len(secret) <= 255):
        found.append("'client_secret' must be a string of 8 to 255 characters")
    for field, allowed in CHOICES.items():
        if field in doc and doc[field] not in allowed:
            found.append(f"'{field}' must be one of: {', '.join(allowed)}")
    uris = doc.get("redirect_uris")
    if "redirect_uris" in doc and not (isinstance(uris, list) and uris and all(map(redirect_uri_ok, uris))):
        found.append("'redirect_uris' must be a non-empty list of http(s) URIs"
                     " (a port may be '*': http://127.0.0.1:*/callback)")
    scopes = doc.get("scopes")
    if "scopes" in doc and not (isinstance(scopes, list) and all(
            isinstance(s, str) and s != "openid" and oauth.scope_known(s, oauth.SCOPED) for s in scopes)):
        found.append("'scopes' must be a list of scopes like \"incidents.read\"")
    if kind == oauth.CLASSIC and scopes:
        found.append("classic apps have no 'scopes': they ask for read or write when authorizing")
    account = doc.get("account")
    if account is not None and not isinstance(account, str):
        found.append("'account' must be an account's subdomain, or null for any account")
    return found


def merge_oauth_app(client_id: str, doc: Any, current: dict | None) -> dict | list[str]:
    """The app's fields after a PUT (left-out fields keep their value; a new app needs `redirect_uris`), with
    `client_secret` only when the body sets it and `account` (a subdomain) only when the body names it; or
    every problem found."""
    if not isinstance(doc, dict):
        return ["the body must be a JSON object"]
    kind = doc.get("kind", current["kind"] if current else oauth.SCOPED)
    errors = [f"unknown field: {name}" for name in sorted(set(doc) - set(EDITABLE) - {"client_id"})]
    if doc.get("client_id", client_id) != client_id:
        errors.append("'client_id' in the body must match the URL")
    if current is None and "redirect_uris" not in doc:
        errors.append("a new app needs 'redirect_uris'")
    errors += _problems(doc, kind)
    if errors:
        return errors
    defaults = {"name": client_id, "kind": oauth.SCOPED, "client_type": oauth.CONFIDENTIAL, "scopes": [],
                "account_id": None, "redirect_uris": []}
    merged = {field: (current or defaults)[field] for field in SHOWN}
    merged.update({field: doc[field] for field in EDITABLE if field in doc})
    merged["name"] = merged["name"].strip()
    return merged
