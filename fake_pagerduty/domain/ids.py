"""Identifiers shaped like PagerDuty's own."""

from __future__ import annotations

import itertools
import random
import secrets
import time
import uuid as _uuid

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ORDERED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # the same characters in sort order
_rng = random.Random()  # seeded from the OS in each process: these ids must be unique, not secret
_sequence = itertools.count(_rng.randrange(36**5))  # long ids' last five characters, per process
_prefix_ms, _prefix = -1, ""


def _random(n: int) -> str:
    return "".join(_rng.choices(_ALPHABET, k=n))


_process = _random(12)  # log entry ids' middle: drawn once per process


def _base36(value: int, n: int) -> str:
    chars = []
    for _ in range(n):
        value, digit = divmod(value, 36)
        chars.append(_ORDERED[digit])
    return "".join(reversed(chars))


_PAIRS = [a + b for a in _ORDERED for b in _ORDERED]  # every two characters of base 36, in order


def _counter() -> str:
    """The next five characters of the process's counter (`_base36(next(_sequence) % 36**5, 5)`, with two
    look-ups instead of five divisions: a new incident takes six ids)."""
    value = next(_sequence) % 36**5
    high, low = divmod(value, 1296)
    return _ORDERED[high // 1296] + _PAIRS[high % 1296] + _PAIRS[low]


def _time_prefix() -> str:
    """Eight characters of the current time in milliseconds, base 36, so that ids made later sort later.

    Ids are primary keys: ids that grow append to their B-tree instead of touching a random page of it,
    which keeps every event's write small however many incidents the sandbox holds. Eight characters
    last until the year 2059 and then simply wrap.
    """
    global _prefix_ms, _prefix
    ms = int(time.time() * 1000)
    if ms != _prefix_ms:  # ids are made in bursts: one conversion per millisecond
        _prefix_ms, _prefix = ms, _base36(ms % 36**8, 8)
    return _prefix


def short_id() -> str:
    """`P` and six characters, like service, user and account ids (`PXPGF42`)."""
    return "P" + _random(6)


def long_id() -> str:
    """`Q` and thirteen characters, like PagerDuty's newer incident and alert ids (`Q0RIJJZL24RC6W`):
    eight of time, then five of a counter that starts at random in each process. So ids made later sort
    later, and two ids made by one process in the same millisecond never collide (random characters would,
    once in a while, at thousands of events a second)."""
    return "Q" + _time_prefix() + _counter()


def log_entry_id() -> str:
    """Twenty-six characters, like PagerDuty's log entry ids: `R`, eight of time, twelve drawn once per
    process, five of the counter (unique within the process, as `long_id`)."""
    return "R" + _time_prefix() + _process + _counter()


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
