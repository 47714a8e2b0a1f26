"""How the console words people (issue 15): times in a person's or schedule's own time zone, rotation lengths,
contact methods, and a schedule's week, day by day. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from fake_pagerduty.domain import oncall

CONTACT_KINDS = {"email_contact_method": "Email", "phone_contact_method": "Phone call",
                 "sms_contact_method": "SMS", "push_notification_contact_method": "Push notification"}
ROLES = {"owner": "Account owner", "admin": "Admin", "user": "Responder", "limited_user": "Limited responder",
         "observer": "Observer", "read_only_user": "Read-only", "read_only_limited_user": "Read-only (limited)",
         "restricted_access": "Restricted access"}


def local(moment: datetime | None, time_zone: str) -> str:
    """`Wed 2 Dec, 09:00` in the zone (or "—")."""
    if moment is None:
        return "—"
    at = moment.astimezone(oncall.zone(time_zone))
    return f"{at:%a} {at.day} {at:%b}, {at:%H:%M}"


def turn_length(seconds: int) -> str:
    """A rotation's turn in words: `1 week`, `2 days`, `12 hours`, `90 minutes`."""
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def contact_kind(kind: str) -> str:
    return CONTACT_KINDS.get(kind, kind)


def role(name: str) -> str:
    return ROLES.get(name, name)


def restriction(value: oncall.Restriction) -> str:
    """`Every day from 09:00 for 8 hours` / `Fridays from 18:00 for 62 hours`."""
    hours = value.duration_seconds / 3600
    length = f"{hours:g} hour{'' if hours == 1 else 's'}"
    if value.type == "weekly_restriction":
        day = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")[
            (value.start_day_of_week or 1) - 1]
        return f"{day} from {value.start_time_of_day[:5]} for {length}"
    return f"Every day from {value.start_time_of_day[:5]} for {length}"


def week(schedule: oncall.Schedule, start_day: datetime, names: dict[str, str]) -> list[dict]:
    """Seven days from `start_day` (midnight in the schedule's zone): each day's date and who is on call
    when, as `{day, shifts: [{start, end, name}]}` in the schedule's zone (`HH:MM`, `24:00` at midnight)."""
    tz = oncall.zone(schedule.time_zone)
    first = start_day.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    for offset in range(7):
        opens = (first.replace(tzinfo=None) + timedelta(days=offset)).replace(tzinfo=tz)
        closes = (first.replace(tzinfo=None) + timedelta(days=offset + 1)).replace(tzinfo=tz)
        shifts = [{"start": e.start.astimezone(tz).strftime("%H:%M"),
                   "end": "24:00" if e.end >= closes else e.end.astimezone(tz).strftime("%H:%M"),
                   "user_id": e.user_id, "name": names.get(e.user_id, e.user_id)}
                  for e in oncall.final_entries(schedule, opens, closes)]
        days.append({"day": f"{opens:%a} {opens.day} {opens:%b}", "shifts": shifts})
    return days
