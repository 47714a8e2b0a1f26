"""PagerDuty's Events API rate limit: about 120 events per minute per routing key, in a sliding 60 s window;
and, with the same switch, its REST API limit: 960 requests per minute per key (`allow_rest`).

Off by default; the sandbox controls turn it on. Every request the limit lets through counts toward the window,
an invalid one (400) included, as PagerDuty counts requests; a throttled one does not, so a client that backs off
recovers once the window slides past its earlier requests.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from fake_pagerduty.domain.sliding_window import SlidingWindow

DEFAULT_LIMIT = 120
DEFAULT_WINDOW_SECONDS = 60
MAX_LIMIT = 1_000_000
MAX_WINDOW_SECONDS = 86_400
REST_LIMIT = 960  # PagerDuty's REST API, while the same switch is on: requests per minute per key (contract §9)
REST_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitSettings:
    enabled: bool = False
    limit: int = DEFAULT_LIMIT
    window_seconds: int = DEFAULT_WINDOW_SECONDS

    def to_dict(self) -> dict:
        return asdict(self)


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def parse_settings(doc: Any, current: RateLimitSettings) -> RateLimitSettings | list[str]:
    """A client's change to the settings; fields it leaves out keep their current value."""
    if not isinstance(doc, dict):
        return ["the body must be a JSON object like {\"enabled\": true}"]
    errors = []
    unknown = sorted(set(doc) - {"enabled", "limit", "window_seconds"})
    if unknown:
        errors.append("unknown field(s): " + ", ".join(unknown))
    if "enabled" in doc and not isinstance(doc["enabled"], bool):
        errors.append("'enabled' must be true or false")
    if "limit" in doc and not _whole(doc["limit"], 1, MAX_LIMIT):
        errors.append(f"'limit' must be a whole number between 1 and {MAX_LIMIT}")
    if "window_seconds" in doc and not _whole(doc["window_seconds"], 1, MAX_WINDOW_SECONDS):
        errors.append(f"'window_seconds' must be a whole number between 1 and {MAX_WINDOW_SECONDS}")
    if errors:
        return errors
    return replace(current, **{k: doc[k] for k in ("enabled", "limit", "window_seconds") if k in doc})


class SlidingWindowLimiter:
    """Per routing key, the requests accepted within the window."""

    def __init__(self, settings: RateLimitSettings | None = None) -> None:
        self.configure(settings or RateLimitSettings())

    def configure(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self._accepted = SlidingWindow(settings.window_seconds)
        self._rest = SlidingWindow(REST_WINDOW_SECONDS)

    def allow(self, key: str, now: float) -> bool:
        """Whether a request for `key` at `now` (seconds) is within the limit; an allowed one is counted."""
        if not self.settings.enabled:
            return True
        if self._accepted.count(key, now) >= self.settings.limit:
            return False
        self._accepted.add(key, now)
        return True

    def allow_rest(self, key: str, now: float) -> tuple[bool, int, int]:
        """Whether a REST request with API key or token `key` is within PagerDuty's REST limit (when the
        switch is on), how many more the window allows, and in how many seconds it next frees one."""
        if not self.settings.enabled:
            return True, REST_LIMIT, 0
        used = self._rest.count(key, now)
        reset = max(1, math.ceil(self._rest.oldest(key) + REST_WINDOW_SECONDS - now)) if used else REST_WINDOW_SECONDS
        if used >= REST_LIMIT:
            return False, 0, reset
        self._rest.add(key, now)
        return True, REST_LIMIT - used - 1, reset
