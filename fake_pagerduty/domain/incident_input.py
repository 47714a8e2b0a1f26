"""What a REST client may ask of an incident's people side, checked (pure): `POST /incidents`, the fields of
`PUT /incidents/{id}` beyond its status (reassign, escalate, priority, title, urgency), snooze and merge. Each
reader returns the request as data or raises `rest_query.InvalidInput` with PagerDuty's messages; the REST
handlers then look the ids up (unknown ones are refused the same way)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fake_pagerduty.domain.rest_query import InvalidInput

URGENCIES = ("high", "low")
MAX_TITLE = 1024
MAX_KEY = 255
MAX_SNOOZE = 604800  # a week, rest.json's maximum


@dataclass(frozen=True)
class Wanted:
    """Changes asked for (None: not asked). `assignees` and `policy_id` reassign; `level` escalates."""

    title: str | None = None
    urgency: str | None = None
    priority_id: str | None = None
    clear_priority: bool = False
    assignees: tuple[str, ...] | None = None
    policy_id: str | None = None
    level: int | None = None


@dataclass(frozen=True)
class NewIncident:
    title: str
    service_id: str
    wanted: Wanted
    incident_key: str | None = None
    details: str | None = None


def _ref_id(value: Any, name: str, kinds: tuple[str, ...], errors: list[str]) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        errors.append(f"{name} must be a reference with an id")
        return None
    if value.get("type", kinds[0]) not in kinds:
        errors.append(f"{name} type must be {' or '.join(kinds)}")
    return value["id"]


def _wanted(doc: dict, errors: list[str]) -> Wanted:
    title = doc.get("title")
    if "title" in doc and (not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE):
        errors.append(f"Title must be 1 to {MAX_TITLE} characters")
    urgency = doc.get("urgency")
    if "urgency" in doc and urgency not in URGENCIES:
        errors.append("Urgency must be one of: high, low")
    priority_id, clear = None, False
    if "priority" in doc:
        if doc["priority"] is None:
            clear = True
        else:
            priority_id = _ref_id(doc["priority"], "Priority", ("priority_reference", "priority"), errors)
    assignees = None
    if "assignments" in doc:
        items = doc["assignments"]
        if not isinstance(items, list) or not items:
            errors.append("Assignments must be a non-empty list")
        else:
            found = [_ref_id(item.get("assignee") if isinstance(item, dict) else None, "Assignee",
                             ("user_reference", "user"), errors) for item in items]
            assignees = tuple(dict.fromkeys(a for a in found if a))
    policy_id = None
    if "escalation_policy" in doc:
        policy_id = _ref_id(doc["escalation_policy"], "Escalation policy",
                            ("escalation_policy_reference", "escalation_policy"), errors)
    if assignees is not None and policy_id is not None:
        errors.append("Assignments cannot be specified if an escalation policy is given")
    level = doc.get("escalation_level")
    if "escalation_level" in doc and (isinstance(level, bool) or not isinstance(level, int) or level < 1):
        errors.append("Escalation level must be a positive integer")
        level = None
    return Wanted(title.strip() if isinstance(title, str) and "title" in doc else None,
                  urgency if urgency in URGENCIES else None, priority_id, clear, assignees, policy_id, level)


def new_incident(body: Any) -> NewIncident:
    """`POST /incidents`: `{"incident": {"type": "incident", "title", "service", …}}`."""
    doc = body.get("incident") if isinstance(body, dict) else None
    if not isinstance(doc, dict):
        raise InvalidInput(["Incident must be an object"])
    errors: list[str] = []
    if doc.get("type") != "incident":
        errors.append("Incident type must be incident")
    if not isinstance(doc.get("title"), str) or not doc["title"].strip():
        errors.append("Title cannot be empty.")  # PagerDuty's words
    elif len(doc["title"]) > MAX_TITLE:
        errors.append(f"Title must be 1 to {MAX_TITLE} characters")
    service_id = _ref_id(doc.get("service"), "Service", ("service_reference", "service"), errors)
    key = doc.get("incident_key")
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY):
        errors.append(f"Incident key must be 1 to {MAX_KEY} characters")
    body_doc = doc.get("body")
    details = None
    if body_doc is not None:
        if not isinstance(body_doc, dict) or not isinstance(body_doc.get("details", ""), str):
            errors.append("Body must be an incident_body with details text")
        else:
            details = body_doc.get("details")
    if "escalation_level" in doc:
        errors.append("Escalation level cannot be given when creating an incident")
    wanted = _wanted({k: v for k, v in doc.items() if k not in ("escalation_level", "title")}, errors)
    if errors:
        raise InvalidInput(errors)
    return NewIncident(doc["title"].strip(), service_id, wanted, key, details)


def changes(doc: dict) -> Wanted:
    """The people-side fields of a `PUT /incidents/{id}` body's `incident` (its status is read elsewhere)."""
    errors: list[str] = []
    wanted = _wanted(doc, errors)
    if wanted.level is not None and (wanted.assignees is not None or wanted.policy_id is not None):
        errors.append("Escalation level cannot be changed while reassigning")
    if errors:
        raise InvalidInput(errors)
    return wanted


def snooze_duration(body: Any) -> int:
    duration = body.get("duration") if isinstance(body, dict) else None
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= MAX_SNOOZE:
        raise InvalidInput([f"Duration must be an integer from 1 to {MAX_SNOOZE} seconds"])
    return duration


def merge_sources(body: Any, target_id: str) -> tuple[str, ...]:
    items = body.get("source_incidents") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput(["Source incidents must be a non-empty list"])
    errors: list[str] = []
    ids = [_ref_id(item, "Source incident", ("incident_reference", "incident"), errors) for item in items]
    if target_id in ids:
        errors.append("An incident cannot be merged into itself")
    if errors:
        raise InvalidInput(errors)
    return tuple(dict.fromkeys(i for i in ids if i))
