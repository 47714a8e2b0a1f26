"""Identifiers shaped like PagerDuty's own."""

from __future__ import annotations

import secrets
import time
import uuid as _uuid

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ORDERED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # the same characters in sort order


def _random(n: int) -> str:
    # One read of the OS's random source per id (not one per character: ids are on the events hot path).
    # 252 = 7 * 36, so dropping the bytes >= 252 keeps every character equally likely.
    chars: list[str] = []
    while len(chars) < n:
        chars.extend(_ALPHABET[b % 36] for b in secrets.token_bytes(n + 4) if b < 252)
    return "".join(chars[:n])


def _time_prefix(n: int) -> str:
    """`n` characters of the current time in milliseconds, base 36, so that ids made later sort later.

    Ids are primary keys: ids that grow append to their B-tree instead of touching a random page of it,
    which keeps every event's write small however many incidents the sandbox holds. Eight characters
    last until the year 2059 and then simply wrap.
    """
    value = int(time.time() * 1000) % 36**n
    chars = []
    for _ in range(n):
        value, digit = divmod(value, 36)
        chars.append(_ORDERED[digit])
    return "".join(reversed(chars))


def short_id() -> str:
    """`P` and six characters, like service, user and account ids (`PXPGF42`)."""
    return "P" + _random(6)


def long_id() -> str:
    """`Q` and thirteen characters, like PagerDuty's newer incident and alert ids (`Q0RIJJZL24RC6W`):
    eight of time (ids made later sort later), five random."""
    return "Q" + _time_prefix(8) + _random(5)


def log_entry_id() -> str:
    """Twenty-six characters, like PagerDuty's log entry ids: time first, then random."""
    return "R" + _time_prefix(8) + _random(17)


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
