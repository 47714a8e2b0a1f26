"""Webhooks v3, the pure part: subscription validation and rendering, event bodies, signatures, backoff.

No SQL and no HTTP here: `fake_pagerduty.webhooks` feeds these functions rows and sends what they build.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

# What the sandbox emits (contract section 7). Not `incident.reopened`: PagerDuty sends it when a resolved
# incident is set back to triggered or acknowledged, which the sandbox does not offer (its REST API refuses
# changing a resolved incident), so it is never sent; a subscription may still name it (below).
EMITTED_EVENT_TYPES = (
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.resolved",
    "incident.escalated",  # a level's delay ran out, or someone escalated it (issue 15)
    "incident.reassigned",  # someone assigned it to other people
)
# Every type PagerDuty accepts in a subscription: a partner's subscription that works against PagerDuty must be
# accepted here too, even for types the sandbox never sends.
KNOWN_EVENT_TYPES = frozenset(
    EMITTED_EVENT_TYPES
    + (
        "incident.reopened",
        "incident.annotated",  # PagerDuty's carries the note, not the incident: not sent (yet)
        "incident.conference_bridge.updated",
        "incident.custom_field_values.updated",
        "incident.delegated",
        "incident.incident_type.changed",
        "incident.priority_updated",
        "incident.responder.added",
        "incident.responder.replied",
        "incident.role.assigned",
        "incident.service_updated",
        "incident.status_update_published",
        "incident.workflow.completed",
        "incident.workflow.started",
        "service.created",
        "service.deleted",
        "service.updated",
        "pagey.ping",
    )
)
FILTER_TYPES = ("service_reference", "account_reference", "team_reference")


def takes(target: dict, event_type: str) -> bool:
    """Whether a delivery target wants this event type: a subscription lists its types; a partner app
    (`events` None) takes every type the sandbox emits."""
    return target["events"] is None or event_type in target["events"]
USER_AGENT = "PagerDuty-Webhook/V3.0"
REDACTED = "-- redacted --"
MAX_URL = 2048
MAX_CUSTOM_HEADERS = 10
# Headers the sandbox sets itself; a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {"content-type", "user-agent", "x-pagerduty-signature", "x-webhook-id", "x-webhook-subscription",
     "content-length", "host"}
)

# The incident status each event leaves behind: an event's `data` shows it even when the incident has moved
# on by the time the delivery row is written.
STATUS_AFTER = {
    "incident.triggered": "triggered",
    "incident.acknowledged": "acknowledged",
    "incident.unacknowledged": "triggered",
    "incident.resolved": "resolved",
}
# The log entry that records each event (its agent and channel become the event's agent and client).
LOG_ENTRY_TYPE = {
    "incident.triggered": "trigger_log_entry",
    "incident.acknowledged": "acknowledge_log_entry",
    "incident.unacknowledged": "unacknowledge_log_entry",
    "incident.resolved": "resolve_log_entry",
    "incident.escalated": "escalate_log_entry",
    "incident.reassigned": "assign_log_entry",
}


@dataclass(frozen=True)
class SubscriptionInput:
    """A valid `webhook_subscription` from a create request."""

    url: str
    events: list[str]
    filter_type: str
    filter_id: str | None
    description: str = ""
    active: bool = True
    custom_headers: list[dict] = field(default_factory=list)


def _valid_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or len(value) > MAX_URL or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _custom_headers(value: Any, errors: list[str]) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append("Delivery method custom_headers must be a list")
        return []
    if len(value) > MAX_CUSTOM_HEADERS:
        errors.append(f"Delivery method custom_headers may hold at most {MAX_CUSTOM_HEADERS} headers")
        return []
    headers = []
    for i, item in enumerate(value):
        name = item.get("name") if isinstance(item, dict) else None
        header_value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip() or not _is_token(name):
            errors.append(f"Delivery method custom_headers[{i}].name is invalid")
        elif name.lower() in RESERVED_HEADERS:
            errors.append(f"Delivery method custom_headers[{i}].name {name!r} is reserved")
        elif not isinstance(header_value, str) or any(c in header_value for c in "\r\n\0"):
            errors.append(f"Delivery method custom_headers[{i}].value is invalid")
        else:
            headers.append({"name": name, "value": header_value})
    return headers


def _is_token(name: str) -> bool:
    """An HTTP header name (RFC 9110 token)."""
    allowed = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return all(c in allowed for c in name)


def _events(value: Any, errors: list[str]) -> list[str]:
    if not isinstance(value, list) or not value:
        errors.append("Events must be a non-empty list of event types")
        return []
    for event in value:
        if not isinstance(event, str) or event not in KNOWN_EVENT_TYPES:
            errors.append(f"Events contains an unknown event type: {event!r}")
    if len(set(map(str, value))) != len(value):
        errors.append("Events must not repeat an event type")
    return list(value)


def _filter(value: Any, errors: list[str]) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        errors.append("Filter is missing or not an object")
        return None, None
    filter_type, filter_id = value.get("type"), value.get("id")
    if filter_type not in FILTER_TYPES:
        errors.append("Filter type must be one of: service_reference account_reference team_reference")
    elif filter_type == "team_reference":
        errors.append("Filter type team_reference is not supported by the sandbox (it has no teams)")
    elif filter_type == "service_reference" and (not isinstance(filter_id, str) or not filter_id):
        errors.append("Filter id is required for a service_reference filter")
    if filter_id is not None and not isinstance(filter_id, str):
        errors.append("Filter id must be a string")
    return filter_type, filter_id or None


def _description(value: Any, errors: list[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append("Description must be a string")
        return ""
    return value


def _active(value: Any, errors: list[str]) -> bool:
    if not isinstance(value, bool):
        errors.append("Active must be true or false")
    return bool(value)


def _wrapped(doc: Any) -> dict | None:
    if isinstance(doc, dict) and isinstance(doc.get("webhook_subscription"), dict):
        return doc["webhook_subscription"]
    return None


def validate_subscription(doc: Any) -> SubscriptionInput | list[str]:
    """Check a create request's body; returns the subscription or every problem found."""
    sub = _wrapped(doc)
    if sub is None:
        return ["webhook_subscription is missing or not an object"]
    errors: list[str] = []
    if sub.get("type", "webhook_subscription") != "webhook_subscription":
        errors.append("Type must be webhook_subscription")

    method = sub.get("delivery_method")
    url, custom_headers = "", []
    if not isinstance(method, dict):
        errors.append("Delivery method is missing or not an object")
    else:
        if method.get("type", "http_delivery_method") != "http_delivery_method":
            errors.append("Delivery method type must be http_delivery_method")
        url = method.get("url")
        if not _valid_url(url):
            errors.append("Delivery method url must be a valid http or https URL")
        custom_headers = _custom_headers(method.get("custom_headers"), errors)

    events = _events(sub.get("events"), errors)
    filter_type, filter_id = _filter(sub.get("filter"), errors)
    description = _description(sub.get("description"), errors)
    active = _active(sub.get("active", True), errors)
    if errors:
        return errors
    return SubscriptionInput(
        url=url, events=events, filter_type=filter_type, filter_id=filter_id,
        description=description, active=active, custom_headers=custom_headers,
    )


def validate_update(doc: Any) -> dict | list[str]:
    """Check an update (`PUT`) body: any of `description`, `events`, `filter`, `active` (the delivery method
    cannot change, as in PagerDuty). Returns the fields to change (`filter` as `filter_type`/`filter_id`)."""
    sub = _wrapped(doc)
    if sub is None:
        return ["webhook_subscription is missing or not an object"]
    errors: list[str] = []
    changes: dict[str, Any] = {}
    if "description" in sub:
        changes["description"] = _description(sub["description"], errors)
    if "events" in sub:
        changes["events"] = _events(sub["events"], errors)
    if "filter" in sub:
        changes["filter_type"], changes["filter_id"] = _filter(sub["filter"], errors)
    if "active" in sub:
        changes["active"] = _active(sub["active"], errors)
    if "delivery_method" in sub:
        errors.append("Delivery method cannot be changed; delete the subscription and create a new one")
    return errors or changes


def list_filter_type(value: str | None) -> str | None | list[str]:
    """The list endpoint's `filter_type` (`account`, `service`, `team`; the `_reference` forms too) as the
    stored filter type, None when absent, or the errors."""
    if not value:
        return None
    kind = value.removesuffix("_reference")
    if kind not in ("account", "service", "team"):
        return ["Filter type must be one of: account service team"]
    return f"{kind}_reference"


def render_subscription(row: dict, *, reveal: bool = False) -> dict:
    """A subscription as the REST API shows it. `reveal` (the create response only) shows the secret and the
    custom header values; everywhere else the secret is null and header values are redacted."""
    headers = json.loads(row["custom_headers"])
    return {
        "id": row["id"],
        "type": "webhook_subscription",
        "active": bool(row["active"]),
        "delivery_method": {
            "id": row["delivery_method_id"],
            "secret": row["secret"] if reveal else None,
            "temporarily_disabled": False,
            "type": "http_delivery_method",
            "url": row["url"],
            "custom_headers": [
                {"name": h["name"], "value": h["value"] if reveal else REDACTED} for h in headers
            ],
        },
        "description": row["description"],
        "events": json.loads(row["events"]),
        "filter": {"id": row["filter_id"], "type": row["filter_type"]},
    }


# ---- event bodies ---------------------------------------------------------------------------------------


def client_of(channel: dict | None) -> dict | None:
    """The `client` of an event: the monitoring tool named by the Events API event, else null."""
    if isinstance(channel, dict) and isinstance(channel.get("client"), str) and channel["client"]:
        return {"name": channel["client"]}
    return None


def event_data(incident_json: dict) -> dict:
    """The `data` of an incident event: the incident as the REST API renders it, plus the fields v3 webhooks
    add (`number`, `assignees`, `conference_bridge`)."""
    data = dict(incident_json)
    data.setdefault("number", data.get("incident_number"))
    data.setdefault("assignees", [a.get("assignee") for a in data.get("assignments", []) if a.get("assignee")])
    data.setdefault("conference_bridge", None)
    return data


def event_body(*, event_id: str, event_type: str, occurred_at: str, agent: dict | None, client: dict | None,
               data: dict) -> bytes:
    """The exact bytes of a delivery: `{"event": {...}}` as compact UTF-8 JSON."""
    envelope = {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": agent,
            "client": client,
            "data": data,
        }
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ping_body(*, event_id: str, occurred_at: str) -> bytes:
    """The `pagey.ping` test event PagerDuty sends when a subscription is pinged."""
    envelope = {
        "event": {
            "id": event_id,
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "occurred_at": occurred_at,
            "agent": None,
            "client": None,
            "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
        }
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """`X-PagerDuty-Signature`'s value: `v1=` and the hex HMAC-SHA256 of the raw body."""
    return "v1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def delivery_headers(*, body: bytes, secret: str, webhook_id: str, subscription_id: str,
                     custom_headers: list[dict] | None = None) -> dict[str, str]:
    headers = {h["name"]: h["value"] for h in custom_headers or []}
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-PagerDuty-Signature": sign(secret, body),
            "X-Webhook-Id": webhook_id,
            "X-Webhook-Subscription": subscription_id,
        }
    )
    return headers


def backoff_seconds(attempts: int, base: float) -> float:
    """Wait before the next attempt after `attempts` failed ones: base, 2·base, 4·base, ... capped at an hour."""
    return min(base * (2 ** max(attempts - 1, 0)), 3600.0)


def next_attempt_at(now: datetime, attempts: int, base: float) -> datetime:
    """When to try again after `attempts` failed ones at `now`: the backoff later, rounded up to the whole
    second. The store keeps times to the second; rounded down, a retry after a 1 s backoff went 0–1 s after the
    failure, often at once. A backoff of 0 (tests) is due at once."""
    wait = backoff_seconds(attempts, base)
    due = now + timedelta(seconds=wait)
    if wait <= 0 or due.microsecond == 0:
        return due
    return due.replace(microsecond=0) + timedelta(seconds=1)
