"""Webhook subscriptions, the incident changes waiting to become deliveries, and the deliveries."""

from __future__ import annotations

import json
from datetime import datetime

import aiosqlite

from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store.database import Database, Where, dumps
from fake_pagerduty.store.transitions import ANY_WEBHOOK_TARGETS, INSERT_WEBHOOK_CHANGE, webhook_change_rows


class Webhooks:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._targets_exist: tuple[int, bool] | None = None  # (as of db.writes, whether any)

    async def create_subscription(self, *, id: str, account_id: str, description: str, active: bool,
                                  events: list[str], filter_type: str, filter_id: str, delivery_method_id: str,
                                  url: str, secret: str, custom_headers: list[dict], now: datetime) -> dict:
        stamp = iso(now)
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO webhook_subscriptions (id, account_id, description, active, events, filter_type,"
                " filter_id, delivery_method_id, url, secret, custom_headers, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (id, account_id, description, int(active), dumps(events), filter_type, filter_id,
                 delivery_method_id, url, secret, dumps(custom_headers), stamp, stamp),
            )
            async with db.execute("SELECT * FROM webhook_subscriptions WHERE id = ?", (id,)) as cursor:
                return dict(await cursor.fetchone())

    async def subscriptions_page(
        self, account_id: str, *, limit: int, offset: int, filter_type: str | None = None,
        filter_id: str | None = None,
    ) -> tuple[list[dict], int]:
        """One page of an account's subscriptions (oldest first), and how many there are in all."""
        where = Where(("account_id = ?", account_id)).equal("filter_type", filter_type or None)
        where.equal("filter_id", filter_id or None)
        async with self._db.snapshot():
            (total,) = await self._db.one(f"SELECT COUNT(*) FROM webhook_subscriptions{where.sql}", where.params)
            rows = await self._db.all(
                f"SELECT * FROM webhook_subscriptions{where.sql} ORDER BY created_at, rowid LIMIT ? OFFSET ?",
                (*where.params, limit, offset),
            )
        return [dict(r) for r in rows], total

    async def subscription(self, account_id: str, id: str) -> dict | None:
        return await self._db.first("SELECT * FROM webhook_subscriptions WHERE id = ? AND account_id = ?", (id, account_id))

    async def update_subscription(self, account_id: str, id: str, changes: dict, now: datetime) -> dict | None:
        """Change any of description, events, filter_type/filter_id, active; the updated row, or None."""
        columns = {k: v for k, v in changes.items() if k in ("description", "events", "filter_type", "filter_id",
                                                               "active")}
        if "events" in columns:
            columns["events"] = dumps(columns["events"])
        if "active" in columns:
            columns["active"] = int(columns["active"])
        async with self._db.transaction() as db:
            assignments = "".join(f"{name} = ?, " for name in columns)
            cursor = await db.execute(
                f"UPDATE webhook_subscriptions SET {assignments}updated_at = ? WHERE id = ? AND account_id = ?",
                (*columns.values(), iso(now), id, account_id),
            )
            if cursor.rowcount == 0:
                return None
            async with db.execute("SELECT * FROM webhook_subscriptions WHERE id = ?", (id,)) as cursor:
                return dict(await cursor.fetchone())

    async def delete_subscription(self, account_id: str, id: str, now: datetime) -> bool:
        """Delete a subscription; its pending deliveries fail (nothing more is sent to it)."""
        stamp = iso(now)
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM webhook_subscriptions WHERE id = ? AND account_id = ?", (id, account_id)
            )
            if cursor.rowcount == 0:
                return False
            await db.execute(
                "UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscription deleted',"
                " updated_at = ? WHERE subscription_id = ? AND status = 'pending'",
                (stamp, id),
            )
            return True

    async def event_context(self, incident_id: str, log_entry_type: str, first: bool = False) -> dict | None:
        """What an incident event's body is made of: the incident row (plus `service_name`) and the log entry
        that recorded the change (the first of its type when `first`, else the latest), or None."""
        incident = await self._db.one(
            "SELECT i.*, s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            " WHERE i.id = ?",
            (incident_id,),
        )
        if incident is None:
            return None
        order = "ASC" if first else "DESC"
        entry = await self._db.one(
            f"SELECT agent, channel, created_at FROM log_entries WHERE incident_id = ? AND type = ?"
            f" ORDER BY seq {order} LIMIT 1",
            (incident_id, log_entry_type),
        )
        return {
            "incident": dict(incident),
            "log_entry": (
                {"agent": json.loads(entry["agent"]), "channel": json.loads(entry["channel"]),
                 "created_at": entry["created_at"]}
                if entry else None
            ),
        }

    async def targets(self, incident_ids: list[str]) -> dict[str, list[dict]]:
        """Where events on these incidents may go, in one query: per incident, the account's active
        subscriptions (filtered on the incident's service or on the account), oldest first, then the partner
        app that owns the service, if it has a webhook URL. Each: target, subscription_id, vendor_key, label
        (the X-Webhook-Subscription value), url, secret, custom_headers, service_id, and `events` (the event
        types a subscription takes; None for a partner app, which takes every type)."""
        if not incident_ids or not await self.any_targets():
            return {}
        unique = list(dict.fromkeys(incident_ids))
        marks = ", ".join("?" * len(unique))
        rows = await self._db.all(
            "SELECT i.id AS incident_id, 0 AS kind, w.created_at AS created_at, w.rowid AS n,"
            " 'subscription:' || w.id AS target, w.id AS subscription_id, NULL AS vendor_key, w.id AS label,"
            " w.url AS url, w.secret AS secret, w.custom_headers AS custom_headers, i.service_id AS service_id,"
            " w.events AS events"
            " FROM incidents i JOIN webhook_subscriptions w ON w.account_id = i.account_id AND w.active = 1"
            " AND ((w.filter_type = 'service_reference' AND w.filter_id = i.service_id)"
            " OR w.filter_type = 'account_reference')"
            f" WHERE i.id IN ({marks})"
            " UNION ALL"
            " SELECT i.id, 1, '', 0, 'partner_app:' || p.vendor_key, NULL, p.vendor_key, p.app_id, p.webhook_url,"
            " COALESCE(p.webhook_secret, ''), '[]', i.service_id, NULL"
            " FROM incidents i JOIN services s ON s.id = i.service_id JOIN partner_apps p ON p.vendor_key = s.vendor_key"
            f" WHERE i.id IN ({marks}) AND COALESCE(p.webhook_url, '') != ''"
            " ORDER BY incident_id, kind, created_at, n",
            (*unique, *unique),
        )
        targets: dict[str, list[dict]] = {}
        for row in rows:
            target = {k: row[k] for k in ("target", "subscription_id", "vendor_key", "label", "url", "secret",
                                           "service_id")}
            target["custom_headers"] = json.loads(row["custom_headers"])
            target["events"] = json.loads(row["events"]) if row["events"] is not None else None
            targets.setdefault(row["incident_id"], []).append(target)
        return targets

    def known_without_targets(self) -> bool:
        """True when the last look found no webhook target and nothing was written since: changes then need
        no delivery rows, and the webhook writer need not even wake up."""
        known = self._targets_exist
        return known is not None and known[0] == self._db.writes and not known[1]

    async def any_targets(self) -> bool:
        """Whether any active subscription exists, or any service of a partner app with a webhook URL;
        re-read only after a write (events never change them), so that events on a sandbox without
        webhooks cost no query."""
        writes = self._db.writes
        if self._targets_exist is None or self._targets_exist[0] != writes:
            row = await self._db.one(ANY_WEBHOOK_TARGETS)
            self._targets_exist = (writes, bool(row[0]))
        return self._targets_exist[1]

    async def record_changes(self, db: aiosqlite.Connection, changes: list[IncidentChange], stamp: str) -> None:
        """In the transaction that made them: the changes webhooks must be made for (see `webhook_changes`)."""
        rows = webhook_change_rows(changes, stamp)
        if rows and await self.any_targets():
            await db.executemany(INSERT_WEBHOOK_CHANGE, rows)

    async def pending_changes(self, limit: int) -> list[tuple[int, IncidentChange]]:
        """The oldest incident changes not yet turned into webhook deliveries, with their row ids."""
        rows = await self._db.all("SELECT id, account_id, incident_id, event_type FROM webhook_changes ORDER BY id"
                               " LIMIT ?", (limit,))
        return [(row[0], IncidentChange(row[1], row[2], row[3])) for row in rows]

    async def add_deliveries(self, deliveries: list[dict], now: datetime,
                                     done_changes: tuple[int, ...] | list[int] = ()) -> None:
        """Queue deliveries (each: webhook_id, event_id, event_type, account_id, service_id, incident_id, target,
        subscription_id, vendor_key, url, headers, body), due now, in one short transaction — the one that also
        deletes the `webhook_changes` rows they were made for, so each change gets its deliveries once."""
        if not deliveries and not done_changes:
            return
        stamp = iso(now)
        async with self._db.transaction() as db:
            if done_changes:
                await db.executemany("DELETE FROM webhook_changes WHERE id = ?", [(i,) for i in done_changes])
            await db.executemany(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, account_id, service_id,"
                " incident_id, target, subscription_id, vendor_key, url, headers, body, status, attempts,"
                " next_attempt_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                [
                    (d["webhook_id"], d["event_id"], d["event_type"], d["account_id"], d["service_id"],
                     d["incident_id"], d["target"], d["subscription_id"], d["vendor_key"], d["url"],
                     dumps(d["headers"]), d["body"], stamp, stamp, stamp)
                    for d in deliveries
                ],
            )

    @staticmethod
    def _delivery(row: aiosqlite.Row) -> dict:
        delivery = dict(row)
        delivery["headers"] = json.loads(delivery["headers"])
        return delivery

    async def due_deliveries(self, now: datetime, limit: int = 20) -> list[dict]:
        """Pending deliveries whose time has come and that are first in line for their incident and target
        (a later event never overtakes an earlier one that is still being retried)."""
        rows = await self._db.all(
            "SELECT * FROM webhook_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending'"
            " AND e.incident_id = d.incident_id AND e.target = d.target AND e.id < d.id)"
            " ORDER BY d.id LIMIT ?",
            (iso(now), limit),
        )
        return [self._delivery(r) for r in rows]

    async def next_attempt_at(self) -> str | None:
        """When the next delivery that is first in line falls due, or None when nothing is pending."""
        row = await self._db.one(
            "SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d WHERE d.status = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending'"
            " AND e.incident_id = d.incident_id AND e.target = d.target AND e.id < d.id)"
        )
        return row[0] if row else None

    async def record_attempt(self, id: int, *, status: str, status_code: int | None, error: str | None,
                             next_attempt_at: datetime | None, now: datetime) -> None:
        """Record one attempt: `delivered`, `failed` (no more attempts), or `pending` again (retry later)."""
        stamp = iso(now)
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_status_code = ?,"
                " last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at),"
                " delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, updated_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, status_code, error, iso(next_attempt_at) if next_attempt_at else None, status, stamp,
                 stamp, id),
            )

    async def deliveries_for_service(self, service_id: str, limit: int = 20) -> list[dict]:
        """A service's most recent webhook deliveries, newest first (for the service page)."""
        rows = await self._db.all(
            "SELECT * FROM webhook_deliveries WHERE service_id = ? ORDER BY id DESC LIMIT ?", (service_id, limit)
        )
        return [self._delivery(r) for r in rows]

    async def deliveries_for_subscription(self, subscription_id: str, limit: int = 20) -> list[dict]:
        """A subscription's most recent deliveries (pings included), newest first."""
        rows = await self._db.all(
            "SELECT * FROM webhook_deliveries WHERE subscription_id = ? ORDER BY id DESC LIMIT ?",
            (subscription_id, limit),
        )
        return [self._delivery(r) for r in rows]

    async def deliveries_for_incident(self, incident_id: str) -> list[dict]:
        """An incident's webhook deliveries, in the order they were made."""
        rows = await self._db.all("SELECT * FROM webhook_deliveries WHERE incident_id = ? ORDER BY id", (incident_id,))
        return [self._delivery(r) for r in rows]
