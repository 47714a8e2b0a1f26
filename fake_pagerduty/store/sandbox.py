"""The sandbox's own controls: reset, the state dump, what a seed finds already there, fault rules and
settings."""

from __future__ import annotations

import graphlib
import json
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from fake_pagerduty.domain.faults import FaultRule
from fake_pagerduty.store.database import Database, dumps, row_dict
from fake_pagerduty.store.events_writer import EventsWriter
from fake_pagerduty.store.incidents import ALERT_COLUMNS, ALERT_REQUEST, with_body
from fake_pagerduty.store.journal import Journal
from fake_pagerduty.store.oauth import OAuth
from fake_pagerduty.store.partner_apps import PartnerApps
from fake_pagerduty.store.records import SeedKeys
from fake_pagerduty.store.transitions import NOTIFICATION_COLUMNS

ACTIVITY_TABLES = ("events", "webhook_changes", "webhook_deliveries", "log_entries", "alerts", "incidents", "change_events",
                   "oauth_requests", "exams", "sandbox_faults", "sandbox_settings")
_REPORTED_AS = {"sandbox_faults": "faults", "sandbox_settings": "settings"}
_UNREPORTED = {"webhook_changes"}  # internal bookkeeping (see webhooks.py), not what a reset answer counts
# Views a full reset's answer counts as the tables they were (wiped with the table under them): a notification
# is its notify log entry (migration 0016).
_COUNTED_VIEWS = ("notifications",)
_SEEDED_ROWS = 'SELECT rowid, * FROM "{table}" ORDER BY rowid'


@dataclass(frozen=True)
class SeededRows:
    """What `Sandbox.seeded_rows` saw: every table, each seeded table's rows as an INSERT statement, and one
    query (`check_sql`) whose answer is `kept` while every table holds exactly what was seeded: for a seeded
    table its rows spelled out in rowid order (SQLite's `quote()` of each value, rowid first: value and type),
    for any other table whether it has a row."""

    tables: tuple[str, ...]
    inserts: dict[str, str]
    check_sql: str
    kept: tuple
    counts: dict[str, int]  # rows of each seeded table
    parents: dict[str, frozenset[str]] = field(default_factory=dict)  # the tables each one's foreign keys name
    checks: tuple[str, ...] = ()  # check_sql's column for each table, in `tables`' order
    orders: dict[tuple[str, ...], list[str] | None] = field(default_factory=dict, compare=False)  # _parents_first's


def _spelled_out(table: str, columns: list[str]) -> str:
    row = "||','||".join(["quote(rowid)", *(f'quote("{column}")' for column in columns)])
    return f'(SELECT group_concat(r, char(10)) FROM (SELECT {row} AS r FROM "{table}" ORDER BY rowid))'


class Sandbox:
    def __init__(self, db: Database, journal: Journal, partner_apps: PartnerApps, oauth: OAuth,
                 events: EventsWriter) -> None:
        self._db = db
        self._events = events
        self._oauth = oauth
        self._journal = journal
        self._partner_apps = partner_apps

    async def is_empty(self) -> bool:
        return await self._db.one("SELECT 1 FROM accounts LIMIT 1") is None

    async def reset(self, *, full: bool) -> dict[str, int]:
        """Wipe activity (journal, incidents, alerts, log entries, change events, webhook deliveries, fault
        rules, sandbox settings, the OAuth journal), or with `full` every row of every table. Journal ids keep
        counting up."""
        async with self._db.transaction() as db:
            tables = await _tables(db)
            wipe = [t for t in ACTIVITY_TABLES if t in tables]
            counted = list(wipe)
            if full:
                await db.execute("PRAGMA defer_foreign_keys = ON")
                wipe += [t for t in tables if t not in ACTIVITY_TABLES]
                counted += sorted([t for t in tables if t not in ACTIVITY_TABLES] + list(_COUNTED_VIEWS))
            deleted = {}
            for table in counted:  # counted first: deleting incidents cascades to their alerts
                if table in _UNREPORTED:
                    continue
                async with db.execute(f'SELECT COUNT(*) FROM "{table}"') as cursor:
                    (deleted[_REPORTED_AS.get(table, table)],) = await cursor.fetchone()
            for table in wipe:
                await db.execute(f'DELETE FROM "{table}"')
        return deleted

    async def seed_keys(self) -> SeedKeys:
        async with self._db.snapshot():
            return await self._seed_keys()

    async def _seed_keys(self) -> SeedKeys:
        return SeedKeys(
            vendor_keys=frozenset(r[0] for r in await self._db.all("SELECT vendor_key FROM partner_apps")),
            oauth_client_ids=frozenset(r[0] for r in await self._db.all("SELECT client_id FROM oauth_apps")),
            accounts={r[0]: r[1] for r in await self._db.all("SELECT subdomain, id FROM accounts")},
            emails=frozenset(r[0].lower() for r in await self._db.all("SELECT email FROM users")),
            api_keys=frozenset(r[0] for r in await self._db.all("SELECT token FROM api_keys")),
            services={(r[0], r[1]): r[2] for r in await self._db.all("SELECT account_id, name, id FROM services")},
            integration_keys=frozenset(r[0] for r in await self._db.all("SELECT integration_key FROM integrations")),
        )

    async def snapshot(self, *, limit: int) -> dict:
        """Everything the sandbox holds, as plain data; incidents and change events capped at `limit` newest."""
        async with self._db.snapshot():
            return await self._snapshot_in_one_read(limit)

    async def _snapshot_in_one_read(self, limit: int) -> dict:
        accounts = [row_dict(r) for r in await self._db.all("SELECT * FROM accounts ORDER BY created_at, id")]
        users = await self._db.all("SELECT * FROM users ORDER BY created_at, id")
        keys = await self._db.all("SELECT * FROM api_keys ORDER BY created_at, token")
        services = [row_dict(r) for r in await self._db.all("SELECT * FROM services ORDER BY created_at, id")]
        integrations = await self._db.all("SELECT * FROM integrations ORDER BY created_at, id")
        by_service: dict[str, list] = {}
        for row in integrations:
            by_service.setdefault(row["service_id"], []).append(row_dict(row))
        for service in services:
            service["integrations"] = by_service.get(service["id"], [])
        for account in accounts:
            account["users"] = [row_dict(u, drop=("password_hash",)) for u in users if u["account_id"] == account["id"]]
            account["api_keys"] = [row_dict(k) for k in keys if k["account_id"] == account["id"]]
            account["services"] = [s for s in services if s["account_id"] == account["id"]]

        latest = "SELECT id FROM incidents ORDER BY created_at DESC, incident_number DESC LIMIT ?"
        incidents = [row_dict(r) for r in await self._db.all(
            f"SELECT * FROM incidents WHERE id IN ({latest}) ORDER BY created_at DESC, incident_number DESC",
            (limit,))]
        alerts: dict[str, list] = {}
        for row in await self._db.all(f"SELECT {ALERT_COLUMNS} FROM alerts a{ALERT_REQUEST}"
                                      f" WHERE a.incident_id IN ({latest}) ORDER BY a.created_at", (limit,)):
            alerts.setdefault(row["incident_id"], []).append(with_body(row_dict(row)))
        log_entries: dict[str, list] = {}
        for row in await self._db.all(
            f"SELECT * FROM log_entries WHERE incident_id IN ({latest}) ORDER BY incident_id, seq", (limit,)
        ):
            log_entries.setdefault(row["incident_id"], []).append(row_dict(row, drop=NOTIFICATION_COLUMNS))
        for incident in incidents:
            incident["alerts"] = alerts.get(incident["id"], [])
            incident["log_entries"] = log_entries.get(incident["id"], [])
        (incident_count,) = await self._db.one("SELECT COUNT(*) FROM incidents")
        change_events = [row_dict(r) for r in await self._db.all(
            "SELECT * FROM change_events ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))]
        (change_count,) = await self._db.one("SELECT COUNT(*) FROM change_events")
        (journal_count,) = await self._db.one("SELECT COUNT(*) FROM events")
        webhooks: dict[str, Any] = {"subscriptions": [], "deliveries": [], "delivery_count": 0}
        tables = {r[0] for r in await self._db.all("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "webhook_subscriptions" in tables:
            webhooks["subscriptions"] = [row_dict(r) for r in await self._db.all(
                "SELECT * FROM webhook_subscriptions ORDER BY created_at, id")]
        if "webhook_deliveries" in tables:
            webhooks["deliveries"] = [row_dict(r) for r in await self._db.all(
                "SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT ?", (limit,))]
            (webhooks["delivery_count"],) = await self._db.one("SELECT COUNT(*) FROM webhook_deliveries")
        return {
            "accounts": accounts,
            "partner_apps": await self._partner_apps.all(),
            "oauth_apps": await self._oauth.apps(),
            "incidents": incidents,
            "incident_count": incident_count,
            "change_events": change_events,
            "change_event_count": change_count,
            "journal": {"count": journal_count, "last_event_id": await self._journal.last_id()},
            "webhooks": webhooks,
        }

    # ---- back to the seeded rows in one statement batch (for the pytest fixtures' reset, issue 13) ---------
    # `fake_pagerduty/reset.py` takes `seeded_rows()` once, right after seeding, and puts them back with
    # `restore_rows()` on every full reset: a fraction of a millisecond, where deleting every table and
    # seeding again row by row takes several.

    async def seeded_rows(self) -> SeededRows:
        """Every table's name, and every row as `INSERT` statements, for `restore_rows` to put back."""

        def literal(value: Any) -> str:
            if value is None:
                return "NULL"
            if isinstance(value, bytes):
                return f"X'{value.hex()}'"
            if isinstance(value, int | float):
                return repr(value)
            return "'" + str(value).replace("'", "''") + "'"

        tables = tuple(name for (name,) in await self._db.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"))
        inserts, checks, counts = {}, [], {}
        async with self._db.snapshot():
            for table in tables:
                rows = await self._db.all(_SEEDED_ROWS.format(table=table))
                if rows:
                    counts[table] = len(rows)
                    columns = list(rows[0].keys())[1:]
                    inserts[table] = (f'INSERT INTO "{table}" VALUES '
                                      + ", ".join("(" + ", ".join(map(literal, row[1:])) + ")" for row in rows) + ";")
                    checks.append(_spelled_out(table, columns))
                else:
                    checks.append(f'EXISTS (SELECT 1 FROM "{table}")')
            check_sql = "SELECT " + ", ".join(checks)
            kept = tuple(await self._db.one(check_sql))
            parents: dict[str, set[str]] = {}
            for child, parent in await self._db.all(
                    "SELECT m.name, f.\"table\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f"
                    " WHERE m.type = 'table'"):
                parents.setdefault(child, set()).add(parent)
        return SeededRows(tables, inserts, check_sql, kept, counts,
                          {table: frozenset(names) for table, names in parents.items()}, tuple(checks))

    async def restore_rows(self, seeded: SeededRows, *, restart_ids: bool, count: bool = False) -> dict[str, int]:
        """Empty every table and insert the rows `seeded_rows` saw, in one transaction run as one script (one
        trip to the writer's thread). Foreign keys are off meanwhile (the rows put back are the consistent
        set they were), so each DELETE empties its table at once. With `restart_ids`, AUTOINCREMENT ids (the
        journal's) start from 1 again, as in a new database; else they keep counting. With `count`, returns
        how many rows each table held.

        On the loop's own thread (an inline database: the fixtures' apps) the script touches only the tables
        that differ from the seeded rows, found by one query (`SeededRows.check_sql`) under the same write
        lock just before it runs: an empty table that was empty, or a seeded table holding exactly its seeded
        rows (rowid, value and type, in order), is left as it is — each DELETE rewrites its table's pages
        even when there is nothing to delete, and most tests change a few tables of forty (docs/benchmarks.md,
        seventh pass). There the counts come from the same look: a table left as it is holds its seeded rows,
        and only the tables rewritten are counted. Elsewhere (aiosqlite, `serve`) every table is rewritten and
        counted, as before.

        When the events writer's connection lives on the loop too (`EventsWriter.restores_on_loop`), the
        statements run on it, so that it forgets only what the rewritten tables imply (integrations, incident
        numbers, escalation plans: `events_connection.EventsConnection.restore`) instead of everything, as it does after
        any other connection's commit; with its foreign keys left on when the tables can be ordered for them
        (`_parents_first`); and when it alone wrote since the last reset, only the tables it writes
        (`events_connection.WRITES_TO`) are looked at."""
        tables = seeded.tables

        def statements(redo: tuple[str, ...] | list[str], deletes: Any = None) -> list[str]:
            return [*(f'DELETE FROM "{table}"' for table in (redo if deletes is None else deletes)),
                    *(seeded.inserts[table].removesuffix(";") for table in redo if table in seeded.inserts),
                    *(["DELETE FROM sqlite_sequence"] if restart_ids else [])]

        def script(redo: tuple[str, ...] | list[str]) -> str:
            return "\n".join(["PRAGMA foreign_keys = OFF;", "BEGIN IMMEDIATE;",
                              *(f"{sql};" for sql in statements(redo)), "COMMIT;", "PRAGMA foreign_keys = ON;"])

        counted = sorted([t for t in tables if t not in _UNREPORTED] + list(_COUNTED_VIEWS))
        held: dict[str, int] = {}

        async def changed(among: frozenset[str] | None = None) -> list[str]:
            """The tables that differ from the seeded rows (of `among` alone: the others are known not to)."""
            if among is None:
                look, sql = range(len(tables)), seeded.check_sql
            else:
                look = [i for i, table in enumerate(tables) if table in among]
                sql = ("SELECT " + ", ".join(seeded.checks[i] for i in look)) if look else None
            # on a reader: the script's PRAGMAs make the writer connection compile its statements again, and
            # these are long. Under the write lock, the last commit is what a reader sees.
            async with self._db.snapshot():
                now = await self._db.one(sql) if sql else ()
                redo = [tables[i] for i, seen in zip(look, now, strict=True) if seen != seeded.kept[i]]
                if count:
                    held.update((t, seeded.counts.get(t, 0)) for t in counted)
                    held.update(await self._counts([t for t in redo if t not in _UNREPORTED] + list(_COUNTED_VIEWS)))
            return redo

        async def changed_tables_only(_writer: Any) -> str:
            return script(await changed())

        def on_events(redo: list[str], *, only_if_alone: bool = False) -> bool:
            key = tuple(redo)
            if key not in seeded.orders:  # most tests change the same few tables
                if len(seeded.orders) >= 256:
                    seeded.orders.clear()
                seeded.orders[key] = _parents_first(redo, seeded.parents)
            ordered = seeded.orders[key]
            if ordered is None:
                return self._events.restore(statements(redo), redo, foreign_keys_off=True,
                                            only_if_alone=only_if_alone)
            # with foreign keys on: the events connection's compiled statements stay valid
            return self._events.restore(statements(ordered, reversed(ordered)), ordered, foreign_keys_off=False,
                                        only_if_alone=only_if_alone)

        if self._db.inline and self._events.restores_on_loop:
            async with self._db.write_lock():
                try:
                    # when only the events connection wrote since the last reset, only the tables it writes
                    # are looked at (the whole look costs ~0.3 ms); if another connection committed all the
                    # same before the restore takes SQLite's write lock, every table is looked at after all
                    alone = self._events.changed_alone()
                    if not on_events(await changed(alone), only_if_alone=alone is not None):
                        on_events(await changed())
                finally:
                    self._db.writes += 1  # as `Database.executescript` counts it
        elif self._db.inline:
            await self._db.executescript(changed_tables_only)
        else:
            found = await self._db.executescript(script(tables), first=_count_sql(counted) if count else None)
            held.update(zip(counted, found or (), strict=count))
        return {_REPORTED_AS.get(t, t): held[t] for t in counted} if count else {}

    async def _counts(self, tables: list[str]) -> dict[str, int]:
        return dict(zip(tables, await self._db.one(_count_sql(tables)), strict=True)) if tables else {}

    async def fault_rules(self) -> list[FaultRule]:
        rows = await self._db.all("SELECT * FROM sandbox_faults ORDER BY position")
        return [FaultRule.restore(r["id"], json.loads(r["rule"]), fired=r["fired"], created_at=r["created_at"])
                for r in rows]

    async def replace_fault_rules(self, rules: list[FaultRule]) -> None:
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM sandbox_faults")
            for position, rule in enumerate(rules):
                await db.execute(
                    "INSERT INTO sandbox_faults (id, position, rule, fired, created_at) VALUES (?, ?, ?, ?, ?)",
                    (rule.id, position, dumps(rule.definition()), rule.fired, rule.created_at),
                )

    async def add_fault_rule(self, rule: FaultRule) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO sandbox_faults (id, position, rule, fired, created_at) VALUES"
                " (?, (SELECT COALESCE(MAX(position), -1) + 1 FROM sandbox_faults), ?, ?, ?)",
                (rule.id, dumps(rule.definition()), rule.fired, rule.created_at),
            )

    async def delete_fault_rule(self, rule_id: str) -> int:
        return await self._db.write("DELETE FROM sandbox_faults WHERE id = ?", (rule_id,))

    async def setting(self, name: str) -> Any:
        row = await self._db.one("SELECT value FROM sandbox_settings WHERE name = ?", (name,))
        return json.loads(row[0]) if row else None

    async def put_setting(self, name: str, value: Any) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO sandbox_settings (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, dumps(value)),
            )


def _parents_first(redo: list[str], parents: dict[str, frozenset[str]]) -> list[str] | None:
    """The tables to rewrite so that the restore runs with foreign keys ON (none of their ON DELETE actions
    then reaches a row that stays): `redo` and every table whose foreign keys name one of them, again and
    again, ordered parents first (so that each table's rows are inserted after those they name, and deleted,
    in the reverse order, after those naming them). None when their foreign keys make a cycle."""
    children: dict[str, set[str]] = {}
    for child, named in parents.items():
        for parent in named:
            children.setdefault(parent, set()).add(child)
    closure, todo = set(redo), list(redo)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in closure:
                closure.add(child)
                todo.append(child)
    try:
        return list(graphlib.TopologicalSorter(
            {table: parents.get(table, frozenset()) & closure for table in sorted(closure)}).static_order())
    except graphlib.CycleError:
        return None


def _count_sql(tables: list[str]) -> str:
    return "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{t}")' for t in tables)


async def _tables(db: aiosqlite.Connection) -> list[str]:
    async with db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ) as cursor:
        return [name for (name,) in await cursor.fetchall()]
