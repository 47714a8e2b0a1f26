"""Assigning incidents and notifying people: the one set of statements every path runs — the events writer on
its plain sqlite3 connection (`assign_new_sync`, for new incidents), REST, the console and the escalation sweep
(`escalations.py`) on the store's. The rules are `domain/escalation.py`'s; plans come from
`escalation_plans.py`. Imports only the domain and the store's shared statements, so the writer process stays
small."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fake_pagerduty.domain import escalation
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store import escalation_plans
from fake_pagerduty.store.database import dumps
from fake_pagerduty.store.transitions import INSERT_LOG, log_params

INSERT_NOTIFICATION = (
    "INSERT INTO notifications (account_id, incident_id, user_id, type, address, text, log_entry_id, sent_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
AUTO = {"type": "auto"}


def user_reference(user_id: str, name: str) -> dict:
    return {"id": user_id, "type": "user_reference", "summary": name}


def policy_reference(plan: Any) -> dict:
    return {"id": plan.policy_id, "type": "escalation_policy_reference", "summary": plan.name}


def step_statements(account_id: str, incident_id: str, step: escalation.Step, *, log_type: str, summary: str,
                    agent_json: str, channel: dict, stamp: str, plan: Any = None,
                    via: str = "escalation_policy") -> list[tuple[str, tuple]]:
    """An incident moved to `step`: its assignees and escalation state, the assign or escalate log entry, and
    one notify log entry and notification row per notification."""
    assignees = [user_reference(uid, name) for uid, name in step.assignees]
    level = step.level or None
    delay = plan.levels[step.level - 1].escalation_delay_in_minutes if plan is not None and level else None
    statements = [(
        "UPDATE incidents SET assignments = ?, assigned_via = ?, escalation_policy = COALESCE(?, escalation_policy),"
        " escalation_level = ?, escalation_loops = ?, escalation_delay = ?, next_escalation_at = ?, updated_at = ?"
        " WHERE id = ?",
        (dumps([{"at": stamp, "assignee": a} for a in assignees]), via,
         dumps(policy_reference(plan)) if plan is not None else None, level, step.loops, delay,
         iso(step.next_at) if step.next_at else None, stamp, incident_id),
    ), (INSERT_LOG, log_params(account_id, incident_id, None, log_type, summary, agent_json, channel, None, stamp,
                               {"assignees": assignees}))]
    for note in step.notifications:
        notification = {"type": note.type, "status": "success", "started_at": stamp}
        if note.type != "push_notification":  # a push goes to a device, not an address (rest.json)
            notification["address"] = note.address
        params = log_params(account_id, incident_id, None, "notify_log_entry", note.summary, agent_json,
                            {"type": "auto", "notification": notification}, None, stamp,
                            {"user": user_reference(note.user_id, note.user_name)})
        statements.append((INSERT_LOG, params))
        statements.append((INSERT_NOTIFICATION, (account_id, incident_id, note.user_id, note.type, note.address,
                                                 note.text, params[0], stamp)))
    return statements


def creation_statements(account_id: str, incident_id: str, plan: Any, about: escalation.About, agent_json: str,
                        now: datetime) -> list[tuple[str, tuple]]:
    """A new incident on a service with an escalation policy: assigned to the first level on call, notified.
    Nobody on call: the incident keeps the policy and is assigned to nobody."""
    step = escalation.start(plan, about, now)
    if step is None:
        return [("UPDATE incidents SET escalation_policy = ?, assigned_via = 'escalation_policy' WHERE id = ?",
                 (dumps(policy_reference(plan)), incident_id))]
    return step_statements(account_id, incident_id, step, log_type="assign_log_entry",
                           summary=escalation.assign_summary(step.assignees), agent_json=agent_json,
                           channel=AUTO, stamp=iso(now), plan=plan)


# ---- the events writer's side -----------------------------------------------------------------------------


def assign_new_sync(conn: Any, integration: Any, incident_id: str, about: escalation.About, now: datetime) -> None:
    """On the events writer's connection, in its transaction: assign a new incident by its service's policy.

    Plans are remembered on the connection (`conn.plans`, forgotten whenever another connection commits) until
    the first on-call stretch in them ends, so a burst of new incidents loads the policy once."""
    policy_id = integration["escalation_policy_id"]
    if policy_id is None:
        return
    known = conn.plans.get(policy_id)
    if known is None or (known[1] is not None and now >= known[1]) or now < known[2]:
        plan = escalation_plans.sync_escalation_plan(conn, integration["account_id"], policy_id, now)
        known = conn.plans[policy_id] = (plan, escalation.valid_until(plan) if plan else None, now)
    plan = known[0]
    if plan is None:
        return
    agent_json = dumps({"id": integration["service_id"], "type": "service_reference", "summary": about.service_name})
    for sql, params in creation_statements(integration["account_id"], incident_id, plan, about, agent_json, now):
        conn.execute(sql, params)
