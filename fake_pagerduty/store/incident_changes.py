"""What REST clients change on an incident's people side: `POST /incidents` (assigned, in the same
transaction, by its policy or to the people named), reassigning, escalating to a level, priority, title and
urgency (`PUT /incidents/{id}`), snooze and merge. The assignment statements are `assignments.py`'s, the ones
the events writer and the escalation sweep run; plans come from `escalation_plans.py`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fake_pagerduty.domain import escalation, ids, incident_actions, lifecycle
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.domain.incident_input import NewIncident, Wanted
from fake_pagerduty.store import escalation_plans
from fake_pagerduty.store.assignments import (
    creation_statements,
    policy_reference,
    service_agent,
    step_statements,
    user_reference,
)
from fake_pagerduty.store.database import Database, dumps
from fake_pagerduty.store.transitions import INSERT_LOG, log_params, resolve_statements
from fake_pagerduty.store.webhooks import Webhooks

API = {"type": "api"}


class OpenIncidentWithKey(Exception):
    """POST /incidents: an open incident on the service has that incident_key."""


class NotAcknowledged(incident_actions.StatusChangeError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(incident_id, "Incident must be acknowledged to be snoozed")


class NobodyAtLevel(Exception):
    """The policy has no such level, or nobody is on call there."""


def _agent(user: dict) -> str:
    return dumps(user_reference(user["id"], user["name"]))


class IncidentChanges:
    def __init__(self, db: Database, webhooks: Webhooks) -> None:
        self._db = db
        self._webhooks = webhooks

    # ---- what the handlers look up first (and the plan: store.people.escalation_plan) --------------------

    async def users(self, account_id: str, user_ids: tuple[str, ...]) -> list | None:
        """The account's users with how to reach them, in the order asked; None if one is not the account's."""
        rows = await self._db.all(
            f"SELECT id FROM users WHERE account_id = ? AND id IN ({', '.join('?' * len(user_ids))})",
            (account_id, *user_ids))
        if len(rows) != len(user_ids):
            return None
        found = await escalation_plans.run_async(self._db, escalation_plans.load_plan_users(user_ids))
        return [found[uid] for uid in user_ids]

    async def priority(self, account_id: str, priority_id: str) -> dict | None:
        return await self._db.first(
            'SELECT id, name, description, "order", color FROM priorities WHERE account_id = ? AND id = ?',
            (account_id, priority_id))

    async def service(self, account_id: str, service_id: str) -> dict | None:
        return await self._db.first(
            "SELECT id, name, urgency_rule, auto_resolve_timeout, escalation_policy_id FROM services"
            " WHERE account_id = ? AND id = ?", (account_id, service_id))

    # ---- changes ----------------------------------------------------------------------------------------------

    async def create(self, account_id: str, service: dict, new: NewIncident, urgency: str, priority: dict | None,
                     user: dict, plan: Any, direct: list | None, now: datetime) -> tuple[str, list[IncidentChange]]:
        """A new triggered incident (no alert), its trigger log entry, and its assignment: to `direct` people,
        else by `plan`. Raises OpenIncidentWithKey."""
        stamp, incident_id = iso(now), ids.long_id()
        key = new.incident_key or ids.dedup_key()
        auto_resolve_at = lifecycle.deadline(now, service["auto_resolve_timeout"])
        agent = _agent(user)
        async with self._db.transaction() as db:
            async with db.execute("SELECT 1 FROM incidents WHERE service_id = ? AND incident_key = ?"
                                  " AND status != 'resolved' LIMIT 1", (service["id"], key)) as cursor:
                if await cursor.fetchone() is not None:
                    raise OpenIncidentWithKey(key)
            async with db.execute("SELECT COALESCE(MAX(incident_number), 0) + 1 FROM incidents WHERE account_id = ?",
                                  (account_id,)) as cursor:
                (number,) = await cursor.fetchone()
            await db.execute(
                "INSERT INTO incidents (id, account_id, service_id, incident_number, title, status, urgency,"
                " incident_key, created_at, updated_at, last_status_change_at, last_status_change_by,"
                " auto_resolve_at, priority, body) VALUES (?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (incident_id, account_id, service["id"], number, new.title, urgency, key, stamp, stamp, stamp, agent,
                 iso(auto_resolve_at) if auto_resolve_at else None, dumps(priority) if priority else None,
                 dumps({"type": "incident_body", "details": new.details}) if new.details is not None else None))
            await db.execute(INSERT_LOG, log_params(account_id, incident_id, None, "trigger_log_entry",
                                                    "Triggered through the API.", agent,
                                                    {"type": "api", "summary": new.title, "details": new.details},
                                                    None, stamp))
            about = escalation.About(number, new.title, service["name"], urgency)
            if direct is not None:
                step = escalation.direct(direct, about, now)
                statements = step_statements(account_id, incident_id, step, log_type="assign_log_entry",
                                             summary=escalation.assign_summary(step.assignees, user["name"]),
                                             agent_json=agent, channel=API, stamp=stamp, plan=plan,
                                             via="direct_assignment")
            elif plan is not None:
                statements = creation_statements(account_id, incident_id, plan, about,
                                                 service_agent(service["id"], service["name"]), now)
            else:
                statements = []
            for sql, params in statements:
                await db.execute(sql, params)
            changes = [IncidentChange(account_id, incident_id, "incident.triggered")]
            await self._webhooks.record_changes(db, changes, stamp)
        return incident_id, changes

    async def update(self, account_id: str, row: dict, wanted: Wanted, priority: dict | None, plan: Any,
                     direct: list | None, user: dict, now: datetime) -> list[IncidentChange]:
        """Title, urgency, priority; then a reassignment (to `direct` people, or to `plan`'s first level) or an
        escalation to `wanted.level` of the incident's policy (`plan`). Raises IncidentAlreadyResolved for a
        resolved incident asked to move, NobodyAtLevel."""
        stamp, agent, incident_id = iso(now), _agent(user), row["id"]
        moves = direct is not None or wanted.policy_id is not None or wanted.level is not None
        if moves and row["status"] == "resolved":
            raise incident_actions.IncidentAlreadyResolved(incident_id)
        title, urgency = wanted.title or row["title"], wanted.urgency or row["urgency"]
        about = escalation.About(row["incident_number"], title, row["service_name"], urgency)
        statements: list[tuple[str, tuple]] = []
        changes: list[IncidentChange] = []
        if direct is not None:
            step = escalation.direct(direct, about, now)
            statements += step_statements(account_id, incident_id, step, log_type="assign_log_entry",
                                          summary=escalation.assign_summary(step.assignees, user["name"]),
                                          agent_json=agent, channel=API, stamp=stamp, via="direct_assignment")
            changes.append(IncidentChange(account_id, incident_id, "incident.reassigned"))
        elif wanted.policy_id is not None:
            step = escalation.start(plan, about, now)
            if step is None:
                statements.append(("UPDATE incidents SET assignments = '[]', escalation_policy = ?,"
                                   " assigned_via = 'escalation_policy', next_escalation_at = NULL WHERE id = ?",
                                   (dumps(policy_reference(plan)), incident_id)))
            else:
                statements += step_statements(account_id, incident_id, step, log_type="assign_log_entry",
                                              summary=escalation.assign_summary(step.assignees, user["name"]),
                                              agent_json=agent, channel=API, stamp=stamp, plan=plan)
            changes.append(IncidentChange(account_id, incident_id, "incident.reassigned"))
        elif wanted.level is not None:
            step = escalation.to_level(plan, wanted.level, row["escalation_loops"] or 0, about, now) if plan else None
            if step is None:
                raise NobodyAtLevel(wanted.level)
            statements += step_statements(account_id, incident_id, step, log_type="escalate_log_entry",
                                          summary=escalation.escalate_summary(step.assignees, user["name"]),
                                          agent_json=agent, channel=API, stamp=stamp, plan=plan)
            changes.append(IncidentChange(account_id, incident_id, "incident.escalated"))
        if row["status"] != "triggered":  # acknowledged people are not chased: no escalation clock
            statements.append(("UPDATE incidents SET next_escalation_at = NULL WHERE id = ?", (incident_id,)))
        sets = [(column, value) for column, value in (("title", wanted.title), ("urgency", wanted.urgency))
                if value is not None]
        if priority is not None or wanted.clear_priority:
            sets.append(("priority", dumps(priority) if priority else None))
        if sets:
            statements.insert(0, (f"UPDATE incidents SET {', '.join(f'{c} = ?' for c, _ in sets)}, updated_at = ?"
                                  " WHERE id = ?", (*(v for _, v in sets), stamp, incident_id)))
            if not changes:
                changes.append(IncidentChange(account_id, incident_id, "incident.updated"))  # live pages only
        async with self._db.transaction() as db:
            for sql, params in statements:
                await db.execute(sql, params)
            await self._webhooks.record_changes(db, changes, stamp)
        return changes

    async def snooze(self, account_id: str, incident_id: str, seconds: int, user: dict,
                     now: datetime) -> list[IncidentChange]:
        """An acknowledged incident returns to triggered after `seconds` (its acknowledgement timeout moved)."""
        stamp, until = iso(now), iso(now + timedelta(seconds=seconds))
        async with self._db.transaction() as db:
            async with db.execute("SELECT status FROM incidents WHERE id = ? AND account_id = ?",
                                  (incident_id, account_id)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise incident_actions.IncidentNotFound(incident_id)
            if row["status"] == "resolved":
                raise incident_actions.IncidentAlreadyResolved(incident_id)
            if row["status"] != "acknowledged":
                raise NotAcknowledged(incident_id)
            await db.execute("UPDATE incidents SET ack_timeout_at = ?, updated_at = ? WHERE id = ?",
                             (until, stamp, incident_id))
            await db.execute(INSERT_LOG, log_params(account_id, incident_id, None, "snooze_log_entry",
                                                    f"Snoozed by {user['name']}.", _agent(user), API, None, stamp,
                                                    {"changed_actions": [{"type": "unacknowledge", "at": until}]}))
        return [IncidentChange(account_id, incident_id, "incident.snoozed")]  # live pages only: no webhook

    async def merge(self, account_id: str, target: dict, source_ids: tuple[str, ...], user: dict,
                    now: datetime) -> list[IncidentChange]:
        """The sources' alerts move to `target`; the sources are resolved (merge_resolve_reason). Raises
        IncidentNotFound (a source), IncidentAlreadyResolved (the target)."""
        if target["status"] == "resolved":
            raise incident_actions.IncidentAlreadyResolved(target["id"])
        stamp, agent = iso(now), _agent(user)
        reference = {"id": target["id"], "type": "incident_reference",
                     "summary": f"[#{target['incident_number']}] {target['title']}"}
        changes: list[IncidentChange] = []
        async with self._db.transaction() as db:
            for source_id in source_ids:
                async with db.execute("SELECT id, status FROM incidents WHERE id = ? AND account_id = ?",
                                      (source_id, account_id)) as cursor:
                    source = await cursor.fetchone()
                if source is None:
                    raise incident_actions.IncidentNotFound(source_id)
                await db.execute("UPDATE alerts SET incident_id = ? WHERE incident_id = ?", (target["id"], source_id))
                if source["status"] == "resolved":
                    continue
                for sql, params in resolve_statements(source_id, agent, stamp):
                    await db.execute(sql, params)
                await db.execute("UPDATE incidents SET resolve_reason = ? WHERE id = ?",
                                 (dumps({"type": "merge_resolve_reason", "incident": reference}), source_id))
                await db.execute(INSERT_LOG, log_params(
                    account_id, source_id, None, "resolve_log_entry",
                    f"Resolved by {user['name']}: merged into #{target['incident_number']}.", agent, API, None, stamp))
                changes.append(IncidentChange(account_id, source_id, "incident.resolved"))
            await db.execute("UPDATE incidents SET updated_at = ? WHERE id = ?", (stamp, target["id"]))
            await self._webhooks.record_changes(db, changes, stamp)
        return changes + [IncidentChange(account_id, target["id"], "incident.merged")]
