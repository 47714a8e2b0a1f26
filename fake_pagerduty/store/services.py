"""Services, their integrations (Events API keys), change events, and the handshake that makes them."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from fake_pagerduty.domain import ids, rest_query
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store.database import Database, Where
from fake_pagerduty.store.records import Conflict

# The policy a new service follows unless told otherwise (one parameter: the account's id).
DEFAULT_POLICY = "(SELECT default_escalation_policy_id FROM accounts WHERE id = ?)"
# A service row's escalation policy as a stored reference (JSON text: rest_objects.service shows it).
POLICY_REFERENCE = ("(SELECT json_object('id', p.id, 'type', 'escalation_policy_reference', 'summary', p.name)"
                    " FROM escalation_policies p WHERE p.id = services.escalation_policy_id) AS escalation_policy")


def policies_of_teams(count: int) -> str:
    """SQL: the ids of the escalation policies of `count` teams (one `?` each). A service or incident belongs
    to the teams of its escalation policy, as at PagerDuty."""
    return f"SELECT id FROM escalation_policies WHERE team_id IN ({', '.join('?' * count)})"


class Services:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, *, id: str, account_id: str, name: str, description: str = "",
                     urgency_rule: str = "severity_based", acknowledgement_timeout: int | None = 1800,
                     auto_resolve_timeout: int | None = 14400, vendor_key: str | None = None, now: datetime) -> str:
        """Create or update a service by (account, name); returns its id."""
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO services (id, account_id, name, description, urgency_rule, acknowledgement_timeout,"
                " auto_resolve_timeout, vendor_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(account_id, name) DO UPDATE SET description = excluded.description,"
                " urgency_rule = excluded.urgency_rule,"
                " acknowledgement_timeout = excluded.acknowledgement_timeout,"
                " auto_resolve_timeout = excluded.auto_resolve_timeout, updated_at = excluded.updated_at",
                (id, account_id, name, description, urgency_rule, acknowledgement_timeout,
                 auto_resolve_timeout, vendor_key, iso(now), iso(now)),
            )
            async with db.execute(
                "SELECT id FROM services WHERE account_id = ? AND name = ?", (account_id, name)
            ) as cursor:
                (service_id,) = await cursor.fetchone()
        return service_id

    async def upsert_integration(self, *, id: str, service_id: str, integration_key: str, name: str,
                                 type: str = "events_api_v2_inbound_integration", vendor_key: str | None = None, now: datetime) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO integrations (id, service_id, integration_key, name, type, vendor_key, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(integration_key) DO UPDATE SET"
                " service_id = excluded.service_id, name = excluded.name, type = excluded.type,"
                " vendor_key = excluded.vendor_key",
                (id, service_id, integration_key, name, type, vendor_key, iso(now)),
            )

    async def page(
        self, account_id: str, page: rest_query.Page, query: rest_query.ServiceQuery | None = None
    ) -> tuple[list[dict], bool, int | None]:
        """One page of an account's services by name (`query.query`: names containing it, any case;
        `query.name`: that name exactly; `query.descending`: Z to A)."""
        query = query or rest_query.ServiceQuery()
        where = Where(("account_id = ?", account_id))
        if query.query:
            where.add("instr(lower(name), lower(?)) > 0", query.query)
        if query.name:
            where.add("name = ?", query.name)
        if query.team_ids:
            where.add(f"escalation_policy_id IN ({policies_of_teams(len(query.team_ids))})", *query.team_ids)
        order = "DESC" if query.descending else "ASC"
        return await self._db.paged(
            f"SELECT *, {POLICY_REFERENCE} FROM services{where.sql} ORDER BY name COLLATE NOCASE {order}, id {order}"
            " LIMIT ? OFFSET ?",
            where.params, page, f"SELECT COUNT(*) FROM services{where.sql}",
        )

    async def get(self, account_id: str, service_id: str) -> dict | None:
        return await self._db.first(f"SELECT *, {POLICY_REFERENCE} FROM services WHERE id = ? AND account_id = ?",
                                    (service_id, account_id))

    async def integrations_and_last_incident(self, service_ids: list[str]) -> tuple[dict[str, list[dict]], dict[str, str]]:
        """For a page of services: their integrations (oldest first) and their last incident's time."""
        if not service_ids:
            return {}, {}
        marks = ", ".join("?" * len(service_ids))
        integrations: dict[str, list[dict]] = {sid: [] for sid in service_ids}
        for row in await self._db.all(
            f"SELECT * FROM integrations WHERE service_id IN ({marks}) ORDER BY created_at, rowid", tuple(service_ids)
        ):
            integrations[row["service_id"]].append(dict(row))
        last = await self._db.all(
            f"SELECT service_id, MAX(created_at) FROM incidents WHERE service_id IN ({marks}) GROUP BY service_id",
            tuple(service_ids),
        )
        return integrations, {sid: at for sid, at in last}

    async def policy_teams(self, policy_ids: list[str]) -> dict[str, dict]:
        """`{policy_id: team row (id, name)}` for the escalation policies that have a team."""
        policy_ids = list(dict.fromkeys(policy_ids))
        if not policy_ids:
            return {}
        rows = await self._db.all(
            "SELECT p.id AS policy_id, t.id, t.name FROM escalation_policies p JOIN teams t ON t.id = p.team_id"
            f" WHERE p.id IN ({', '.join('?' * len(policy_ids))})", tuple(policy_ids))
        return {row["policy_id"]: {"id": row["id"], "name": row["name"]} for row in rows}

    async def open_incident_statuses(self, service_ids: list[str]) -> dict[str, set[str]]:
        """For a page of services: the statuses of their open incidents (`{service_id: {"triggered", …}}`)."""
        if not service_ids:
            return {}
        found: dict[str, set[str]] = {}
        for service_id, status in await self._db.all(
            "SELECT DISTINCT service_id, status FROM incidents WHERE status IN ('triggered', 'acknowledged')"
            f" AND service_id IN ({', '.join('?' * len(service_ids))})", tuple(service_ids)
        ):
            found.setdefault(service_id, set()).add(status)
        return found

    async def create(
        self,
        account_id: str,
        *,
        name: str,
        description: str,
        acknowledgement_timeout: int | None,
        auto_resolve_timeout: int | None,
        urgency_rule: str,
        now: datetime,
        escalation_policy_id: str | None = None,
    ) -> dict | None:
        """A new service (following `escalation_policy_id`, else the account's default policy); None if the
        account already has one by that name."""
        service_id = ids.short_id()
        try:
            async with self._db.transaction() as db:
                await db.execute(
                    "INSERT INTO services (id, account_id, name, description, urgency_rule, acknowledgement_timeout,"
                    " auto_resolve_timeout, created_at, updated_at, escalation_policy_id)"
                    f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, {DEFAULT_POLICY}))",
                    (service_id, account_id, name, description, urgency_rule, acknowledgement_timeout,
                     auto_resolve_timeout, iso(now), iso(now), escalation_policy_id, account_id),
                )
        except aiosqlite.IntegrityError:
            return None
        return await self.get(account_id, service_id)

    async def create_integration(
        self, account_id: str, service_id: str, *, name: str, type: str, now: datetime
    ) -> dict | None:
        """A new Events API integration with a fresh 32-hex key; None if the service is not the account's."""
        integration_id = ids.short_id()
        async with self._db.transaction() as db:
            async with db.execute(
                "SELECT 1 FROM services WHERE id = ? AND account_id = ?", (service_id, account_id)
            ) as cursor:
                if await cursor.fetchone() is None:
                    return None
            await db.execute(
                "INSERT INTO integrations (id, service_id, integration_key, name, type, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (integration_id, service_id, ids.integration_key(), name, type, iso(now)),
            )
        return await self.integration(account_id, service_id, integration_id)

    async def integration(self, account_id: str, service_id: str, integration_id: str) -> dict | None:
        """One integration of one of the account's services (row plus `service_name`)."""
        return await self._db.first(
            "SELECT g.*, s.name AS service_name FROM integrations g JOIN services s ON s.id = g.service_id"
            " WHERE g.id = ? AND g.service_id = ? AND s.account_id = ?",
            (integration_id, service_id, account_id),
        )

    async def change_events_page(
        self,
        account_id: str,
        page: rest_query.Page,
        since: str | None = None,
        until: str | None = None,
        integration_ids: tuple[str, ...] = (),
        team_ids: tuple[str, ...] = (),
    ) -> tuple[list[dict], bool, int | None]:
        """One page of an account's change events, newest first; `team_ids`: on services of those teams."""
        where = Where(("c.account_id = ?", account_id)).any_of("c.integration_id", integration_ids)
        if team_ids:
            where.add("c.service_id IN (SELECT id FROM services WHERE escalation_policy_id IN"
                      f" ({policies_of_teams(len(team_ids))}))", *team_ids)
        for clause, value in (("c.timestamp >= ?", since), ("c.timestamp <= ?", until)):
            if value:
                where.add(clause, value)
        condition, params = where.condition, where.params
        return await self._db.paged(
            "SELECT c.*, s.name AS service_name, g.type AS integration_type, g.name AS integration_name,"
            " g.integration_key FROM change_events c JOIN services s ON s.id = c.service_id"
            f" JOIN integrations g ON g.id = c.integration_id WHERE {condition}"
            " ORDER BY c.created_at DESC, c.rowid DESC LIMIT ? OFFSET ?",
            params, page, f"SELECT COUNT(*) FROM change_events c WHERE {condition}",
        )

    async def connect(
        self,
        *,
        account_id: str,
        vendor_key: str,
        integration_name: str,
        new_names: list[str],
        existing_ids: list[str],
        now: datetime,
    ) -> list[dict]:
        """Create the services named in `new_names` (vendor_key set) and add one integration for the partner app
        to each of them and to each service in `existing_ids`, all in one transaction.

        Returns `{service_id, service_name, integration_id, integration_key}` per service, in order. Raises
        Conflict when a new name is taken or an existing id is not one of the account's services.
        """
        stamp = iso(now)
        made: list[dict] = []
        async with self._db.transaction() as db:
            targets: list[tuple[str, str]] = []
            for name in new_names:
                async with db.execute(
                    "SELECT 1 FROM services WHERE account_id = ? AND name = ? COLLATE NOCASE", (account_id, name)
                ) as cursor:
                    if await cursor.fetchone():
                        raise Conflict("service_name", f"A service named \u201c{name}\u201d already exists.")
                service_id = ids.short_id()
                await db.execute(
                    "INSERT INTO services (id, account_id, name, description, vendor_key, created_at, updated_at,"
                    f" escalation_policy_id) VALUES (?, ?, ?, ?, ?, ?, ?, {DEFAULT_POLICY})",
                    (service_id, account_id, name, f"Created for {integration_name}.", vendor_key, stamp, stamp,
                     account_id),
                )
                targets.append((service_id, name))
            for service_id in existing_ids:
                async with db.execute(
                    "SELECT id, name FROM services WHERE id = ? AND account_id = ?", (service_id, account_id)
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    raise Conflict("service_id", "That service does not exist in this account.")
                targets.append((row[0], row[1]))
            for service_id, name in targets:
                integration_id, key = ids.short_id(), ids.integration_key()
                await db.execute(
                    "INSERT INTO integrations (id, service_id, integration_key, name, type, vendor_key, created_at)"
                    " VALUES (?, ?, ?, ?, 'generic_events_api_inbound_integration', ?, ?)",
                    (integration_id, service_id, key, integration_name, vendor_key, stamp),
                )
                made.append({"service_id": service_id, "service_name": name,
                             "integration_id": integration_id, "integration_key": key})
        return made

    async def with_counts(self, account_id: str) -> list[dict]:
        """The account's services by name, with how many open incidents and integrations each has."""
        rows = await self._db.all(
            "SELECT s.id, s.name, s.description, s.status, s.vendor_key, s.created_at,"
            " (SELECT COUNT(*) FROM integrations g WHERE g.service_id = s.id) AS integrations"
            " FROM services s WHERE s.account_id = ? ORDER BY s.name COLLATE NOCASE",
            (account_id,),
        )
        open_counts = dict(await self._db.all(  # through the (account_id, status, …) index: open rows only
            "SELECT service_id, COUNT(*) FROM incidents WHERE account_id = ?"
            " AND status IN ('triggered', 'acknowledged') GROUP BY service_id",
            (account_id,),
        ))
        return [{**dict(row), "open_incidents": open_counts.get(row["id"], 0)} for row in rows]

    async def integrations_with_vendor(self, service_id: str) -> list[dict]:
        rows = await self._db.all(
            "SELECT g.*, p.name AS vendor_name FROM integrations g LEFT JOIN partner_apps p"
            " ON p.vendor_key = g.vendor_key WHERE g.service_id = ? ORDER BY g.created_at, g.id",
            (service_id,),
        )
        return [dict(row) for row in rows]
