"""Partner apps (legacy Connect vendors): their callbacks and webhook targets."""

from __future__ import annotations

from datetime import datetime

from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store.database import Database, dumps, row_dict


class PartnerApps:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, *, vendor_key: str, app_id: str, name: str, callback_origins: list[str],
                     webhook_url: str | None, webhook_secret: str | None, now: datetime) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO partner_apps (vendor_key, app_id, name, callback_origins, webhook_url,"
                " webhook_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(vendor_key) DO UPDATE SET app_id = excluded.app_id, name = excluded.name,"
                " callback_origins = excluded.callback_origins, webhook_url = excluded.webhook_url,"
                " webhook_secret = excluded.webhook_secret",
                (vendor_key, app_id, name, dumps(callback_origins), webhook_url, webhook_secret, iso(now)),
            )

    async def all(self) -> list[dict]:
        return [row_dict(r) for r in await self._db.all("SELECT * FROM partner_apps ORDER BY created_at, vendor_key")]

    async def get(self, vendor_key: str) -> dict | None:
        return await self._db.first("SELECT * FROM partner_apps WHERE vendor_key = ?", (vendor_key,), row_dict)

    async def by_app_id(self, app_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM partner_apps WHERE app_id = ?", (app_id,), row_dict)

    async def delete(self, vendor_key: str) -> int:
        return await self._db.write("DELETE FROM partner_apps WHERE vendor_key = ?", (vendor_key,))
