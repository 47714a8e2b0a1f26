"""`time_zone=<IANA name>` on the REST API: PagerDuty renders an answer's timestamps in that zone (UTC when the
parameter is absent). Pure: a zone by name, and an answer's own timestamps re-rendered; what a partner sent
(an alert's body, custom details) is left exactly as sent."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fake_pagerduty.domain.clock import parse_iso
from fake_pagerduty.domain.rest_query import InvalidInput

TIMESTAMPS = frozenset({"created_at", "updated_at", "last_status_change_at", "resolved_at", "at",
                        "last_incident_timestamp", "started_at", "timestamp",
                        "start", "end", "rotation_virtual_start"})  # schedules, their entries, on-calls
SENT_AS_IS = frozenset({"body", "custom_details", "details", "event_details", "channel"})


def zone(name: str | None) -> ZoneInfo | None:
    """The zone `name` names (None: none asked for); an unknown name raises InvalidInput, as PagerDuty's 400."""
    if name is None or name == "":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput([f"Time zone {name!r} is not a valid time zone"]) from None


def render(value: Any, tz: ZoneInfo) -> Any:
    """`value` with every timestamp field of PagerDuty's objects in `tz` (`2026-01-02T04:04:05+01:00`)."""
    if isinstance(value, list):
        return [render(item, tz) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in TIMESTAMPS and isinstance(item, str) and (moment := parse_iso(item)) is not None:
            out[key] = moment.astimezone(tz).isoformat(timespec="seconds")
        elif key in SENT_AS_IS:
            out[key] = item
        else:
            out[key] = render(item, tz)
    return out
