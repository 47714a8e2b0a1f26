"""The escalation sweep and what people were sent: triggered incidents whose level's delay ran out move along
their policy (the same sweep as the service timeouts: `incidents.apply_due_timeouts`), with the statements of
`assignments.py`; the notifications the on-call phone and the console list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fake_pagerduty.domain import escalation
from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store import escalation_plans
from fake_pagerduty.store.assignments import AUTO, notify_statements, service_agent, step_statements
from fake_pagerduty.store.database import Database, loads
from fake_pagerduty.store.webhooks import Webhooks

MAX_STEPS_PER_SWEEP = 100  # escalations of one incident in one sweep (a clock advanced by days)
_DUE = (
    "SELECT i.id, i.account_id, i.service_id, i.incident_number, i.title, i.urgency, i.escalation_policy,"
    " i.escalation_level, i.escalation_loops, s.name AS service_name FROM incidents i"
    " JOIN services s ON s.id = i.service_id"
    " WHERE i.next_escalation_at IS NOT NULL AND i.next_escalation_at <= ? AND i.status = 'triggered'"
)


def about(row: Any) -> escalation.About:
    return escalation.About(row["incident_number"], row["title"], row["service_name"], row["urgency"])


class Escalations:
    def __init__(self, db: Database, webhooks: Webhooks) -> None:
        self._db = db
        self._webhooks = webhooks

    async def plan(self, account_id: str, policy_id: str, at: datetime) -> Any:
        return await escalation_plans.run_async(self._db, escalation_plans.load_plan(account_id, policy_id, at))

    async def any_due(self, stamp: str) -> bool:
        return await self._db.one(
            "SELECT 1 FROM incidents WHERE next_escalation_at IS NOT NULL AND next_escalation_at <= ? LIMIT 1",
            (stamp,)) is not None

    async def apply_due(self, now: datetime) -> list[IncidentChange]:
        """Triggered incidents whose level's delay ran out go to the next level (an `escalate_log_entry`, its
        people notified, `incident.escalated`); a policy exhausted leaves them where they are."""
        stamp = iso(now)
        if not await self.any_due(stamp):
            return []
        rows = [dict(row) for row in await self._db.all(_DUE, (stamp,))]
        plans: dict[tuple[str, str], Any] = {}
        for row in rows:
            policy = loads(row["escalation_policy"]) or {}
            key = (row["account_id"], policy.get("id") or "")
            if key not in plans:
                plans[key] = await self.plan(key[0], key[1], now) if key[1] else None
            row["plan"] = plans[key]
        changes: list[IncidentChange] = []
        async with self._db.transaction() as db:
            for row in rows:
                async with db.execute("SELECT next_escalation_at FROM incidents WHERE id = ? AND status = 'triggered'"
                                      " AND next_escalation_at <= ?", (row["id"], stamp)) as cursor:
                    found = await cursor.fetchone()
                if found is None:
                    continue  # acknowledged or resolved meanwhile
                if await self._escalate(db, row, parse_iso(found[0]) or now, now):
                    changes.append(IncidentChange(row["account_id"], row["id"], "incident.escalated"))
            await self._webhooks.record_changes(db, changes, stamp)
        return changes

    async def _escalate(self, db: Any, row: dict, due: datetime, now: datetime) -> bool:
        """Move one incident along its policy from `due` up to `now`: a clock advanced by ten minutes over two
        five-minute levels escalates it twice, each at the time it fell due. Whether it moved at all."""
        plan, level, loops, moved = row["plan"], row["escalation_level"] or 1, row["escalation_loops"], False
        agent = service_agent(row["service_id"], row["service_name"])
        for _ in range(MAX_STEPS_PER_SWEEP):
            step = escalation.escalate(plan, level, loops, about(row), due) if plan else None
            if step is None:
                await db.execute("UPDATE incidents SET next_escalation_at = NULL WHERE id = ?", (row["id"],))
                return moved
            for sql, params in step_statements(row["account_id"], row["id"], step, log_type="escalate_log_entry",
                                               summary=escalation.escalate_summary(step.assignees),
                                               agent_json=agent, channel=AUTO, stamp=iso(due), plan=plan):
                await db.execute(sql, params)
            level, loops, moved = step.level, step.loops, True
            if step.next_at is None or step.next_at > now:
                return moved
            due = step.next_at
        return moved

    async def responder(self, user_id: str) -> dict | None:
        """A user (any account's: the on-call phone has no session) with their account's id."""
        return await self._db.first("SELECT id, name, email, account_id FROM users WHERE id = ?", (user_id,))

    async def renotify(self, changes: list[IncidentChange], now: datetime) -> None:
        """Incidents back to triggered (an acknowledgement timeout ran out, a snooze ended): the people they are
        assigned to are notified again, as at PagerDuty."""
        back = [c.incident_id for c in changes if c.event_type == "incident.unacknowledged"]
        if not back:
            return
        rows = await self._db.all(
            "SELECT i.id, i.account_id, i.service_id, i.incident_number, i.title, i.urgency, i.assignments,"
            " s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            f" WHERE i.status = 'triggered' AND i.id IN ({', '.join('?' * len(back))})", tuple(back))
        wanted = {row["id"]: [a["assignee"]["id"] for a in loads(row["assignments"]) or []] for row in rows}
        users = await escalation_plans.run_async(
            self._db, escalation_plans.load_plan_users([uid for ids in wanted.values() for uid in ids]))
        stamp, statements = iso(now), []
        for row in rows:
            notes = escalation.notifications([users[uid] for uid in wanted[row["id"]] if uid in users], about(row))
            statements += notify_statements(row["account_id"], row["id"], notes,
                                            service_agent(row["service_id"], row["service_name"]), stamp)
        if statements:
            async with self._db.transaction() as db:
                for sql, params in statements:
                    await db.execute(sql, params)

    async def for_user(self, user_id: str, limit: int = 60) -> list[dict]:
        """A user's notifications, newest first, with their incident's number, title, status, who changed its
        status last (an integration also by its name, as the console names it), and service."""
        rows = await self._db.all(
            "SELECT n.id, n.log_entry_id, n.incident_id, n.type, n.address, n.text, n.sent_at, i.incident_number,"
            " i.title, i.status, i.urgency, i.last_status_change_by, g.name AS changed_by_integration,"
            " s.name AS service_name FROM notifications n"
            " JOIN incidents i ON i.id = n.incident_id JOIN services s ON s.id = i.service_id"
            " LEFT JOIN integrations g ON g.service_id = i.service_id"
            " AND g.id = json_extract(i.last_status_change_by, '$.id')"
            " WHERE n.user_id = ? ORDER BY n.id DESC LIMIT ?", (user_id, limit))
        return [dict(row) for row in rows]

    async def for_incident(self, incident_id: str) -> list[dict]:
        """An incident's notifications, oldest first, with whom they went to."""
        rows = await self._db.all(
            "SELECT n.id, n.user_id, u.name AS user_name, n.type, n.address, n.text, n.sent_at FROM notifications n"
            " LEFT JOIN users u ON u.id = n.user_id WHERE n.incident_id = ? ORDER BY n.id", (incident_id,))
        return [dict(row) for row in rows]
