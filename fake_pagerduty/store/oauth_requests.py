"""The OAuth journal: every `/oauth/authorize`, `/oauth/token` and `/oauth/revoke` request with its outcome
(never a secret, a code or a token)."""

from __future__ import annotations

from datetime import datetime

from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store.database import Database, row_dict


class OAuthRequests:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, *, received_at: datetime, endpoint: str, method: str, client_id: str,
                     grant_type: str | None, status: int, outcome: str, description: str) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO oauth_requests (received_at, endpoint, method, client_id, grant_type, status, outcome,"
                " description) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (iso(received_at), endpoint, method, client_id, grant_type, status, outcome, description),
            )

    async def page(self, *, client_id: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        """Newest first, and how many match in all, from one snapshot."""
        where, params = (" WHERE client_id = ?", [client_id]) if client_id is not None else ("", [])
        async with self._db.snapshot():
            (total,) = await self._db.one(f"SELECT COUNT(*) FROM oauth_requests{where}", params)
            rows = await self._db.all(f"SELECT * FROM oauth_requests{where} ORDER BY id DESC LIMIT ? OFFSET ?",
                                      [*params, limit, offset])
        return [row_dict(row) for row in rows], total
