"""An incident that changed, as webhooks and live pages hear of it."""

from __future__ import annotations

from dataclasses import dataclass

from fake_pagerduty.domain.events import by_position


@dataclass(frozen=True)
class IncidentChange:
    """An incident that changed in a transaction, for webhooks and live pages: `incident.triggered` etc."""

    account_id: str
    incident_id: str
    event_type: str

    def __reduce__(self) -> tuple:
        return by_position(self)

