"""The REST API's changes to people (issue 15): users, teams, schedules and their overrides, escalation
policies. `store.people` has these methods too (`People` is a `PeopleWrites`); each change is one transaction,
committed before the answer."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from fake_pagerduty.domain import ids
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store.database import Database
from fake_pagerduty.store.records import Conflict

NOT_A_USER_HASH = "!"  # users made through REST cannot sign in: no password hash matches this


async def _exists(db: aiosqlite.Connection, sql: str, params: tuple) -> bool:
    async with db.execute(sql, params) as cursor:
        return await cursor.fetchone() is not None


async def _owned(db: aiosqlite.Connection, table: str, row_id: str, account_id: str) -> bool:
    """Whether the account has the row."""
    return await _exists(db, f"SELECT 1 FROM {table} WHERE id = ? AND account_id = ?", (row_id, account_id))


async def _refuse_taken_name(db: aiosqlite.Connection, table: str, account_id: str, name: str,
                             other_than: str | None = None) -> None:
    """Raises Conflict when another row of the account has the name (case aside)."""
    if await _exists(db, f"SELECT 1 FROM {table} WHERE account_id = ? AND name = ? COLLATE NOCASE AND id IS NOT ?",
                     (account_id, name, other_than)):
        raise Conflict("name", "Name has already been taken")


async def _set(db: aiosqlite.Connection, table: str, row_id: str, fields: dict, columns: tuple[str, ...],
               stamp: str | None = None) -> None:
    values = {k: v for k, v in fields.items() if k in columns}
    if stamp is not None:
        values["updated_at"] = stamp
    if values:
        await db.execute(f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                         (*values.values(), row_id))


class PeopleWrites:
    _db: Database

    # ---- users ----------------------------------------------------------------------------------------

    async def create_user(self, account_id: str, fields: dict, now: datetime) -> str:
        """A user who cannot sign in (no password), with an email contact method and a rule to use it at once
        for high-urgency incidents, as PagerDuty makes new users. Raises Conflict when the email is taken."""
        user_id, method_id, stamp = ids.short_id(), ids.short_id(), iso(now)
        async with self._db.transaction() as db:
            if await _exists(db, "SELECT 1 FROM users WHERE email = ?", (fields["email"],)):
                raise Conflict("email", "Email has already been taken")
            await db.execute(
                "INSERT INTO users (id, account_id, name, email, password_hash, created_at, role, time_zone, job_title,"
                " description, color) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, account_id, fields["name"], fields["email"], NOT_A_USER_HASH, stamp, fields["role"],
                 fields["time_zone"], fields.get("job_title"), fields.get("description"), fields["color"]))
            await db.execute(
                "INSERT INTO contact_methods (id, account_id, user_id, type, label, address, created_at)"
                " VALUES (?, ?, ?, 'email_contact_method', 'Default', ?, ?)",
                (method_id, account_id, user_id, fields["email"], stamp))
            await db.execute(
                "INSERT INTO notification_rules (id, account_id, user_id, contact_method_id, start_delay_in_minutes,"
                " urgency, created_at) VALUES (?, ?, ?, ?, 0, 'high', ?)",
                (ids.short_id(), account_id, user_id, method_id, stamp))
        return user_id

    async def update_user(self, account_id: str, user_id: str, fields: dict) -> bool:
        """Change the given fields; False when there is no such user. Raises Conflict when the email is taken."""
        async with self._db.transaction() as db:
            if not await _owned(db, "users", user_id, account_id):
                return False
            if "email" in fields and await _exists(db, "SELECT 1 FROM users WHERE email = ? AND id != ?",
                                                   (fields["email"], user_id)):
                raise Conflict("email", "Email has already been taken")
            await _set(db, "users", user_id, fields,
                       ("name", "email", "role", "time_zone", "job_title", "description", "color"))
        return True

    async def delete_user(self, account_id: str, user_id: str) -> bool:
        """Delete a user (their contact methods, rules, memberships and places in schedules go with them);
        False when there is none. Raises Conflict when they are the only target of an escalation level."""
        async with self._db.transaction() as db:
            if not await _owned(db, "users", user_id, account_id):
                return False
            if await _exists(db, "SELECT 1 FROM escalation_rule_targets t WHERE t.target_type = 'user_reference'"
                             " AND t.target_id = ? AND (SELECT COUNT(*) FROM escalation_rule_targets o"
                             " WHERE o.rule_id = t.rule_id) = 1", (user_id,)):
                raise Conflict("user", "The user cannot be deleted as they are the only target of an escalation"
                                       " rule; change the escalation policy first")
            await db.execute("DELETE FROM escalation_rule_targets WHERE target_type = 'user_reference'"
                             " AND target_id = ?", (user_id,))
            await db.execute("DELETE FROM users WHERE id = ?", (user_id,))
        return True

    # ---- teams ----------------------------------------------------------------------------------------

    async def create_team(self, account_id: str, fields: dict, now: datetime) -> str:
        """Raises Conflict when the account has a team by that name."""
        team_id = ids.short_id()
        async with self._db.transaction() as db:
            await _refuse_taken_name(db, "teams", account_id, fields["name"])
            await db.execute(
                "INSERT INTO teams (id, account_id, name, description, default_role, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (team_id, account_id, fields["name"], fields["description"], fields["default_role"], iso(now)))
        return team_id

    # ---- schedules ------------------------------------------------------------------------------------

    async def create_schedule(self, account_id: str, fields: dict, now: datetime) -> str:
        schedule_id, stamp = ids.short_id(), iso(now)
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO schedules (id, account_id, name, description, time_zone, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (schedule_id, account_id, fields["name"], fields["description"], fields["time_zone"], stamp, stamp))
            await _replace_layers(db, schedule_id, fields["schedule_layers"])
        return schedule_id

    async def update_schedule(self, account_id: str, schedule_id: str, fields: dict, now: datetime) -> bool:
        """Change the given fields; layers given replace the schedule's (a layer keeps its id when given it)."""
        async with self._db.transaction() as db:
            if not await _owned(db, "schedules", schedule_id, account_id):
                return False
            await _set(db, "schedules", schedule_id, fields, ("name", "description", "time_zone"), iso(now))
            if "schedule_layers" in fields:
                await _replace_layers(db, schedule_id, fields["schedule_layers"])
        return True

    async def delete_schedule(self, account_id: str, schedule_id: str) -> bool:
        """Raises Conflict when an escalation policy uses the schedule."""
        async with self._db.transaction() as db:
            if not await _owned(db, "schedules", schedule_id, account_id):
                return False
            if await _exists(db, "SELECT 1 FROM escalation_rule_targets WHERE target_type = 'schedule_reference'"
                             " AND target_id = ?", (schedule_id,)):
                raise Conflict("schedule", "The schedule cannot be deleted as escalation policies use it;"
                                           " remove it from them first")
            await db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
        return True

    async def add_overrides(self, schedule_id: str, overrides: list[dict], now: datetime) -> list[dict]:
        """The overrides, each with a new id, as stored."""
        made, stamp = [], iso(now)
        async with self._db.transaction() as db:
            for item in overrides:
                row = {"id": ids.long_id(), "schedule_id": schedule_id, "user_id": item["user_id"],
                       "start": item["start"], "end": item["end"], "created_at": stamp}
                await db.execute('INSERT INTO schedule_overrides (id, schedule_id, user_id, start, "end", created_at)'
                                 " VALUES (?, ?, ?, ?, ?, ?)", tuple(row.values()))
                made.append(row)
        return made

    # ---- escalation policies --------------------------------------------------------------------------

    async def create_policy(self, account_id: str, fields: dict, now: datetime) -> str:
        """Raises Conflict when the account has a policy by that name."""
        policy_id, stamp = ids.short_id(), iso(now)
        async with self._db.transaction() as db:
            await _refuse_taken_name(db, "escalation_policies", account_id, fields["name"])
            await db.execute(
                "INSERT INTO escalation_policies (id, account_id, name, description, num_loops,"
                " on_call_handoff_notifications, team_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (policy_id, account_id, fields["name"], fields["description"], fields["num_loops"],
                 fields["on_call_handoff_notifications"], (fields.get("teams") or [None])[0], stamp, stamp))
            await _replace_rules(db, policy_id, fields["escalation_rules"])
            await _use_policy(db, account_id, policy_id, fields.get("services", []))
        return policy_id

    async def update_policy(self, account_id: str, policy_id: str, fields: dict, now: datetime) -> bool:
        async with self._db.transaction() as db:
            if not await _owned(db, "escalation_policies", policy_id, account_id):
                return False
            if "name" in fields:
                await _refuse_taken_name(db, "escalation_policies", account_id, fields["name"], other_than=policy_id)
            values = dict(fields)
            if "teams" in values:
                values["team_id"] = (values["teams"] or [None])[0]
            await _set(db, "escalation_policies", policy_id, values,
                       ("name", "description", "num_loops", "on_call_handoff_notifications", "team_id"), iso(now))
            if "escalation_rules" in fields:
                await _replace_rules(db, policy_id, fields["escalation_rules"])
            await _use_policy(db, account_id, policy_id, fields.get("services", []))
        return True

    async def delete_policy(self, account_id: str, policy_id: str) -> bool:
        """Raises Conflict when a service follows the policy."""
        async with self._db.transaction() as db:
            if not await _owned(db, "escalation_policies", policy_id, account_id):
                return False
            if await _exists(db, "SELECT 1 FROM services WHERE escalation_policy_id = ?", (policy_id,)):
                raise Conflict("escalation_policy", "The escalation policy cannot be deleted as services use it;"
                                                    " give them another policy first")
            await db.execute("DELETE FROM escalation_policies WHERE id = ?", (policy_id,))
        return True


async def _kept_ids(db: aiosqlite.Connection, sql: str, owner_id: str, items: list[dict]) -> list[dict]:
    """The items, each keeping the id it was given when that id is already its owner's, else a new one."""
    async with db.execute(sql, (owner_id,)) as cursor:
        own = {row[0] for row in await cursor.fetchall()}
    return [{**item, "id": item["id"] if item.get("id") in own else ids.short_id()} for item in items]


async def _replace_layers(db: aiosqlite.Connection, schedule_id: str, layers: list[dict]) -> None:
    await insert_layers(db, schedule_id, await _kept_ids(
        db, "SELECT id FROM schedule_layers WHERE schedule_id = ?", schedule_id, layers))


async def _replace_rules(db: aiosqlite.Connection, policy_id: str, rules: list[dict]) -> None:
    await insert_rules(db, policy_id, await _kept_ids(
        db, "SELECT id FROM escalation_rules WHERE policy_id = ?", policy_id, rules))


async def _use_policy(db: aiosqlite.Connection, account_id: str, policy_id: str, service_ids: list[str]) -> None:
    for service_id in service_ids:
        await db.execute("UPDATE services SET escalation_policy_id = ? WHERE id = ? AND account_id = ?",
                         (policy_id, service_id, account_id))


async def insert_layers(db: aiosqlite.Connection, schedule_id: str, layers: list[dict]) -> None:
    """A schedule's layers (replacing any it had), `position` from their order: the first is the lowest."""
    await db.execute("DELETE FROM schedule_layers WHERE schedule_id = ?", (schedule_id,))
    for position, layer in enumerate(layers):
        await db.execute(
            'INSERT INTO schedule_layers (id, schedule_id, position, name, start, "end", rotation_virtual_start,'
            " rotation_turn_length_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (layer["id"], schedule_id, position, layer.get("name") or f"Layer {position + 1}", layer["start"],
             layer.get("end"), layer["rotation_virtual_start"], layer["rotation_turn_length_seconds"]))
        for index, user_id in enumerate(layer["users"]):
            await db.execute("INSERT INTO schedule_layer_users (layer_id, position, user_id) VALUES (?, ?, ?)",
                             (layer["id"], index, user_id))
        for restriction in layer.get("restrictions", []):
            await db.execute(
                "INSERT INTO schedule_layer_restrictions (layer_id, type, start_time_of_day, start_day_of_week,"
                " duration_seconds) VALUES (?, ?, ?, ?, ?)",
                (layer["id"], restriction["type"], restriction["start_time_of_day"],
                 restriction.get("start_day_of_week"), restriction["duration_seconds"]))


async def insert_rules(db: aiosqlite.Connection, policy_id: str, rules: list[dict]) -> None:
    """A policy's levels (replacing any it had), in order, with their targets."""
    await db.execute("DELETE FROM escalation_rules WHERE policy_id = ?", (policy_id,))
    for position, rule in enumerate(rules):
        await db.execute(
            "INSERT INTO escalation_rules (id, policy_id, position, escalation_delay_in_minutes) VALUES (?, ?, ?, ?)",
            (rule["id"], policy_id, position, rule["escalation_delay_in_minutes"]))
        for index, target in enumerate(rule["targets"]):
            await db.execute(
                "INSERT INTO escalation_rule_targets (rule_id, position, target_type, target_id) VALUES (?, ?, ?, ?)",
                (rule["id"], index, target["type"], target["id"]))
