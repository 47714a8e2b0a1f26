"""Identifiers shaped like PagerDuty's own."""

from __future__ import annotations

import secrets
import uuid as _uuid

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _random(n: int) -> str:
    # One read of the OS's random source per id (not one per character: ids are on the events hot path).
    # 252 = 7 * 36, so dropping the bytes >= 252 keeps every character equally likely.
    chars: list[str] = []
    while len(chars) < n:
        chars.extend(_ALPHABET[b % 36] for b in secrets.token_bytes(n + 4) if b < 252)
    return "".join(chars[:n])


def short_id() -> str:
    """`P` and six characters, like service, user and account ids (`PXPGF42`)."""
    return "P" + _random(6)


def long_id() -> str:
    """`Q` and thirteen characters, like PagerDuty's newer incident and alert ids (`Q0RIJJZL24RC6W`)."""
    return "Q" + _random(13)


def log_entry_id() -> str:
    """Twenty-six characters, like PagerDuty's log entry ids."""
    return "R" + _random(25)


def integration_key() -> str:
    """An integration (routing) key: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def dedup_key() -> str:
    """The key PagerDuty generates for a trigger that has none: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def uuid() -> str:
    """A random UUID, like the `id` of a v3 webhook event and its `X-Webhook-Id`."""
    return str(_uuid.uuid4())


def webhook_secret() -> str:
    """A webhook subscription's signing secret: 64 URL-safe characters."""
    return secrets.token_urlsafe(48)
