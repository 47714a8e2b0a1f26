"""What a person (REST API client or console user) may do to an incident: acknowledge or resolve it.

Pure rules and the exceptions `store.incidents.change_status` raises; the REST API and the console turn them
into their own answers.
"""

from __future__ import annotations

from dataclasses import dataclass

ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
ALLOWED = (ACKNOWLEDGED, RESOLVED)
MAX_BULK = 250


class StatusChangeError(Exception):
    """Base class: nothing was changed (the whole request's transaction rolled back)."""

    def __init__(self, incident_id: str, reason: str) -> None:
        super().__init__(reason)
        self.incident_id = incident_id
        self.reason = reason


class IncidentNotFound(StatusChangeError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(incident_id, "Incident Not Found")


class IncidentAlreadyResolved(StatusChangeError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(incident_id, "Incident Already Resolved")


class InvalidStatus(StatusChangeError):
    def __init__(self, incident_id: str, status: object) -> None:
        super().__init__(incident_id, "Status must be one of: acknowledged, resolved")
        self.status = status


@dataclass(frozen=True)
class StatusChange:
    incident_id: str
    status: str


def check(current_status: str, change: StatusChange) -> None:
    """Raise if `change` may not be applied to an incident in `current_status`."""
    if change.status not in ALLOWED:
        raise InvalidStatus(change.incident_id, change.status)
    if current_status == RESOLVED:
        raise IncidentAlreadyResolved(change.incident_id)


def log_summary(status: str, user_name: str) -> str:
    verb = "Acknowledged" if status == ACKNOWLEDGED else "Resolved"
    return f"{verb} by {user_name}."
