"""PagerDuty v3 webhooks: signature check and what an incident event means for the alert it names."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlsplit

from demo_monitor.domain.alerts import Alert
from demo_monitor.domain.events import CLIENT

REPLAY_WINDOW_SECONDS = 300  # a signed delivery of an event older than this is a replay, not PagerDuty's retry


class WebhookError(ValueError):
    """A signed webhook body that is not a v3 event we understand (400)."""


def is_replay(occurred_at: str | None, now: float) -> bool:
    """Whether a correctly signed delivery is too old to be PagerDuty's: its `event.occurred_at` more than
    REPLAY_WINDOW_SECONDS before `now`. PagerDuty signs the body only, so a captured delivery stays valid
    forever; its age is what gives a replay away (a repeat of a recent one is deduplicated by event id)."""
    if not occurred_at:
        return False
    try:
        moment = datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    return now - moment.timestamp() > REPLAY_WINDOW_SECONDS


def sign(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True if any `v1=<hex>` in the comma-separated header is the HMAC-SHA256 of the body (constant time)."""
    if not header:
        return False
    expected = sign(secret, body)
    ok = False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("v1=") and hmac.compare_digest(candidate.encode(), expected.encode()):
            ok = True
    return ok


def _is_http_url(value: object) -> bool:
    """Only http(s) links are kept: the monitor shows this one as a link, and `javascript:` must never be."""
    return isinstance(value, str) and urlsplit(value.strip()).scheme.lower() in ("http", "https")


def parse_event(payload: object) -> dict:
    """{"id", "event_type", "occurred_at", "incident_key", "status", "agent", "html_url"} from a v3 webhook
    body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), dict):
        raise WebhookError("The body must be a JSON object with an 'event' object.")
    event = payload["event"]
    event_id = event.get("id")
    event_type = event.get("event_type")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookError("event.id is missing.")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookError("event.event_type is missing.")
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    agent = event.get("agent") if isinstance(event.get("agent"), dict) else {}
    agent_name = agent.get("summary") or agent.get("name")
    if isinstance(agent.get("type"), str) and agent["type"].endswith("integration_reference"):
        # an integration did it: ours (the only one sending this alert's key), whatever PagerDuty calls it
        agent_name = CLIENT
    return {
        "id": event_id,
        "event_type": event_type,
        "occurred_at": event.get("occurred_at") if isinstance(event.get("occurred_at"), str) else None,
        "incident_key": data.get("incident_key") if isinstance(data.get("incident_key"), str) else None,
        "status": data.get("status") if isinstance(data.get("status"), str) else None,
        "agent": agent_name if isinstance(agent_name, str) else None,
        "html_url": data.get("html_url") if _is_http_url(data.get("html_url")) else None,
    }


def changes_for(alert: Alert, event: dict, now: str) -> dict:
    """The alert columns an incident event changes. Acknowledge/resolve in PagerDuty carry over to the alert."""
    changes: dict = {}
    if event["html_url"]:
        changes["pd_incident_url"] = event["html_url"]
    kind = event["event_type"]
    agent = event["agent"]
    who = agent if agent == CLIENT else f"{agent or 'someone'} (in PagerDuty)"
    if kind == "incident.triggered":
        changes["pd_status"] = "triggered"
    elif kind in ("incident.unacknowledged", "incident.reopened"):
        changes["pd_status"] = "triggered"
        changes["pd_agent"] = agent
    elif kind == "incident.acknowledged":
        changes["pd_status"] = "acknowledged"
        changes["pd_agent"] = agent
        if alert.state == "open":
            changes.update(state="acknowledged", acknowledged_at=now,
                           acknowledged_by=who)
    elif kind == "incident.resolved":
        changes["pd_status"] = "resolved"
        changes["pd_agent"] = agent
        if alert.state != "resolved":
            changes.update(state="resolved", resolved_at=now, resolved_by=who)
    return changes


GONE = "gone"  # pd_status of an incident PagerDuty no longer has (a sandbox reset deleted it)


def pagerduty_status_text(alert: Alert) -> str | None:
    """What PagerDuty did, in PagerDuty's words: 'Acknowledged in PagerDuty by Dana Demo', 'Resolved by Demo
    Monitor' (this monitor resolved it and PagerDuty followed), 'Triggered in PagerDuty'."""
    if not alert.pd_status:
        return None
    if alert.pd_status == GONE:
        return "This incident no longer exists in PagerDuty"
    if alert.pd_agent == CLIENT:
        verb = {"acknowledged": "Acknowledged", "resolved": "Resolved"}.get(alert.pd_status)
        return f"{verb} by {CLIENT}" if verb else "Triggered in PagerDuty"
    by = f" by {alert.pd_agent}" if alert.pd_agent else ""
    if alert.pd_status == "acknowledged":
        return f"Acknowledged in PagerDuty{by}"
    if alert.pd_status == "resolved":
        return f"Resolved in PagerDuty{by}"
    return "Triggered in PagerDuty"
