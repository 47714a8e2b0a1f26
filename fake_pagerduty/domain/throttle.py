"""Failed sign-in throttling: at most `limit` failures per key in a sliding window of `window` seconds."""

from __future__ import annotations

from datetime import datetime

from fake_pagerduty.domain.sliding_window import SlidingWindow


class FailureWindow:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self._failures = SlidingWindow(window_seconds)

    def blocked(self, key: str, now: datetime) -> bool:
        """True once `limit` failures fell inside the window: no more attempts until the oldest expires."""
        return self._failures.count(key, now.timestamp()) >= self.limit

    def fail(self, key: str, now: datetime) -> None:
        self._failures.add(key, now.timestamp())

    def clear(self, key: str) -> None:
        self._failures.clear(key)
