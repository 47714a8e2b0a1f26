"""The demo account's people (issue 15), with stable ids: Dana Demo and two teammates, their contact methods
and notification rules, the Acme Web Team, the Acme Primary and Acme Secondary schedules, the "Acme Website
On-Call" escalation policy and priorities P1–P5. `seed.py` puts them in the default seed; a seed file may
describe an account's people the same way (`users[].contact_methods`, `teams`, `schedules`,
`escalation_policies`, `priorities`).

Dana on call now, whatever the date. A schedule layer's `start`, `end` and `rotation_virtual_start` (and an
override's `start`/`end`) may be written `seed_day`, `seed_day+7d` or `seed_day-1d`: midnight UTC of the day
the sandbox is seeded (by the sandbox clock), plus or minus whole days. Acme Primary rotates weekly through
Dana, Sam and Priya from `seed_day`, so Dana holds the seven days from the midnight before any seeding (a
first start, `--fresh`, a full reset: reset.py seeds again when the day has changed), then Sam, then Priya.
Acme Secondary rotates the same way through Sam, Priya and Dana (Sam first). A restart leaves them as they are,
except that `./scripts/demo`'s seed file (demo_seed.py) re-states both at every start: in the demo, Dana is on
call at each start, whatever day its database was first seeded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fake_pagerduty.domain.clock import iso

DANA, SAM, PRIYA = "PDANA00", "PSAMR00", "PPRIY00"
TEAM = "PTEAM00"
PRIMARY, SECONDARY = "PPRIM00", "PSECO00"
PRIMARY_LAYER, SECONDARY_LAYER = "PPRIML1", "PSECOL1"
POLICY = "PPOLI00"
POLICY_LEVELS = ("PRULE01", "PRULE02")
PRIORITIES = ("PPRIO01", "PPRIO02", "PPRIO03", "PPRIO04", "PPRIO05")  # P1 … P5
WEEK = 7 * 86400
_RELATIVE = re.compile(r"seed_day(?:([+-])(\d+)d)?$")


def _person(user_id: str, name: str, email: str, slug: str, phone: str, *, role: str, job_title: str,
            time_zone: str, color: str, password: str) -> dict:
    """A user with email, phone, SMS and push contact methods; high urgency: push and SMS at once, a phone
    call after 5 minutes; low urgency: email."""
    key = user_id[1:5]
    return {
        "id": user_id, "name": name, "email": email, "password": password, "role": role, "job_title": job_title,
        "time_zone": time_zone, "color": color,
        "contact_methods": [
            {"id": f"P{key}CE", "type": "email_contact_method", "label": "Default", "address": email},
            {"id": f"P{key}CP", "type": "phone_contact_method", "label": "Mobile", "address": phone,
             "country_code": 1},
            {"id": f"P{key}CS", "type": "sms_contact_method", "label": "Mobile", "address": phone, "country_code": 1},
            {"id": f"P{key}CN", "type": "push_notification_contact_method", "label": f"{slug}'s phone",
             "address": f"{slug.lower()}-phone"},
        ],
        "notification_rules": [
            {"id": f"P{key}RN", "contact_method": f"P{key}CN", "start_delay_in_minutes": 0, "urgency": "high"},
            {"id": f"P{key}RS", "contact_method": f"P{key}CS", "start_delay_in_minutes": 0, "urgency": "high"},
            {"id": f"P{key}RP", "contact_method": f"P{key}CP", "start_delay_in_minutes": 5, "urgency": "high"},
            {"id": f"P{key}RE", "contact_method": f"P{key}CE", "start_delay_in_minutes": 0, "urgency": "low"},
        ],
    }


def demo_users(dana_email: str, password: str) -> list[dict]:
    return [
        _person(DANA, "Dana Demo", dana_email, "Dana", "5550100001", role="owner", job_title="Site Reliability Engineer",
                time_zone="America/New_York", color="purple", password=password),
        _person(SAM, "Sam Rivera", "sam@acme.test", "Sam", "5550100002", role="user", job_title="Backend Engineer",
                time_zone="America/Chicago", color="teal", password=password),
        _person(PRIYA, "Priya Patel", "priya@acme.test", "Priya", "5550100003", role="admin",
                job_title="Engineering Manager", time_zone="Europe/London", color="orange", password=password),
    ]


def _weekly(layer_id: str, users: list[str]) -> dict:
    return {"id": layer_id, "name": "Layer 1", "start": "seed_day", "rotation_virtual_start": "seed_day",
            "rotation_turn_length_seconds": WEEK, "users": users}


DEMO_PEOPLE: dict[str, Any] = {
    "teams": [{"id": TEAM, "name": "Acme Web Team", "description": "Keeps acme.test up.",
               "members": [{"user": DANA, "role": "manager"}, {"user": SAM, "role": "responder"},
                           {"user": PRIYA, "role": "responder"}]}],
    "schedules": [
        {"id": PRIMARY, "name": "Acme Primary", "description": "Weekly primary on-call for the website.",
         "time_zone": "UTC", "layers": [_weekly(PRIMARY_LAYER, [DANA, SAM, PRIYA])]},
        {"id": SECONDARY, "name": "Acme Secondary", "description": "Weekly secondary on-call for the website.",
         "time_zone": "UTC", "layers": [_weekly(SECONDARY_LAYER, [SAM, PRIYA, DANA])]},
    ],
    "escalation_policies": [
        {"id": POLICY, "name": "Acme Website On-Call", "description": "Primary on-call first, then Sam.",
         "num_loops": 0, "team": TEAM, "default": True, "services": ["Acme Website"],
         "rules": [
             {"id": POLICY_LEVELS[0], "escalation_delay_in_minutes": 5,
              "targets": [{"type": "schedule_reference", "id": PRIMARY}]},
             {"id": POLICY_LEVELS[1], "escalation_delay_in_minutes": 5,
              "targets": [{"type": "user_reference", "id": SAM}]},
         ]},
    ],
    "priorities": [
        {"id": PRIORITIES[0], "name": "P1", "description": "Critical: the website is down for everyone.",
         "order": 500, "color": "a8171c"},
        {"id": PRIORITIES[1], "name": "P2", "description": "High: a major feature is broken.", "order": 400,
         "color": "eb6016"},
        {"id": PRIORITIES[2], "name": "P3", "description": "Moderate: degraded, with a workaround.", "order": 300,
         "color": "f9b406"},
        {"id": PRIORITIES[3], "name": "P4", "description": "Low: a minor problem.", "order": 200, "color": "555555"},
        {"id": PRIORITIES[4], "name": "P5", "description": "Informational.", "order": 100, "color": "999999"},
    ],
}


def seed_day(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: what `seed_day` in a seed means."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def moment(value: Any, now: datetime) -> Any:
    """A seed's time: `seed_day[±Nd]` made absolute (ISO 8601 UTC); anything else as it is."""
    match = _RELATIVE.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    days = int(match.group(2) or 0) * (-1 if match.group(1) == "-" else 1)
    return iso(seed_day(now) + timedelta(days=days))


def resolved(people: dict, now: datetime) -> dict:
    """The people part of a seed with its relative times made absolute."""
    schedules = []
    for schedule in people.get("schedules", []):
        layers = [{**layer, **{key: moment(layer[key], now) for key in ("start", "end", "rotation_virtual_start")
                               if layer.get(key) is not None}} for layer in schedule.get("layers", [])]
        schedules.append({**schedule, "layers": layers})
    return {**people, "schedules": schedules}
