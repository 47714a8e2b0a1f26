"""Times for people: "3 minutes ago", "in 1 minute", durations like "2 minutes 5 seconds", exact times."""

from __future__ import annotations

from datetime import UTC, datetime

from fake_pagerduty.domain import clock


def parse_iso(iso: str | None) -> datetime | None:
    return clock.parse_iso(iso) if iso else None


def exact(iso: str | None) -> str:
    """'2026-11-26 12:00:05 UTC'."""
    moment = parse_iso(iso)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else (iso or "")


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def duration(seconds: float) -> str:
    """'under a second', '45 seconds', '2 minutes 5 seconds', '3 hours 10 minutes', '2 days 4 hours'."""
    s = int(max(0.0, seconds))
    if s < 1:
        return "under a second"
    if s < 60:
        return _plural(s, "second")
    if s < 3600:
        m, rest = divmod(s, 60)
        return _plural(m, "minute") + (f" {_plural(rest, 'second')}" if rest and m < 10 else "")
    if s < 86400:
        h, rest = divmod(s, 3600)
        return _plural(h, "hour") + (f" {_plural(rest // 60, 'minute')}" if rest // 60 else "")
    d, rest = divmod(s, 86400)
    return _plural(d, "day") + (f" {_plural(rest // 3600, 'hour')}" if rest // 3600 else "")


def relative(iso: str | None, now: datetime) -> str:
    """'just now', '3 minutes ago', '2 hours ago', 'in 1 minute'."""
    moment = parse_iso(iso)
    if moment is None:
        return iso or ""
    delta = (now - moment).total_seconds()
    if abs(delta) < 10:
        return "just now"
    s = abs(delta)
    if s < 60:
        text = _plural(int(s), "second")
    elif s < 3600:
        text = _plural(int(s // 60), "minute")
    elif s < 86400:
        text = _plural(int(s // 3600), "hour")
    else:
        text = _plural(int(s // 86400), "day")
    return f"{text} ago" if delta > 0 else f"in {text}"


def between(start: str | None, end: str | None) -> str | None:
    """The duration from one ISO time to another ('2 minutes 5 seconds'), or None if either is missing."""
    a, b = parse_iso(start), parse_iso(end)
    return duration((b - a).total_seconds()) if a and b else None
