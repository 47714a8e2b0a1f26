"""The sandbox's clock: wall time plus an offset that the sandbox controls can move forward."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

_ISO_SECONDS: dict[int, str] = {}  # see `iso`


def iso(moment: datetime) -> str:
    """PagerDuty's timestamp format: `2026-11-26T11:14:43Z` (what strftime("%Y-%m-%dT%H:%M:%SZ") writes).

    Every event stamps a few, nearly all in the same few seconds: each second's text is made once."""
    second = math.floor(moment.timestamp())
    text = _ISO_SECONDS.get(second)
    if text is None:
        if len(_ISO_SECONDS) >= 64:
            _ISO_SECONDS.clear()
        m = moment.astimezone(UTC)
        text = _ISO_SECONDS[second] = (
            f"{m.year}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z")
    return text


def parse_iso(text: str) -> datetime | None:
    """Read an ISO 8601 timestamp (with `Z`, an offset, or none meaning UTC); None if it is not one."""
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    # PagerDuty's own examples use "+0000" offsets: make them ISO.
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not a timestamp, or one at the edge of time ("0001-01-01T00:00-01:00")
        return None


class Clock:
    """Now, as the sandbox sees it. `advance()` moves it forward (never back)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self.offset += timedelta(seconds=seconds)

    def reset(self, offset_seconds: float = 0) -> None:
        """Back to wall time (a sandbox reset), or to a saved offset (at start)."""
        self.offset = timedelta(seconds=offset_seconds)
