"""A sliding-window counter: per key, the moments of recent hits within the last `window` seconds.

Serves both PagerDuty's Events API rate limit (`rate_limits.py`) and failed sign-in throttling (`throttle.py`).
"""

from __future__ import annotations

from collections import deque


class SlidingWindow:
    def __init__(self, window_seconds: float) -> None:
        self.window_seconds = window_seconds
        self._hits: dict[str, deque[float]] = {}

    def count(self, key: str, now: float) -> int:
        """How many hits for `key` fall inside the window ending at `now` (older ones are forgotten)."""
        hits = self._hits.get(key)
        if hits is None:
            return 0
        cutoff = now - self.window_seconds
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return 0
        return len(hits)

    def oldest(self, key: str) -> float:
        """The moment of `key`'s oldest hit still held (call `count` first to forget expired ones); 0 if none."""
        hits = self._hits.get(key)
        return hits[0] if hits else 0.0

    def add(self, key: str, now: float) -> None:
        self._hits.setdefault(key, deque()).append(now)

    def clear(self, key: str | None = None) -> None:
        """Forget one key's hits, or every key's."""
        if key is None:
            self._hits.clear()
        else:
            self._hits.pop(key, None)
