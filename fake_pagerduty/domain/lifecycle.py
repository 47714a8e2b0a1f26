"""Alerts, incidents and deduplication: what an event does to the incident it names (contract section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fake_pagerduty.domain.events import AlertEvent

CREATED = "created"
DEDUPLICATED = "deduplicated"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
DROPPED = "dropped"
REJECTED = "rejected"
RECORDED = "recorded"  # a change event

INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")


@dataclass(frozen=True)
class OpenAlert:
    """The open (not resolved) alert an event's dedup key names on its integration, with its incident."""

    alert_id: str
    incident_id: str
    incident_status: str


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: str = ""


def decide(event: AlertEvent, open_alert: OpenAlert | None) -> Decision:
    """What an event does, given the open alert its key names on that integration (or None)."""
    if event.action == "trigger":
        return Decision(DEDUPLICATED) if open_alert else Decision(CREATED)
    if open_alert is None:
        return Decision(DROPPED, f"no open alert with dedup key {event.dedup_key!r} on this integration")
    if event.action == "acknowledge":
        return Decision(ACKNOWLEDGED)
    return Decision(RESOLVED)


def urgency(urgency_rule: str, severity: str) -> str:
    """`high` for critical/error and `low` for warning/info, unless the service fixes it."""
    if urgency_rule in ("high", "low"):
        return urgency_rule
    return "high" if severity in ("critical", "error") else "low"


def deadline(now: datetime, timeout_seconds: int | None) -> datetime | None:
    """When a service timeout (acknowledgement or auto-resolve) falls due; None when the timeout is off."""
    if timeout_seconds is None:
        return None
    return now + timedelta(seconds=timeout_seconds)


def can_change_status(current: str, wanted: str) -> bool:
    """A person or API client may acknowledge an open incident and resolve an open one; resolved is final."""
    if current == "resolved":
        return False
    return wanted in ("acknowledged", "resolved")
