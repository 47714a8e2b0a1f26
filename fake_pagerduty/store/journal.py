"""The events journal: every request to an Events API endpoint, as it came and as it was answered."""

from __future__ import annotations

from fake_pagerduty.store.database import Database, row_dict
from fake_pagerduty.store.records import JournalQuery


class Journal:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def last_id(self) -> int:
        row = await self._db.one("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        return row[0] if row else 0

    async def page(self, query: JournalQuery, *, limit: int, offset: int,
                   newest_first: bool) -> tuple[list[dict], int, int]:
        """A page of the journal (rows), how many entries match in all and the last journal id, from one snapshot."""
        where = query.where()
        order = "DESC" if newest_first else "ASC"
        async with self._db.snapshot():
            (total,) = await self._db.one(f"SELECT COUNT(*) FROM events{where.sql}", where.params)
            rows = await self._db.all(f"SELECT * FROM events{where.sql} ORDER BY id {order} LIMIT ? OFFSET ?",
                                      [*where.params, limit, offset])
            last_id = await self.last_id()
        return [dict(row) for row in rows], total, last_id

    async def first_match(self, query: JournalQuery) -> dict | None:
        """The oldest journal entry that matches (with `after_id`: the first one after it)."""
        where = query.where()
        return await self._db.first(f"SELECT * FROM events{where.sql} ORDER BY id ASC LIMIT 1", where.params)

    async def for_service(self, service_id: str, limit: int = 20) -> list[dict]:
        rows = await self._db.all(
            "SELECT id, received_at, api, action, dedup_key, outcome, outcome_detail, response_status, incident_id"
            " FROM events WHERE service_id = ? ORDER BY id DESC LIMIT ?",
            (service_id, limit),
        )
        return [dict(row) for row in rows]

    async def account_entry(self, account_id: str, event_id: int) -> dict | None:
        return await self._db.first("SELECT * FROM events WHERE id = ? AND account_id = ?", (event_id, account_id), row_dict)
