"""Partner apps as the sandbox controls edit them: which fields there are and what values they accept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

FIELDS = ("name", "app_id", "callback_origins", "webhook_url", "webhook_secret")
MAX_TEXT = 255


def _url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def merge_partner_app(vendor_key: str, doc: Any, current: dict | None, *, new_app_id: str,
                      default_origins: list[str]) -> dict | list[str]:
    """A partner app after a client's PUT: fields left out keep their current value (or a default for a
    new app). Returns the app's fields, or every problem found."""
    if not isinstance(doc, dict):
        return ["the body must be a JSON object"]
    errors: list[str] = []
    unknown = sorted(set(doc) - set(FIELDS) - {"vendor_key", "created_at"})
    if unknown:
        errors.append("unknown field(s): " + ", ".join(unknown))
    if "vendor_key" in doc and doc["vendor_key"] != vendor_key:
        errors.append("'vendor_key' in the body must match the URL")
    for name in ("name", "app_id"):
        if name in doc and not (isinstance(doc[name], str) and 0 < len(doc[name].strip()) <= MAX_TEXT):
            errors.append(f"'{name}' must be a non-empty string of at most {MAX_TEXT} characters")
    origins = doc.get("callback_origins")
    if "callback_origins" in doc and not (
        isinstance(origins, list) and all(isinstance(o, str) and o.strip() for o in origins)
    ):
        errors.append("'callback_origins' must be a list of origin patterns like \"http://127.0.0.1:*\"")
    webhook_url = doc.get("webhook_url")
    if webhook_url is not None and not (isinstance(webhook_url, str) and _url(webhook_url)):
        errors.append("'webhook_url' must be an http(s) URL or null")
    secret = doc.get("webhook_secret")
    if secret is not None and not isinstance(secret, str):
        errors.append("'webhook_secret' must be a string or null")
    if errors:
        return errors
    base = current or {"name": vendor_key, "app_id": new_app_id, "callback_origins": list(default_origins),
                       "webhook_url": None, "webhook_secret": None}
    merged = {name: base[name] for name in FIELDS}
    merged.update({name: doc[name] for name in FIELDS if name in doc})
    merged["name"], merged["app_id"] = merged["name"].strip(), merged["app_id"].strip()
    return merged
