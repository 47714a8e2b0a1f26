"""People (issue 15): users' profiles, contact methods and notification rules, teams, schedules, escalation
policies, priorities, and whom a policy reaches at an instant (`escalation_plan`, with its statements shared
with the events writer in `escalation_plans.py`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import aiosqlite

from fake_pagerduty.domain import oncall, rest_query
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store import escalation_plans as plans
from fake_pagerduty.store.database import Database, Where
from fake_pagerduty.store.people_writes import PeopleWrites, insert_layers, insert_rules

USER_COLUMNS = "id, account_id, name, email, role, time_zone, job_title, description, color, created_at"


class People(PeopleWrites):
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- users ----------------------------------------------------------------------------------------

    async def user(self, account_id: str, user_id: str) -> dict | None:
        return await self._db.first(f"SELECT {USER_COLUMNS} FROM users WHERE account_id = ? AND id = ?",
                                    (account_id, user_id))

    async def users_page(self, account_id: str, page: rest_query.Page, query: str | None = None,
                         team_ids: tuple[str, ...] = ()) -> tuple[list[dict], bool, int | None]:
        """One page of the account's users by name; `query` keeps names or emails containing it (any case),
        `team_ids` members of any of those teams."""
        where = Where(("account_id = ?", account_id))
        if query:
            where.add("(instr(lower(name), lower(?)) > 0 OR instr(lower(email), lower(?)) > 0)", query, query)
        if team_ids:
            where.add(f"id IN (SELECT user_id FROM team_members WHERE team_id IN ({', '.join('?' * len(team_ids))}))",
                      *team_ids)
        return await self._db.paged(
            f"SELECT {USER_COLUMNS} FROM users{where.sql} ORDER BY name COLLATE NOCASE, id LIMIT ? OFFSET ?",
            where.params, page, f"SELECT COUNT(*) FROM users{where.sql}")

    async def users_by_ids(self, user_ids: list[str] | tuple[str, ...]) -> dict[str, dict]:
        ids = tuple(dict.fromkeys(user_ids))
        if not ids:
            return {}
        rows = await self._db.all(f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({', '.join('?' * len(ids))})", ids)
        return {row["id"]: dict(row) for row in rows}

    async def contact_methods(self, user_ids: list[str] | tuple[str, ...]) -> dict[str, list[dict]]:
        """Each user's contact methods, oldest first."""
        return await self._grouped("SELECT * FROM contact_methods WHERE user_id IN ({}) ORDER BY created_at, rowid",
                                   user_ids)

    async def notification_rules(self, user_ids: list[str] | tuple[str, ...]) -> dict[str, list[dict]]:
        """Each user's notification rules (with the contact method's type), soonest first."""
        return await self._grouped(
            "SELECT r.*, m.type AS contact_method_type FROM notification_rules r"
            " JOIN contact_methods m ON m.id = r.contact_method_id WHERE r.user_id IN ({})"
            " ORDER BY r.urgency, r.start_delay_in_minutes, r.created_at, r.rowid", user_ids)

    async def teams_of(self, user_ids: list[str] | tuple[str, ...]) -> dict[str, list[dict]]:
        """Each user's teams (the team's row and `member_role`), by name."""
        return await self._grouped(
            "SELECT m.user_id, m.role AS member_role, t.* FROM team_members m JOIN teams t ON t.id = m.team_id"
            " WHERE m.user_id IN ({}) ORDER BY t.name COLLATE NOCASE", user_ids)

    async def _grouped(self, sql: str, keys: list[str] | tuple[str, ...], by: str = "user_id",
                       columns: tuple[str, ...] | None = None) -> dict[str, list[dict]]:
        """The rows of `sql` (its `IN ({})` filled with the keys) under each key, by their column `by`: whole,
        or only `columns`; a key with no rows has an empty list."""
        ids = tuple(dict.fromkeys(keys))
        out: dict[str, list[dict]] = {key: [] for key in ids}
        if ids:
            for row in await self._db.all(sql.format(", ".join("?" * len(ids))), ids):
                out[row[by]].append({c: row[c] for c in columns} if columns else dict(row))
        return out

    # ---- teams ----------------------------------------------------------------------------------------

    async def team(self, account_id: str, team_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM teams WHERE account_id = ? AND id = ?", (account_id, team_id))

    async def team_members(self, team_id: str) -> list[dict]:
        """A team's members (id, name, role), by name."""
        return [dict(row) for row in await self._db.all(
            "SELECT u.id, u.name, m.role FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ?"
            " ORDER BY u.name COLLATE NOCASE, u.id", (team_id,))]

    async def teams_page(self, account_id: str, page: rest_query.Page,
                         query: str | None = None) -> tuple[list[dict], bool, int | None]:
        where = Where(("account_id = ?", account_id))
        if query:
            where.add("instr(lower(name), lower(?)) > 0", query)
        return await self._db.paged(
            f"SELECT * FROM teams{where.sql} ORDER BY name COLLATE NOCASE, id LIMIT ? OFFSET ?", where.params, page,
            f"SELECT COUNT(*) FROM teams{where.sql}")

    # ---- schedules ------------------------------------------------------------------------------------

    async def schedule_row(self, account_id: str, schedule_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM schedules WHERE account_id = ? AND id = ?",
                                    (account_id, schedule_id))

    async def schedules_page(self, account_id: str, page: rest_query.Page,
                             query: str | None = None) -> tuple[list[dict], bool, int | None]:
        where = Where(("account_id = ?", account_id))
        if query:
            where.add("instr(lower(name), lower(?)) > 0", query)
        return await self._db.paged(
            f"SELECT * FROM schedules{where.sql} ORDER BY name COLLATE NOCASE, id LIMIT ? OFFSET ?", where.params,
            page, f"SELECT COUNT(*) FROM schedules{where.sql}")

    async def schedules(self, schedule_ids: list[str] | tuple[str, ...], since: datetime,
                        until: datetime) -> dict[str, oncall.Schedule]:
        """The schedules as `oncall.Schedule`s (layers, users, restrictions, the overrides touching
        [since, until)); an id with no schedule (deleted meanwhile) as an empty one, on call nobody."""
        found = await plans.run_async(self._db, plans.load_schedules(schedule_ids, since, until))
        return {sid: found.get(sid) or oncall.Schedule(sid, "UTC", ()) for sid in dict.fromkeys(schedule_ids)}

    async def schedule_ids(self, account_id: str) -> list[str]:
        return [row[0] for row in await self._db.all(
            "SELECT id FROM schedules WHERE account_id = ? ORDER BY name COLLATE NOCASE, id", (account_id,))]

    async def schedule_users(self, schedule_ids: list[str] | tuple[str, ...]) -> dict[str, list[dict]]:
        """Each schedule's users (id, name) on any of its layers, by name."""
        return await self._grouped(
            "SELECT DISTINCT l.schedule_id, u.id, u.name FROM schedule_layers l"
            " JOIN schedule_layer_users lu ON lu.layer_id = l.id JOIN users u ON u.id = lu.user_id"
            " WHERE l.schedule_id IN ({}) ORDER BY u.name COLLATE NOCASE, u.id", schedule_ids, "schedule_id",
            ("id", "name"))

    async def schedules_of(self, user_id: str) -> list[dict]:
        """The schedules (id, name) with the user on one of their layers, by name."""
        return [dict(row) for row in await self._db.all(
            "SELECT DISTINCT s.id, s.name FROM schedules s JOIN schedule_layers l ON l.schedule_id = s.id"
            " JOIN schedule_layer_users lu ON lu.layer_id = l.id WHERE lu.user_id = ? ORDER BY s.name COLLATE NOCASE",
            (user_id,))]

    async def overrides(self, schedule_id: str, since: datetime, until: datetime) -> list[dict]:
        return [dict(row) for row in await self._db.all(
            'SELECT * FROM schedule_overrides WHERE schedule_id = ? AND "end" > ? AND start < ?'
            " ORDER BY start, created_at, rowid", (schedule_id, iso(since), iso(until)))]

    # ---- escalation policies --------------------------------------------------------------------------

    async def policy_row(self, account_id: str, policy_id: str) -> dict | None:
        return await self._db.first("SELECT * FROM escalation_policies WHERE account_id = ? AND id = ?",
                                    (account_id, policy_id))

    async def policies_page(self, account_id: str, page: rest_query.Page, query: str | None = None,
                            user_ids: tuple[str, ...] = (), team_ids: tuple[str, ...] = (),
                            descending: bool = False) -> tuple[list[dict], bool, int | None]:
        where = Where(("account_id = ?", account_id)).any_of("team_id", team_ids)
        if query:
            where.add("instr(lower(name), lower(?)) > 0", query)
        if user_ids:
            marks = ", ".join("?" * len(user_ids))
            where.add(
                "id IN (SELECT r.policy_id FROM escalation_rules r JOIN escalation_rule_targets t ON t.rule_id = r.id"
                f" WHERE (t.target_type = 'user_reference' AND t.target_id IN ({marks}))"
                " OR (t.target_type = 'schedule_reference' AND t.target_id IN (SELECT l.schedule_id FROM"
                f" schedule_layers l JOIN schedule_layer_users u ON u.layer_id = l.id WHERE u.user_id IN ({marks}))))",
                *user_ids, *user_ids)
        return await self._db.paged(
            f"SELECT * FROM escalation_policies{where.sql} ORDER BY name COLLATE NOCASE {'DESC' if descending else 'ASC'},"
            " id LIMIT ? OFFSET ?",
            where.params, page, f"SELECT COUNT(*) FROM escalation_policies{where.sql}")

    async def rules(self, policy_id: str) -> list[oncall.Rule]:
        """A policy's levels, in order, with their targets."""
        return await plans.run_async(self._db, plans.load_rules(policy_id))

    async def policy_services(self, policy_ids: list[str] | tuple[str, ...]) -> dict[str, list[dict]]:
        """Each policy's services (id, name), by name."""
        return await self._grouped(
            "SELECT id, name, escalation_policy_id FROM services WHERE escalation_policy_id IN ({})"
            " ORDER BY name COLLATE NOCASE", policy_ids, "escalation_policy_id")

    async def escalation_plan(self, account_id: str, policy_id: str, at: datetime) -> plans.EscalationPlan | None:
        """Whom the policy reaches at `at`, level by level (None: no such policy in the account). The events
        writer's twin: `escalation_plans.sync_escalation_plan(conn, …)`."""
        return await plans.run_async(self._db, plans.load_plan(account_id, policy_id, at))

    async def service_plan(self, service_id: str, at: datetime) -> plans.EscalationPlan | None:
        """The plan of the service's escalation policy (None: the service follows none)."""
        return await plans.run_async(self._db, plans.load_service_plan(service_id, at))

    # ---- several at once -------------------------------------------------------------------------------

    async def existing(self, account_id: str, kind: str, object_ids: list[str] | tuple[str, ...]) -> dict[str, dict]:
        """Those of the ids that are the account's `kind` (users, teams, schedules, escalation_policies,
        services), each as {id, name}."""
        table = {"users": "users", "teams": "teams", "schedules": "schedules",
                 "escalation_policies": "escalation_policies", "services": "services"}[kind]
        ids = tuple(dict.fromkeys(object_ids))
        if not ids:
            return {}
        rows = await self._db.all(f"SELECT id, name FROM {table} WHERE account_id = ? AND id IN"
                                  f" ({', '.join('?' * len(ids))})", (account_id, *ids))
        return {row["id"]: dict(row) for row in rows}

    async def policies_using(self, schedule_ids: list[str] | tuple[str, ...]) -> dict[str, list[dict]]:
        """Each schedule's escalation policies (id, name), by name."""
        return await self._grouped(
            "SELECT DISTINCT t.target_id AS schedule_id, p.id, p.name FROM escalation_rule_targets t"
            " JOIN escalation_rules r ON r.id = t.rule_id JOIN escalation_policies p ON p.id = r.policy_id"
            " WHERE t.target_type = 'schedule_reference' AND t.target_id IN ({}) ORDER BY p.name COLLATE NOCASE",
            schedule_ids, "schedule_id", ("id", "name"))

    async def policies(self, account_id: str, policy_ids: tuple[str, ...] = ()) -> list[dict]:
        """The account's escalation policies (all, or those of `policy_ids`), by name."""
        where = Where(("account_id = ?", account_id)).any_of("id", policy_ids)
        return [dict(row) for row in await self._db.all(
            f"SELECT * FROM escalation_policies{where.sql} ORDER BY name COLLATE NOCASE, id", where.params)]

    # ---- priorities -----------------------------------------------------------------------------------

    async def priorities(self, account_id: str) -> list[dict]:
        """The account's priorities, most urgent first (P1 … P5)."""
        return [dict(row) for row in await self._db.all(
            'SELECT * FROM priorities WHERE account_id = ? ORDER BY "order" DESC, id', (account_id,))]

    # ---- the seed -------------------------------------------------------------------------------------

    async def seed(self, account_id: str, people: dict, now: datetime, *, missing_only: bool) -> None:
        """What a seed document says about an account's people (`seed.py` reads it): users' profiles, contact
        methods and rules (`people["users"]`: only those given), teams, schedules, escalation policies (the one
        marked `default` becomes the account's default; each names its `services`), priorities — with their
        ids. With `missing_only` (a plain reset), what exists by id (or, for teams and policies, by name) is
        left as it is; otherwise it is replaced."""
        stamp = iso(now)
        async with self._db.transaction() as db:
            for user in people.get("users", []):
                await _seed_user(db, account_id, user, stamp)
            for team in people.get("teams", []):
                if await _insert(db, "teams", missing_only, team["id"], account_id, {
                        "name": team["name"], "description": team.get("description", ""),
                        "default_role": team.get("default_role", "manager"), "created_at": stamp}):
                    for member in team.get("members", []):
                        await db.execute("INSERT OR REPLACE INTO team_members (team_id, user_id, role) VALUES (?, ?, ?)",
                                         (team["id"], member["user"], member.get("role", "responder")))
            for schedule in people.get("schedules", []):
                if await _insert(db, "schedules", missing_only, schedule["id"], account_id, {
                        "name": schedule["name"], "description": schedule.get("description", ""),
                        "time_zone": schedule.get("time_zone", "Etc/UTC"), "created_at": stamp, "updated_at": stamp}):
                    await insert_layers(db, schedule["id"], schedule.get("layers", []))
            for policy in people.get("escalation_policies", []):
                if await _insert(db, "escalation_policies", missing_only, policy["id"], account_id, {
                        "name": policy["name"], "description": policy.get("description", ""),
                        "num_loops": policy.get("num_loops", 0),
                        "on_call_handoff_notifications": policy.get("on_call_handoff_notifications", "if_has_services"),
                        "team_id": policy.get("team"), "created_at": stamp, "updated_at": stamp}):
                    await insert_rules(db, policy["id"], policy.get("rules", []))
                await _seed_policy_use(db, account_id, policy, missing_only)
            for priority in people.get("priorities", []):
                await _insert(db, "priorities", missing_only, priority["id"], account_id, {
                    "name": priority["name"], "description": priority.get("description", ""),
                    "order": priority["order"], "color": priority["color"], "created_at": stamp})


async def _insert(db: aiosqlite.Connection, table: str, missing_only: bool, row_id: str, account_id: str,
                  values: dict) -> bool:
    """Insert a seeded row, or with `missing_only` only when nothing by its id (or name) is there; whether its
    children are to be (re)written. Without `missing_only` an existing row is updated in place, never deleted
    and made again: services following a policy, and the account's default, keep pointing at it."""
    columns = ", ".join(f'"{c}"' for c in ["id", "account_id", *values])  # quoted: priorities have an "order"
    marks = ", ".join("?" * (len(values) + 2))
    if missing_only:
        conflict = "ON CONFLICT DO NOTHING"
    else:
        kept = [c for c in values if c != "created_at"]
        conflict = "ON CONFLICT(id) DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in kept)
    try:
        cursor = await db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks}) {conflict}",
                                  (row_id, account_id, *values.values()))
    except sqlite3.IntegrityError as exc:  # the name is another row's
        raise ValueError(f"{table} {row_id}: {values.get('name')!r} is taken by another") from exc
    return cursor.rowcount > 0


async def _seed_user(db: aiosqlite.Connection, account_id: str, user: dict, stamp: str) -> None:
    """A seeded user's profile, contact methods and notification rules, those the seed gives (the user row
    itself is `accounts.upsert_user`'s)."""
    found = await (await db.execute("SELECT id FROM users WHERE account_id = ? AND email = ?",
                                    (account_id, user["email"]))).fetchone()
    if found is None:
        return
    user_id = found[0]
    profile = {k: user[k] for k in ("role", "time_zone", "job_title", "description", "color") if k in user}
    if profile:
        await db.execute(f"UPDATE users SET {', '.join(f'{k} = ?' for k in profile)} WHERE id = ?",
                         (*profile.values(), user_id))
    if "contact_methods" in user:  # the file's list replaces the user's (its rules go with them)
        await db.execute("DELETE FROM contact_methods WHERE user_id = ?", (user_id,))
    for method in user.get("contact_methods", []):
        await db.execute(
            "INSERT OR REPLACE INTO contact_methods (id, account_id, user_id, type, label, address, country_code,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (method["id"], account_id, user_id, method["type"], method.get("label", "Default"), method["address"],
             method.get("country_code"), stamp))
    if "notification_rules" in user:
        await db.execute("DELETE FROM notification_rules WHERE user_id = ?", (user_id,))
    for rule in user.get("notification_rules", []):
        await db.execute(
            "INSERT OR REPLACE INTO notification_rules (id, account_id, user_id, contact_method_id,"
            " start_delay_in_minutes, urgency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rule["id"], account_id, user_id, rule["contact_method"], rule.get("start_delay_in_minutes", 0),
             rule.get("urgency", "high"), stamp))


async def _seed_policy_use(db: aiosqlite.Connection, account_id: str, policy: dict, missing_only: bool) -> None:
    """The services a seeded policy names follow it (with `missing_only`, those following none), and the
    account's default policy (with `missing_only`, when it has none)."""
    keep = " AND escalation_policy_id IS NULL" if missing_only else ""
    for name in policy.get("services", []):
        await db.execute(f"UPDATE services SET escalation_policy_id = ? WHERE account_id = ? AND name = ?{keep}",
                         (policy["id"], account_id, name))
    if policy.get("default"):
        keep = " AND default_escalation_policy_id IS NULL" if missing_only else ""
        await db.execute(f"UPDATE accounts SET default_escalation_policy_id = ? WHERE id = ?{keep}",
                         (policy["id"], account_id))
