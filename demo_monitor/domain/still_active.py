"""Alerts resolved while their condition still holds: resolved in PagerDuty (or by a person here) with the
server still broken. What a real monitor does: the alert stays on the dashboard as "resolved, condition still
active", and if the condition is still there after a hold, a new alert opens (and pages again)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StillActive:
    alert_id: str
    server: str
    rule_id: int
    realert_at: float  # epoch seconds: a new alert opens then if the condition still holds


class StillActiveAlerts:
    """At most one entry per (server, rule): the latest alert resolved while that rule was firing."""

    def __init__(self, hold_seconds: float) -> None:
        self.hold_seconds = hold_seconds
        self._by_key: dict[tuple[str, int], StillActive] = {}

    def note(self, alert_id: str, server: str, rule_id: int, now: float) -> None:
        if (server, rule_id) not in self._by_key or self._by_key[(server, rule_id)].alert_id != alert_id:
            self._by_key[(server, rule_id)] = StillActive(alert_id, server, rule_id, now + self.hold_seconds)

    def cleared(self, server: str, rule_id: int) -> bool:
        """The condition no longer holds: forget it. True if there was something to forget."""
        return self._by_key.pop((server, rule_id), None) is not None

    def due(self, now: float) -> list[StillActive]:
        """Entries whose hold is over, removed: the caller re-alerts for those whose condition still holds."""
        ready = [entry for entry in self._by_key.values() if entry.realert_at <= now]
        for entry in ready:
            del self._by_key[(entry.server, entry.rule_id)]
        return ready

    def get(self, alert_id: str) -> StillActive | None:
        return next((entry for entry in self._by_key.values() if entry.alert_id == alert_id), None)

    def alert_ids(self) -> list[str]:
        return [entry.alert_id for entry in self._by_key.values()]
