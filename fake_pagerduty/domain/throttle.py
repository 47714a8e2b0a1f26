"""Failed sign-in throttling: at most `limit` failures per key in a sliding window of `window` seconds."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta


class FailureWindow:
    def __init__(self, limit: int = 10, window_seconds: float = 300) -> None:
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def blocked(self, key: str, now: datetime) -> bool:
        """True once `limit` failures fell inside the window: no more attempts until the oldest expires."""
        return len(self._recent(key, now)) >= self.limit

    def fail(self, key: str, now: datetime) -> None:
        self._recent(key, now)
        self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)
