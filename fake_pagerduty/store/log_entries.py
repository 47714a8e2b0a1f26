"""The account's log entries across its incidents (`GET /log_entries`, `GET /log_entries/{id}`), newest first,
with what a log entry object needs (the incident's number, title and service)."""

from __future__ import annotations

from fake_pagerduty.domain import rest_query
from fake_pagerduty.store.database import Database, Where
from fake_pagerduty.store.incidents import _LOG_ENTRIES_PAGE as _SELECT  # the incident's log entries' columns
from fake_pagerduty.store.incidents import narrow_log_entries


class LogEntries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(self, account_id: str, page: rest_query.Page,
                   query: rest_query.LogEntryQuery) -> tuple[list[dict], bool, int | None]:
        """One page of the account's log entries, newest first; `query`: a time window (since inclusive, until
        exclusive), or the overview (no notifications)."""
        where = narrow_log_entries(Where(("l.account_id = ?", account_id)), query)
        return await self._db.paged(f"{_SELECT}{where.sql} ORDER BY l.created_at DESC, l.rowid DESC LIMIT ? OFFSET ?",
                                    where.params, page, f"SELECT COUNT(*) FROM log_entries l{where.sql}")

    async def get(self, account_id: str, entry_id: str) -> dict | None:
        return await self._db.first(f"{_SELECT} WHERE l.id = ? AND l.account_id = ?", (entry_id, account_id))
