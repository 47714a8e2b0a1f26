"""Assigning incidents and notifying people: the one set of statements every path runs — the events writer on
its plain sqlite3 connection (`prepare_new_sync` and `write_new_sync`, for new incidents), REST, the console and the escalation sweep
(`escalations.py`) on the store's. The rules are `domain/escalation.py`'s; plans come from
`escalation_plans.py`. Imports only the domain and the store's shared statements, so the writer process stays
small."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fake_pagerduty.domain import escalation, ids
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.store import escalation_plans
from fake_pagerduty.store.database import dumps
from fake_pagerduty.store.transitions import INSERT_LOG, NOT_NOTIFIED

AUTO = {"type": "auto"}


def user_reference(user_id: str, name: str) -> dict:
    return {"id": user_id, "type": "user_reference", "summary": name}


def service_agent(service_id: str, name: str) -> str:
    """The service as the agent of what it does by itself (assigns, escalates, notifies), as JSON."""
    return dumps({"id": service_id, "type": "service_reference", "summary": name})


def policy_reference(plan: Any) -> dict:
    return {"id": plan.policy_id, "type": "escalation_policy_reference", "summary": plan.name}


@dataclass(frozen=True)
class StepRows:
    """A step as the rows it writes, ids and texts aside: the same for every incident that takes the same step
    in the same second (so the events writer makes them once per policy, service, urgency and second)."""

    columns: tuple  # assignments, assigned_via, escalation_policy, level, loops, delay, next_escalation_at
    logs: tuple[tuple, ...]  # (type, summary, agent JSON, channel JSON, extra JSON): assign/escalate, then notifies
    notifications: tuple[tuple[str, str, str, str], ...]  # (user id, type, address, text), one per notify entry
    # (written on the entry itself: a notification is its notify log entry, migration 0016)


NOBODY = ("[]", None, None, None, 0, None, None)  # StepRows.columns of an incident assigned to nobody
_SET_COLUMNS = ("UPDATE incidents SET assignments = ?, assigned_via = ?,"
                " escalation_policy = COALESCE(?, escalation_policy), escalation_level = ?, escalation_loops = ?,"
                " escalation_delay = ?, next_escalation_at = ?, updated_at = ? WHERE id = ?")


def step_rows(step: escalation.Step | None, *, log_type: str, summary: str, agent_json: str, channel: dict,
              stamp: str, plan: Any = None, via: str = "escalation_policy") -> StepRows:
    """An incident moved to `step`: its assignees and escalation state, the assign or escalate log entry, and one
    notify log entry per notification. `step` None: the policy, and nobody assigned."""
    policy = dumps(policy_reference(plan)) if plan is not None else None
    if step is None:
        return StepRows(("[]", via, policy, None, 0, None, None), (), ())
    assignees = [user_reference(uid, name) for uid, name in step.assignees]
    level = step.level or None
    delay = plan.levels[step.level - 1].escalation_delay_in_minutes if plan is not None and level else None
    columns = (dumps([{"at": stamp, "assignee": a} for a in assignees]), via, policy, level, step.loops, delay,
               iso(step.next_at) if step.next_at else None)
    logs, notifications = _notify_rows(step.notifications, agent_json, stamp)
    return StepRows(columns, ((log_type, summary, agent_json, dumps(channel), dumps({"assignees": assignees})),
                              *logs), notifications)


def _notify_rows(notes: tuple[escalation.Notification, ...], agent_json: str,
                 stamp: str) -> tuple[tuple[tuple, ...], tuple[tuple[str, str, str, str], ...]]:
    """A notify log entry per notification, and the notification's facts the entry carries besides."""
    logs, notifications = [], []
    for note in notes:
        notification = {"type": note.type, "status": "success", "started_at": stamp}
        if note.type != "push_notification":  # a push goes to a device, not an address (rest.json)
            notification["address"] = note.address
        logs.append(("notify_log_entry", note.summary, agent_json, dumps({"type": "auto", "notification": notification}),
                     dumps({"user": user_reference(note.user_id, note.user_name)})))
        notifications.append((note.user_id, note.type, note.address, note.text))
    return tuple(logs), tuple(notifications)


def notify_statements(account_id: str, incident_id: str, notes: tuple[escalation.Notification, ...], agent_json: str,
                      stamp: str) -> list[tuple[str, tuple]]:
    """Notifications alone (the people an incident is assigned to, told again when it returns to triggered)."""
    rows = StepRows((), *_notify_rows(notes, agent_json, stamp))
    return [(INSERT_LOG, p) for p in _entries(account_id, incident_id, rows, stamp)]


def _entries(account_id: str, incident_id: str, rows: StepRows, stamp: str,
             about: escalation.About | None = None) -> list[tuple]:
    """INSERT_LOG's parameters for one incident's entries, each notify entry with its notification: whom it
    went to, the address and the text (made for `about` if given)."""
    logs = []
    first_notify = len(rows.logs) - len(rows.notifications)  # the notify entries come last
    for i, (kind, summary, agent_json, channel_json, extra_json) in enumerate(rows.logs):
        notified = NOT_NOTIFIED
        if i >= first_notify:
            user_id, note_type, address, text = rows.notifications[i - first_notify]
            notified = (user_id, address, escalation.text(note_type, about) if about else text)
        logs.append((ids.log_entry_id(), incident_id, account_id, incident_id, None, kind, summary, agent_json,
                     channel_json, None, stamp, extra_json, *notified))
    return logs


def step_statements(account_id: str, incident_id: str, step: escalation.Step | None, *, log_type: str,
                    summary: str, agent_json: str, channel: dict, stamp: str, plan: Any = None,
                    via: str = "escalation_policy") -> list[tuple[str, tuple]]:
    """`step_rows` as statements for one incident (REST, the console, the escalation sweep)."""
    rows = step_rows(step, log_type=log_type, summary=summary, agent_json=agent_json, channel=channel, stamp=stamp,
                     plan=plan, via=via)
    return _statements(account_id, incident_id, rows, stamp)


def _statements(account_id: str, incident_id: str, rows: StepRows, stamp: str) -> list[tuple[str, tuple]]:
    """One incident's step as statements: its columns set, then its log entries (the notify entries carrying
    their notifications)."""
    return ([(_SET_COLUMNS, (*rows.columns, stamp, incident_id))]
            + [(INSERT_LOG, p) for p in _entries(account_id, incident_id, rows, stamp)])


def creation_rows(plan: Any, about: escalation.About, agent_json: str, now: datetime) -> StepRows:
    """A new incident on a service with an escalation policy: assigned to the first level on call, notified.
    Nobody on call: the incident keeps the policy and is assigned to nobody."""
    step = escalation.start(plan, about, now)
    return step_rows(step, log_type="assign_log_entry",
                     summary=escalation.assign_summary(step.assignees) if step else "", agent_json=agent_json,
                     channel=AUTO, stamp=iso(now), plan=plan)


def creation_statements(account_id: str, incident_id: str, plan: Any, about: escalation.About, agent_json: str,
                        now: datetime) -> list[tuple[str, tuple]]:
    rows = creation_rows(plan, about, agent_json, now)
    return _statements(account_id, incident_id, rows, iso(now))


# ---- the events writer's side -----------------------------------------------------------------------------


def prepare_new_sync(conn: Any, integration: Any, about: escalation.About, now: datetime) -> StepRows | None:
    """On the events writer's connection, in its transaction: how a new incident on this integration's service
    is assigned (None: the service has no policy). Its columns go into the incident's INSERT; `write_new_sync`
    writes the rest once the trigger log entry is in.

    Plans are remembered on the connection (`conn.plans`, forgotten whenever another connection commits) until
    the first on-call stretch in them ends, and the rows of a step for each service, urgency and second
    (`conn.steps`): a burst of new incidents loads the policy once and writes plain rows."""
    policy_id = integration["escalation_policy_id"]
    if policy_id is None:
        return None
    known = conn.plans.get(policy_id)
    if known is None or (known[1] is not None and now >= known[1]) or now < known[2]:
        plan = escalation_plans.sync_escalation_plan(conn, integration["account_id"], policy_id, now)
        known = conn.plans[policy_id] = (plan, escalation.valid_until(plan) if plan else None, now)
        conn.steps.clear()
    if known[0] is None:
        return None
    key = (integration["service_id"], about.urgency, iso(now))
    rows = conn.steps.get(key)
    if rows is None:
        if len(conn.steps) >= 64:
            conn.steps.clear()
        rows = conn.steps[key] = creation_rows(known[0], about, service_agent(integration["service_id"],
                                                                              about.service_name), now)
    return rows


def write_new_sync(conn: Any, rows: StepRows | None, trigger_log: tuple, account_id: str, incident_id: str,
                   about: escalation.About, stamp: str) -> None:
    """A new incident's log entries — its trigger entry (`trigger_log`, INSERT_LOG's parameters), then the
    assign and notify entries of `rows` (see `prepare_new_sync`; None: nobody to assign), the notify entries
    carrying their notifications — in one INSERT of many rows: the incident is new, so its entries are numbered
    from 1."""
    logs = _entries(account_id, incident_id, rows, stamp, about) if rows is not None else []
    logs.insert(0, trigger_log)
    _insert_rows(conn, _INSERT_NUMBERED_LOGS, [(log[0], seq, *log[2:]) for seq, log in enumerate(logs, 1)])


def _many_rows_head(sql: str) -> str:
    """A one-row INSERT up to its VALUES (the statement and its columns), for `_insert_rows`."""
    return sql.split(" VALUES ")[0] + " VALUES "


# INSERT_LOG's columns, its seq given (INSERT_LOG's own finds the next with a subquery, in its place)
_INSERT_NUMBERED_LOGS = _many_rows_head(INSERT_LOG)
_ROWS_PER_INSERT = 64  # 960 parameters at most (15 a row): under 999, the limit of SQLite before 3.32
_ROWS_SQL: dict[tuple[str, int, int], str] = {}


def _insert_rows(conn: Any, head: str, rows: list[tuple]) -> None:
    """`rows` in as few statements as they fit in: one, nearly always, instead of one a row."""
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start:start + _ROWS_PER_INSERT]
        key = (head, len(chunk[0]), len(chunk))
        sql = _ROWS_SQL.get(key)
        if sql is None:  # made once per number of rows
            sql = _ROWS_SQL[key] = head + ", ".join(["(" + ", ".join("?" * len(chunk[0])) + ")"] * len(chunk))
        conn.execute(sql, [value for row in chunk for value in row])
