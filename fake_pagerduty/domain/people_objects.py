"""PagerDuty-shaped REST objects for people (issue 15): users, contact methods, notification rules, teams,
schedules and their layers, overrides, escalation policies, on-calls, priorities, vendors. Pure functions of
store rows (plain dicts) and `domain/oncall.py`'s entries; `base` is the sandbox's public base URL."""

from __future__ import annotations

from datetime import datetime

from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.oncall import Entry, Layer, Restriction

AVATAR_PATH = "/static/favicon.svg"  # served by the sandbox itself: nothing is loaded from outside
ABILITIES = ("teams", "urgencies", "manage_schedules")  # what the sandbox's accounts can do, as PagerDuty names it
ACCOUNT_LEVEL_TOKEN = ("Because this request was made using an account-level access token, we were unable to "
                       "determine the user's identity. Please use a user-level token.")
ACCOUNT_LEVEL_TOKEN_CODE = 2100

# Where each kind lives: (API collection, console page collection or None).
_HOMES = {"user": ("users", "users"), "team": ("teams", "teams"), "schedule": ("schedules", "schedules"),
          "escalation_policy": ("escalation_policies", "escalation_policies"), "service": ("services", "services"),
          "priority": ("priorities", None), "vendor": ("vendors", None)}


def ref(base: str, kind: str, object_id: str, summary: str | None, *, full: bool = False) -> dict:
    """`{id, type, summary, self, html_url}`: a `<kind>_reference`, or with `full` the head of a `<kind>`."""
    api, page = _HOMES[kind]
    return {"id": object_id, "type": kind if full else f"{kind}_reference", "summary": summary,
            "self": f"{base}/api/{api}/{object_id}", "html_url": f"{base}/{page}/{object_id}" if page else None}


def user_ref(base: str, user_id: str, name: str | None) -> dict:
    return ref(base, "user", user_id, name)


# ---- users ----------------------------------------------------------------------------------------------

def contact_method(base: str, row: dict, *, reference: bool = False) -> dict:
    """A contact method (`row`: a contact_methods row), or its reference."""
    out = {"id": row["id"], "type": row["type"] + ("_reference" if reference else ""), "summary": row["label"],
           "self": f"{base}/api/users/{row['user_id']}/contact_methods/{row['id']}", "html_url": None}
    if reference:
        return out
    out.update(label=row["label"], address=row["address"])
    if row["type"] in ("phone_contact_method", "sms_contact_method"):
        out.update(country_code=row["country_code"] or 1, enabled=True, blacklisted=False)
    elif row["type"] == "email_contact_method":
        out.update(send_short_email=False, enabled=True)
    elif row["type"] == "push_notification_contact_method":
        out.update(device_type="ios", created_at=row["created_at"], sounds=[], blacklisted=False)
    return out


def notification_rule(base: str, row: dict, method: dict | None = None, *, reference: bool = False) -> dict:
    """A notification rule (`row`: a notification_rules row with `contact_method_type`, and the contact method
    row `method` when it is to be shown whole), or its reference."""
    summary = f"{row['start_delay_in_minutes']} minutes: channel {row['contact_method_id']}"
    out = {"id": row["id"], "type": "assignment_notification_rule" + ("_reference" if reference else ""),
           "summary": summary, "self": f"{base}/api/users/{row['user_id']}/notification_rules/{row['id']}",
           "html_url": None}
    if reference:
        return out
    cm = contact_method(base, method) if method else contact_method(base, {
        "id": row["contact_method_id"], "type": row["contact_method_type"], "label": summary,
        "user_id": row["user_id"]}, reference=True)
    out.update(start_delay_in_minutes=row["start_delay_in_minutes"], contact_method=cm, urgency=row["urgency"])
    return out


def team(base: str, row: dict, *, reference: bool = False) -> dict:
    out = ref(base, "team", row["id"], row["name"], full=not reference)
    if not reference:
        out.update(name=row["name"], description=row["description"], default_role=row["default_role"], parent=None)
    return out


def user(base: str, row: dict, methods: list[dict], rules: list[dict], teams: list[dict],
         expand: tuple[str, ...] = ()) -> dict:
    """A user (`row`: a users row without the password hash) with references to its contact methods,
    notification rules and teams, or the whole objects for those named in `expand`."""
    return {
        **ref(base, "user", row["id"], row["name"], full=True),
        "name": row["name"], "email": row["email"], "time_zone": row["time_zone"], "color": row["color"],
        "role": row["role"], "avatar_url": base + AVATAR_PATH, "description": row["description"],
        "invitation_sent": False, "job_title": row["job_title"] or "", "created_via_sso": False,
        "contact_methods": [contact_method(base, m, reference="contact_methods" not in expand) for m in methods],
        "notification_rules": [notification_rule(base, r, reference="notification_rules" not in expand)
                               for r in rules],
        "teams": [team(base, t, reference="teams" not in expand) for t in teams],
        "coordinated_incidents": [],
    }


# ---- schedules ------------------------------------------------------------------------------------------

def _entries(base: str, entries: list[Entry], names: dict[str, str]) -> list[dict]:
    return [{"start": iso(e.start), "end": iso(e.end), "user": user_ref(base, e.user_id, names.get(e.user_id))}
            for e in entries]


def coverage(entries: list[Entry], since: datetime, until: datetime) -> float:
    """The share of [since, until) the entries cover, in percent (PagerDuty's `rendered_coverage_percentage`)."""
    span = (until - since).total_seconds()
    if span <= 0:
        return 0.0
    covered = sum((min(e.end, until) - max(e.start, since)).total_seconds() for e in entries)
    return round(100.0 * max(covered, 0.0) / span, 2)


def subschedule(base: str, name: str, entries: list[Entry] | None, names: dict[str, str],
                since: datetime | None, until: datetime | None) -> dict:
    """The final schedule or the overrides (`name`: "Final Schedule" | "Overrides"), rendered when a range
    was asked for."""
    if entries is None or since is None or until is None:
        return {"name": name, "rendered_schedule_entries": [], "rendered_coverage_percentage": None}
    return {"name": name, "rendered_schedule_entries": _entries(base, entries, names),
            "rendered_coverage_percentage": coverage(entries, since, until)}


def schedule_layer(base: str, layer: Layer, names: dict[str, str], entries: list[Entry] | None,
                   since: datetime | None, until: datetime | None) -> dict:
    """A layer, with its rendered entries when a range was asked for."""
    rendered = entries is not None and since is not None and until is not None
    return {
        "id": layer.id, "name": layer.name, "start": iso(layer.start), "end": iso(layer.end) if layer.end else None,
        "rotation_virtual_start": iso(layer.rotation_virtual_start),
        "rotation_turn_length_seconds": layer.rotation_turn_length_seconds,
        "users": [{"user": user_ref(base, uid, names.get(uid))} for uid in layer.user_ids],
        "restrictions": [restriction(r) for r in layer.restrictions],
        "rendered_schedule_entries": _entries(base, entries, names) if rendered else [],
        "rendered_coverage_percentage": coverage(entries, since, until) if rendered else None,
    }


def restriction(value: Restriction) -> dict:
    out = {"type": value.type, "start_time_of_day": value.start_time_of_day, "duration_seconds": value.duration_seconds}
    if value.type == "weekly_restriction":
        out["start_day_of_week"] = value.start_day_of_week
    return out


def schedule(base: str, row: dict, *, layers: list[dict] | None = None, final: dict | None = None,
             overrides: dict | None = None, users: list[dict] = (), policies: list[dict] = (),
             teams: list[dict] = ()) -> dict:
    """A schedule (`row`: a schedules row); `layers`, `final` and `overrides` already built (a list leaves
    them out when not given), `users`/`policies`/`teams` as rows with id and name."""
    out = {
        **ref(base, "schedule", row["id"], row["name"], full=True),
        "name": row["name"], "description": row["description"], "time_zone": row["time_zone"],
        "users": [user_ref(base, u["id"], u["name"]) for u in users],
        "escalation_policies": [ref(base, "escalation_policy", p["id"], p["name"]) for p in policies],
        "teams": [ref(base, "team", t["id"], t["name"]) for t in teams],
    }
    if layers is not None:
        out["schedule_layers"] = layers
    if final is not None:
        out["final_schedule"] = final
    if overrides is not None:
        out["overrides_subschedule"] = overrides
    return out


def override(base: str, row: dict, user_name: str | None) -> dict:
    """An override (`row`: a schedule_overrides row)."""
    return {"id": row["id"], "start": row["start"], "end": row["end"], "user": user_ref(base, row["user_id"], user_name)}


# ---- escalation policies --------------------------------------------------------------------------------

def target(base: str, kind: str, target_id: str, name: str | None) -> dict:
    """An escalation rule's target (`kind`: user_reference | schedule_reference)."""
    return ref(base, kind.removesuffix("_reference"), target_id, name)


def escalation_policy(base: str, row: dict, rules: list[dict], services: list[dict], team_row: dict | None) -> dict:
    """A policy (`row`: an escalation_policies row; `rules`: `{id, escalation_delay_in_minutes, targets}` with
    targets already built; `services`: rows with id and name)."""
    return {
        **ref(base, "escalation_policy", row["id"], row["name"], full=True),
        "name": row["name"], "description": row["description"], "num_loops": row["num_loops"],
        "on_call_handoff_notifications": row["on_call_handoff_notifications"],
        "escalation_rules": [{"id": r["id"], "escalation_delay_in_minutes": r["escalation_delay_in_minutes"],
                              "targets": r["targets"]} for r in rules],
        "services": [ref(base, "service", s["id"], s["name"]) for s in services],
        "teams": [ref(base, "team", team_row["id"], team_row["name"])] if team_row else [],
    }


def oncall(base: str, policy: dict, level: int, user_id: str, user_name: str | None,
           schedule_row: dict | None, start: datetime | None, end: datetime | None) -> dict:
    """An on-call: a user at a level of a policy, through a schedule (with its stretch) or named by the level."""
    return {
        "escalation_policy": ref(base, "escalation_policy", policy["id"], policy["name"]),
        "escalation_level": level,
        "schedule": ref(base, "schedule", schedule_row["id"], schedule_row["name"]) if schedule_row else None,
        "user": user_ref(base, user_id, user_name),
        "start": iso(start) if start else None,
        "end": iso(end) if end else None,
    }


# ---- the rest -------------------------------------------------------------------------------------------

def priority(base: str, row: dict) -> dict:
    return {**ref(base, "priority", row["id"], row["name"], full=True), "name": row["name"],
            "description": row["description"], "order": row["order"], "color": row["color"]}


def vendor(base: str, app: dict) -> dict:
    """A partner app as PagerDuty's vendor (`app`: a partner_apps row)."""
    return {**ref(base, "vendor", app["app_id"], app["name"], full=True), "name": app["name"],
            "website_url": base, "logo_url": base + AVATAR_PATH, "thumbnail_url": base + AVATAR_PATH,
            "description": f"{app['name']}: a partner app registered with the sandbox.",
            "integration_guide_url": base + "/_sandbox", "connectable": True,
            "generic_service_type": "events_api_v2_inbound_integration", "is_pd_cef": False}
