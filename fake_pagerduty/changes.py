"""An in-process feed of incident changes: the events API and REST writes publish, live pages and
webhook delivery listen. Publishing never blocks the request that caused the change."""

from __future__ import annotations

from collections.abc import Callable

from fake_pagerduty.domain.incident_change import IncidentChange

Listener = Callable[[list[IncidentChange]], None]


class ChangeFeed:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Add a listener (called synchronously; it must not block). Returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, changes: list[IncidentChange]) -> None:
        if not changes:
            return
        for listener in list(self._listeners):
            listener(changes)
