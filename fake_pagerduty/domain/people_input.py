"""What the people endpoints accept (issue 15): the bodies of POST/PUT /users, /teams, /schedules,
/schedules/{id}/overrides and /escalation_policies checked and turned into plain values, and the query's time
range. Pure: bad input raises `rest_query.InvalidInput` with one sentence per problem (PagerDuty's 400
`Invalid Input Provided`, 2001); whether named users, schedules, teams and services exist is the web layer's
question (it asks the store)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fake_pagerduty.domain import oncall, rest_query
from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.domain.rest_query import InvalidInput

ROLES = ("admin", "limited_user", "observer", "owner", "read_only_user", "restricted_access",
         "read_only_limited_user", "user")
COLORS_DEFAULT = "green"
MAX_TARGETS = 10
MAX_LOOPS = 9  # PagerDuty's largest num_loops
MIN_TURN, MAX_TURN = 3600, 365 * 86400  # a turn of an hour at least, as PagerDuty's shortest rotation
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)  # the times taken
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_ERA = f" between {EARLIEST.year} and {LATEST.year - 1}"


class _Errors(list):
    def done(self) -> None:
        if self:
            raise InvalidInput(list(dict.fromkeys(self)))


def _fields(out: dict, given: tuple[tuple[str, Any], ...], errors: _Errors, defaults: dict) -> dict:
    """`out` with each given value that is not None; then, once the body is known to be valid, `defaults`
    for what was not given."""
    out.update((key, value) for key, value in given if value is not None)
    errors.done()
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out


def _object(doc: Any, name: str) -> dict:
    """The body's `name` object (`{"user": {...}}`)."""
    inner = doc.get(name) if isinstance(doc, dict) else None
    if not isinstance(inner, dict):
        raise InvalidInput([f"{name.capitalize()} must be an object ({{\"{name}\": {{…}}}})"])
    return inner


def _text(doc: dict, key: str, errors: _Errors, *, required: bool, max_length: int | None = None,
          label: str | None = None) -> str | None:
    label = label or key.replace("_", " ").capitalize()
    value = doc.get(key)
    if value is None:
        if required:
            errors.append(f"{label} can't be blank")
        return None
    if not isinstance(value, str):
        errors.append(f"{label} must be a string")
        return None
    if required and not value.strip():
        errors.append(f"{label} can't be blank")
    if max_length is not None and len(value) > max_length:
        errors.append(f"{label} is too long (maximum is {max_length} characters)")
    return value.strip() if required else value


def _integer(doc: dict, key: str, errors: _Errors, *, low: int, high: int, label: str,
             required: bool = False) -> int | None:
    value = doc.get(key)
    if value is None:
        if required:
            errors.append(f"{label} can't be blank")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{label} must be an integer")
        return None
    if not low <= value <= high:
        errors.append(f"{label} must be between {low} and {high}")
        return None
    return value


def _time_zone(doc: dict, key: str, errors: _Errors, *, required: bool) -> str | None:
    value = _text(doc, key, errors, required=required, label="Time zone")
    if value and not oncall.is_time_zone(value):
        errors.append(f"Time zone {value!r} is not a valid time zone")
        return None
    return value


def _moment(value: Any, label: str, errors: _Errors, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            errors.append(f"{label} can't be blank")
        return None
    moment = parse_iso(value) if isinstance(value, str) and value.strip() else None
    if moment is None or not EARLIEST <= moment < LATEST:
        errors.append(f"{label} must be a valid ISO 8601 date" + ("" if moment is None else _ERA))
        return None
    return iso(moment)


def _each(body: dict, key: str, noun: str, parse: Callable[[Any, int, _Errors], Any], errors: _Errors, *,
          required: bool) -> list | None:
    """`body[key]`, a list of at least one `noun`, each item parsed with its number (from 1); None where
    the key is absent (and, when `required`, an error)."""
    label = key.replace("_", " ").capitalize()
    items = body.get(key)
    if items is None:
        if required:
            errors.append(f"{label} can't be blank")
        return None
    if not isinstance(items, list) or not items:
        errors.append(f"{label} must be a list of at least one {noun}")
        return None
    return [parse(item, number, errors) for number, item in enumerate(items, start=1)]


def _reference_id(value: Any, kinds: tuple[str, ...], label: str, errors: _Errors) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        errors.append(f"{label} must be a reference with an id")
        return None
    if value.get("type") is not None and value["type"] not in kinds:
        errors.append(f"{label} type must be one of {', '.join(kinds)}")
        return None
    return value["id"]


# ---- users and teams ------------------------------------------------------------------------------------

def user(doc: Any, *, creating: bool) -> dict:
    """A user's fields from `{"user": {...}}`: name and email required when creating; only the fields given
    when updating."""
    body, errors = _object(doc, "user"), _Errors()
    out: dict[str, Any] = {}
    name = _text(body, "name", errors, required=creating or "name" in body, max_length=100)
    email = _text(body, "email", errors, required=creating or "email" in body, max_length=100)
    if email and not (_EMAIL.match(email) and len(email) >= 6):
        errors.append("Email is invalid")
    time_zone = _time_zone(body, "time_zone", errors, required=False)
    role = body.get("role")
    if role is not None and role not in ROLES:
        errors.append(f"Role must be one of {', '.join(ROLES)}")
    given = (("name", name), ("email", email), ("time_zone", time_zone), ("role", role),
             ("color", _text(body, "color", errors, required=False, max_length=50)),
             ("job_title", _text(body, "job_title", errors, required=False, max_length=100)),
             ("description", _text(body, "description", errors, required=False, max_length=1024)))
    return _fields(out, given, errors,
                   {"time_zone": "Etc/UTC", "role": "user", "color": COLORS_DEFAULT} if creating else {})


def team(doc: Any) -> dict:
    body, errors = _object(doc, "team"), _Errors()
    name = _text(body, "name", errors, required=True, max_length=100)
    description = _text(body, "description", errors, required=False, max_length=1024) or ""
    default_role = body.get("default_role", "manager")
    if default_role not in ("manager", "none"):
        errors.append("Default role must be one of manager, none")
    errors.done()
    return {"name": name, "description": description, "default_role": default_role}


# ---- schedules ------------------------------------------------------------------------------------------

def _restriction(value: Any, where: str, errors: _Errors) -> dict | None:
    if not isinstance(value, dict):
        errors.append(f"{where} must be an object")
        return None
    kind = value.get("type")
    if kind not in ("daily_restriction", "weekly_restriction"):
        errors.append(f"{where} type must be daily_restriction or weekly_restriction")
        return None
    at = value.get("start_time_of_day")
    if not isinstance(at, str) or oncall.time_of_day(at) is None:
        errors.append(f"{where} start_time_of_day must be HH:mm:ss")
        return None
    longest = 86400 if kind == "daily_restriction" else 7 * 86400
    duration = _integer(value, "duration_seconds", errors, low=1, high=longest, label=f"{where} duration_seconds",
                        required=True)
    if duration is None:
        return None
    day = None
    if kind == "weekly_restriction":
        day = _integer(value, "start_day_of_week", errors, low=1, high=7, label=f"{where} start_day_of_week",
                       required=True)
        if day is None:
            return None
    return {"type": kind, "start_time_of_day": oncall.time_of_day(at).isoformat(), "start_day_of_week": day,
            "duration_seconds": duration}


def _layer(value: Any, number: int, errors: _Errors) -> dict | None:
    where = f"Schedule layer {number}"
    if not isinstance(value, dict):
        errors.append(f"{where} must be an object")
        return None
    start = _moment(value.get("start"), f"{where} start", errors)
    end = _moment(value.get("end"), f"{where} end", errors, required=False)
    virtual = _moment(value.get("rotation_virtual_start"), f"{where} rotation_virtual_start", errors)
    turn = _integer(value, "rotation_turn_length_seconds", errors, low=MIN_TURN, high=MAX_TURN,
                    label=f"{where} rotation_turn_length_seconds", required=True)
    users = value.get("users")
    user_ids = []
    if not isinstance(users, list) or not users:
        errors.append(f"{where} must have at least one user")
    else:
        for entry in users:
            uid = _reference_id(entry.get("user") if isinstance(entry, dict) else None, ("user_reference", "user"),
                                f"{where} user", errors)
            if uid:
                user_ids.append(uid)
    restrictions = value.get("restrictions") or []
    if not isinstance(restrictions, list):
        errors.append(f"{where} restrictions must be a list")
        restrictions = []
    checked = [_restriction(r, f"{where} restriction", errors) for r in restrictions]
    if start and end and parse_iso(end) <= parse_iso(start):
        errors.append(f"{where} end must be after its start")
    name = value.get("name")
    return {"id": value.get("id") if isinstance(value.get("id"), str) else None,
            "name": name if isinstance(name, str) and name.strip() else f"Layer {number}",
            "start": start, "end": end, "rotation_virtual_start": virtual, "rotation_turn_length_seconds": turn,
            "users": user_ids, "restrictions": [r for r in checked if r]}


def schedule(doc: Any, *, creating: bool) -> dict:
    """A schedule's fields from `{"schedule": {...}}` (time zone and at least one layer required when
    creating); layers in the order given, the first the lowest."""
    body, errors = _object(doc, "schedule"), _Errors()
    out: dict[str, Any] = {}
    name = _text(body, "name", errors, required=False, max_length=255)
    description = _text(body, "description", errors, required=False, max_length=1024)
    time_zone = _time_zone(body, "time_zone", errors, required=creating)
    layers = _each(body, "schedule_layers", "layer", _layer, errors, required=creating)
    if layers is not None:
        out["schedule_layers"] = layers
    return _fields(out, (("name", name), ("description", description), ("time_zone", time_zone)), errors,
                   {"name": "New Schedule", "description": ""} if creating else {})


def overrides(doc: Any) -> list[dict]:
    """`{"overrides": [{start, end, user}]}` (or one `{"override": {...}}`)."""
    if isinstance(doc, dict) and isinstance(doc.get("override"), dict):
        items = [doc["override"]]
    else:
        items = doc.get("overrides") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput(["Overrides must be a list of at least one override"])
    errors, out = _Errors(), []
    for number, item in enumerate(items, start=1):
        where = f"Override {number}"
        if not isinstance(item, dict):
            errors.append(f"{where} must be an object")
            continue
        start = _moment(item.get("start"), f"{where} start", errors)
        end = _moment(item.get("end"), f"{where} end", errors)
        uid = _reference_id(item.get("user"), ("user_reference", "user"), f"{where} user", errors)
        if start and end and parse_iso(end) <= parse_iso(start):
            errors.append(f"{where} end must be after its start")
        out.append({"start": start, "end": end, "user_id": uid})
    errors.done()
    return out


# ---- escalation policies --------------------------------------------------------------------------------

def _rule(value: Any, number: int, errors: _Errors) -> dict | None:
    where = f"Escalation rule {number}"
    if not isinstance(value, dict):
        errors.append(f"{where} must be an object")
        return None
    delay = _integer(value, "escalation_delay_in_minutes", errors, low=1, high=10080,
                     label=f"{where} escalation_delay_in_minutes", required=True)
    targets = value.get("targets")
    checked = []
    if not isinstance(targets, list) or not targets:
        errors.append(f"{where} must have at least one target")
    elif len(targets) > MAX_TARGETS:
        errors.append(f"{where} may have at most {MAX_TARGETS} targets")
    else:
        for target in targets:
            tid = _reference_id(target, ("user", "user_reference", "schedule", "schedule_reference"),
                                f"{where} target", errors)
            if tid:
                kind = target.get("type") or "user_reference"
                checked.append({"type": kind if kind.endswith("_reference") else f"{kind}_reference", "id": tid})
    return {"id": value.get("id") if isinstance(value.get("id"), str) else None,
            "escalation_delay_in_minutes": delay, "targets": checked}


def escalation_policy(doc: Any, *, creating: bool) -> dict:
    """A policy's fields from `{"escalation_policy": {...}}`: name and at least one rule when creating."""
    body, errors = _object(doc, "escalation_policy"), _Errors()
    out: dict[str, Any] = {}
    name = _text(body, "name", errors, required=creating or "name" in body, max_length=255)
    description = _text(body, "description", errors, required=False, max_length=1024)
    num_loops = _integer(body, "num_loops", errors, low=0, high=MAX_LOOPS, label="Num loops")
    handoff = body.get("on_call_handoff_notifications")
    if handoff is not None and handoff not in ("if_has_services", "always"):
        errors.append("On call handoff notifications must be if_has_services or always")
    rules = _each(body, "escalation_rules", "rule", _rule, errors, required=creating)
    if rules is not None:
        out["escalation_rules"] = rules
    for key, kinds in (("teams", ("team_reference", "team")), ("services", ("service_reference", "service"))):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            errors.append(f"{key.capitalize()} must be a list")
            continue
        out[key] = [i for i in (_reference_id(v, kinds, key.capitalize()[:-1], errors) for v in value) if i]
    if len(out.get("teams", [])) > 1:
        errors.append("Only one team may be associated with an escalation policy")
    given = (("name", name), ("description", description), ("num_loops", num_loops),
             ("on_call_handoff_notifications", handoff))
    return _fields(out, given, errors, {"description": "", "num_loops": 0,
                                        "on_call_handoff_notifications": "if_has_services"} if creating else {})


# ---- the query's time range -----------------------------------------------------------------------------

def window(params: Any, now: datetime, *, default_span: timedelta = timedelta(0),
           limit: timedelta = oncall.MAX_RANGE) -> tuple[datetime, datetime]:
    """`since`/`until` (each defaulting to now, `until` to `since` + `default_span`), `until` not before
    `since`, the range at most `limit`."""
    errors = _Errors()
    since, until = rest_query.moment(params, "since", errors), rest_query.moment(params, "until", errors)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and not EARLIEST <= moment < LATEST:
            errors.append(f"{name.capitalize()} must be a valid ISO 8601 date{_ERA}")
    errors.done()
    since = since or (until - default_span if until and default_span else now)
    until = until or since + default_span
    if until < since:
        errors.append("Until must be after since")
    elif until - since > limit:
        errors.append(f"The range between since and until must be at most {limit.days} days")
    errors.done()
    return since, until


def flag(params: Any, name: str) -> bool:
    return str(params.get(name, "")).lower() == "true"
