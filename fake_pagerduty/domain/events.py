"""Events API validation: PagerDuty's rules for v1, v2 and change events, one message per problem.

Each `validate_*` takes the decoded JSON document and returns either a normalised event or the list of
every problem found, worded as PagerDuty words them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fake_pagerduty.domain.clock import parse_iso

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
KEY_LENGTH = 32
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_BODY_BYTES = 512 * 1024


@dataclass
class AlertEvent:
    """A valid trigger, acknowledge or resolve, from either API version, in one shape. A value: nothing changes one
    once made (`with_dedup_key` makes another). Not a frozen dataclass only because the events writer makes one per
    event, and a frozen one's `__init__` (a `object.__setattr__` per field) costs twice as much."""

    api: str  # "v1" | "v2"
    routing_key: str
    action: str
    dedup_key: str | None
    summary: str | None = None
    severity: str = "error"
    source: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = None
    timestamp: str | None = None
    custom_details: Any = None
    client: str | None = None
    client_url: str | None = None
    links: list = field(default_factory=list)
    images: list = field(default_factory=list)
    contexts: list = field(default_factory=list)
    vendor: str | None = None

    def __reduce__(self) -> tuple:
        return by_position(self)

    def with_dedup_key(self, key: str) -> AlertEvent:
        return AlertEvent(**{**self.__dict__, "dedup_key": key})

    def body_contexts(self) -> list:
        """v1's `contexts` as sent; v2's `links` and `images` as PagerDuty shows them: link and image contexts."""
        if self.contexts:
            return self.contexts
        return [{"type": "link", **link} for link in self.links] + [{"type": "image", **image} for image in self.images]

    def alert_body(self) -> dict:
        """What an alert keeps of the event that opened it: PagerDuty's alert `body` shape (links and images
        among its `contexts`, where PagerDuty puts them)."""
        contexts = self.body_contexts()
        return {
            "type": "alert_body",
            "api": self.api,
            "contexts": contexts,
            "details": self.custom_details,
            "cef_details": {
                "client": self.client,
                "client_url": self.client_url,
                "contexts": contexts,
                "dedup_key": self.dedup_key,
                "description": self.summary,
                "details": self.custom_details,
                "event_class": self.class_,
                "message": self.summary,
                "mutations": [],
                "priority": None,
                "reporter_component": self.component,
                "reporter_location": None,
                "severity": self.severity,
                "source_component": self.component,
                "source_location": self.source,
                "source_origin": self.source,
                "service_group": self.group,
                "creation_time": self.timestamp,
            },
            "payload": {
                "summary": self.summary,
                "severity": self.severity,
                "source": self.source,
                "component": self.component,
                "group": self.group,
                "class": self.class_,
                "timestamp": self.timestamp,
                "custom_details": self.custom_details,
            },
            "client": self.client,
            "client_url": self.client_url,
            "vendor": self.vendor,
        }


@dataclass(frozen=True)
class ChangeEvent:
    routing_key: str
    summary: str
    source: str | None
    timestamp: str | None
    custom_details: Any
    links: list
    images: list

    def __reduce__(self) -> tuple:
        return by_position(self)


def by_position(value: Any) -> tuple:
    """`__reduce__` for the dataclasses that cross to the events writer process: the class and its fields in
    order, which pickles in a third of the time of the default (a dict of field names)."""
    return type(value), tuple(value.__dict__.values())



def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _text(value: Any) -> str | None:
    """Optional string fields: PagerDuty accepts numbers and booleans there and keeps them as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _check_v2_routing_key(doc: dict, errors: list[str]) -> str:
    key = doc.get("routing_key")
    if _blank(key):
        errors.append("'routing_key' is missing or blank")
        return ""
    if not isinstance(key, str) or len(key) != KEY_LENGTH:
        errors.append(f"Length of 'routing_key' is incorrect (should be {KEY_LENGTH} characters)")
        return ""
    return key


def _event_key(value: Any, action: Any, errors: list[str], *, invalid: str, too_long: str, missing: str) -> str | None:
    """The key naming an alert (v2 `dedup_key`, v1 `incident_key`): text of at most 255 characters, needed to
    acknowledge or resolve; None when blank. Each version words its problems its own way."""
    if value is not None and not isinstance(value, str):
        value = _text(value)
        if value is None:
            errors.append(invalid)
    if isinstance(value, str) and len(value) > MAX_DEDUP_KEY:
        errors.append(too_long)
    if action in ("acknowledge", "resolve") and _blank(value):
        errors.append(missing)
    return None if _blank(value) else value


def _objects(value: Any, name: str, required: str, optional: tuple[str, ...], errors: list[str]) -> list:
    """A list of small objects (links, images): each needs `required` as text; `optional` keys are kept as text."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"'{name}' is invalid (must be a list)")
        return []
    found = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get(required), str) or _blank(item[required]):
            errors.append(f"'{name}[{i}].{required}' is missing or blank")
            continue
        kept = {required: item[required]}
        for key in optional:
            if item.get(key) is not None:
                kept[key] = _text(item[key]) or ""
        found.append(kept)
    return found


def _links(value: Any, name: str, errors: list[str]) -> list:
    return _objects(value, name, "href", ("text",), errors)


def _images(value: Any, name: str, errors: list[str]) -> list:
    return _objects(value, name, "src", ("href", "alt"), errors)


def _timestamp(value: Any, name: str, errors: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or parse_iso(value) is None:
        errors.append(f"'{name}' is invalid (must be an ISO 8601 timestamp)")
        return None
    return value


def validate_v2(doc: Any) -> AlertEvent | list[str]:
    """Events API v2 (`/v2/enqueue`)."""
    errors: list[str] = []
    routing_key = _check_v2_routing_key(doc, errors)

    action = doc.get("event_action")
    if _blank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger acknowledge resolve)")

    dedup_key = _event_key(
        doc.get("dedup_key"), action, errors,
        invalid="'dedup_key' is invalid (must be a string)",
        too_long=f"Length of 'dedup_key' is too long (maximum is {MAX_DEDUP_KEY} characters)",
        missing="'dedup_key' is missing or blank",
    )

    payload = doc.get("payload")
    summary = severity = source = component = group = class_ = timestamp = None
    custom_details = None
    if action == "trigger" or payload is not None:
        if payload is None:
            errors.append("'payload' is missing or blank")
        elif not isinstance(payload, dict):
            errors.append("'payload' is invalid (must be an object)")
        else:
            summary = _text(payload.get("summary"))
            severity = payload.get("severity")
            source = _text(payload.get("source"))
            if action == "trigger":
                if _blank(summary):
                    errors.append("'payload.summary' is missing or blank")
                elif len(summary) > MAX_SUMMARY:
                    errors.append(f"Length of 'payload.summary' is too long (maximum is {MAX_SUMMARY} characters)")
                if _blank(source):
                    errors.append("'payload.source' is missing or blank")
                if _blank(severity):
                    errors.append("'payload.severity' is missing or blank")
                elif severity not in SEVERITIES:
                    errors.append("'payload.severity' is invalid (must be one of: critical error warning info)")
            component = _text(payload.get("component"))
            group = _text(payload.get("group"))
            class_ = _text(payload.get("class"))
            timestamp = _timestamp(payload.get("timestamp"), "payload.timestamp", errors)
            custom_details = payload.get("custom_details")

    links = _links(doc.get("links"), "links", errors)
    images = _images(doc.get("images"), "images", errors)
    if errors:
        return errors
    return AlertEvent(
        api="v2",
        routing_key=routing_key,
        action=action,
        dedup_key=dedup_key,
        summary=summary,
        severity=severity if severity in SEVERITIES else "error",
        source=source,
        component=component,
        group=group,
        class_=class_,
        timestamp=timestamp,
        custom_details=custom_details,
        client=_text(doc.get("client")),
        client_url=_text(doc.get("client_url")),
        links=links,
        images=images,
    )


def _contexts(value: Any, errors: list[str]) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append("contexts is invalid (must be a list)")
        return []
    contexts = []
    for i, item in enumerate(value):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "link":
            if _blank(item.get("href")) or not isinstance(item.get("href"), str):
                errors.append(f"contexts[{i}].href is missing or blank")
                continue
        elif kind == "image":
            if _blank(item.get("src")) or not isinstance(item.get("src"), str):
                errors.append(f"contexts[{i}].src is missing or blank")
                continue
        else:
            errors.append(f"contexts[{i}].type is invalid (must be one of: link image)")
            continue
        contexts.append({k: v for k, v in item.items() if k in ("type", "href", "text", "src", "alt")})
    return contexts


def validate_v1(doc: Any) -> AlertEvent | list[str]:
    """Events API v1, the generic events endpoint (`/generic/2010-04-15/create_event.json`)."""
    errors: list[str] = []
    service_key = doc.get("service_key")
    if _blank(service_key):
        errors.append("Service key is missing or blank")
    elif not isinstance(service_key, str) or len(service_key) != KEY_LENGTH:
        errors.append(f"Service key is the wrong length (should be {KEY_LENGTH} characters)")

    action = doc.get("event_type")
    if action not in ACTIONS:
        errors.append("event_type is invalid (must be one of: trigger acknowledge resolve)")

    incident_key = _event_key(
        doc.get("incident_key"), action, errors,
        invalid="Incident key is invalid (must be a string)",
        too_long=f"Incident key is too long (maximum is {MAX_DEDUP_KEY} characters)",
        missing="Incident key is missing or blank",
    )

    description = _text(doc.get("description"))
    if action == "trigger" and _blank(description):
        errors.append("Description is missing or blank")
    elif description is not None and len(description) > MAX_SUMMARY:
        errors.append(f"Description is too long (maximum is {MAX_SUMMARY} characters)")

    details = doc.get("details")
    contexts = _contexts(doc.get("contexts"), errors)
    if errors:
        return errors
    links = [{k: c[k] for k in ("href", "text") if k in c} for c in contexts if c["type"] == "link"]
    images = [{k: c[k] for k in ("src", "href", "alt") if k in c} for c in contexts if c["type"] == "image"]
    return AlertEvent(
        api="v1",
        routing_key=service_key,
        action=action,
        dedup_key=incident_key,
        summary=description,
        severity="error",
        source=_text(doc.get("client")),
        custom_details=details,
        client=_text(doc.get("client")),
        client_url=_text(doc.get("client_url")),
        links=links,
        images=images,
        contexts=contexts,
        vendor=_text(doc.get("vendor")),
    )


def validate_change(doc: Any) -> ChangeEvent | list[str]:
    """Change events (`/v2/change/enqueue`): no action, no dedup key."""
    errors: list[str] = []
    routing_key = _check_v2_routing_key(doc, errors)
    payload = doc.get("payload")
    summary = source = timestamp = None
    custom_details = None
    if payload is None:
        errors.append("'payload' is missing or blank")
    elif not isinstance(payload, dict):
        errors.append("'payload' is invalid (must be an object)")
    else:
        summary = _text(payload.get("summary"))
        if _blank(summary):
            errors.append("'payload.summary' is missing or blank")
        elif len(summary) > MAX_SUMMARY:
            errors.append(f"Length of 'payload.summary' is too long (maximum is {MAX_SUMMARY} characters)")
        source = _text(payload.get("source"))
        timestamp = _timestamp(payload.get("timestamp"), "payload.timestamp", errors)
        custom_details = payload.get("custom_details")
    links = _links(doc.get("links"), "links", errors)
    images = _images(doc.get("images"), "images", errors)
    if errors:
        return errors
    return ChangeEvent(routing_key, summary, source, timestamp, custom_details, links, images)
