"""Live pages: a per-account version that moves whenever one of the account's incidents changes.

Listens on `app.state.changes`. A live page asks "has my account changed since version v?" and is answered
without touching the database when nothing did. Versions carry a per-process epoch, so a page opened before
a restart is refreshed after it, and a new one after `POST /_sandbox/reset`, so pages open meanwhile are too.
"""

from __future__ import annotations

import secrets

from fake_pagerduty.changes import ChangeFeed
from fake_pagerduty.domain.incident_change import IncidentChange


class LiveVersions:
    def __init__(self, feed: ChangeFeed) -> None:
        self._epoch = secrets.token_hex(4)
        self._counts: dict[str, int] = {}
        feed.listen(self._on_changes)

    def _on_changes(self, changes: list[IncidentChange]) -> None:
        for account_id in {change.account_id for change in changes}:
            self._counts[account_id] = self._counts.get(account_id, 0) + 1

    def start_again(self) -> None:
        """Every account's version moves: a reset wiped what the open pages show, without a change of its own."""
        self._epoch = secrets.token_hex(4)
        self._counts.clear()

    def version(self, account_id: str) -> str:
        return f"{self._epoch}.{self._counts.get(account_id, 0)}"
