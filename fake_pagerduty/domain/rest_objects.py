"""PagerDuty-shaped REST objects built from store rows (plain dicts): pure functions, no SQL, no HTTP.

`base` is the sandbox's public base URL (`settings.base_url`): API URLs (`self`) live under `{base}/api`,
people's pages (`html_url`) under `{base}`.
"""

from __future__ import annotations

import json
from typing import Any

from fake_pagerduty.domain import people_objects

# A service or incident stored without an escalation policy of its own names this fixed one.
ESCALATION_POLICY_ID = "PSANDEP"
ESCALATION_POLICY_NAME = "Default"

# Where each reference type lives: (API collection, page path).
_COLLECTIONS = {
    "user_reference": ("users", "users"),
    "service_reference": ("services", "services"),
    "incident_reference": ("incidents", "incidents"),
    "escalation_policy_reference": ("escalation_policies", "escalation_policies"),
}


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def reference(base: str, ref: dict | None) -> dict | None:
    """A stored `{id, type, summary}` reference with PagerDuty's `self` and `html_url` filled in."""
    if not ref:
        return None
    out = {"id": ref.get("id"), "type": ref.get("type"), "summary": ref.get("summary")}
    where = _COLLECTIONS.get(out["type"] or "")
    out["self"] = f"{base}/api/{where[0]}/{out['id']}" if where else None
    out["html_url"] = f"{base}/{where[1]}/{out['id']}" if where else None
    return out


def service_reference(base: str, service_id: str, name: str) -> dict:
    return reference(base, {"id": service_id, "type": "service_reference", "summary": name})


def user_reference(base: str, user: dict) -> dict:
    return reference(base, {"id": user["id"], "type": "user_reference", "summary": user["name"]})


def incident_reference(base: str, incident_id: str, number: int, title: str) -> dict:
    return reference(base, {"id": incident_id, "type": "incident_reference", "summary": f"[#{number}] {title}"})


def escalation_policy_reference(base: str) -> dict:
    return reference(
        base, {"id": ESCALATION_POLICY_ID, "type": "escalation_policy_reference", "summary": ESCALATION_POLICY_NAME}
    )


def _policy(base: str, row: dict) -> dict:
    """A service's or incident's escalation policy: its stored reference, else the fixed one."""
    return reference(base, _json(row.get("escalation_policy"), None)) or escalation_policy_reference(base)


def integration_reference(base: str, row: dict) -> dict:
    """An integration reference; `row` has `id`, `type`, `name`, `service_id`."""
    return {
        "id": row["id"],
        "type": f"{row['type']}_reference",
        "summary": row["name"],
        "self": f"{base}/api/services/{row['service_id']}/integrations/{row['id']}",
        "html_url": f"{base}/services/{row['service_id']}/integrations/{row['id']}",
    }


def agent_reference(base: str, agent: dict | None, service_id: str | None = None) -> dict | None:
    """Log entry and status-change agents: users and services link home; integrations link to their service."""
    if not agent:
        return None
    kind = agent.get("type") or ""
    if kind.endswith("_inbound_integration_reference") and service_id:
        return integration_reference(
            base, {"id": agent.get("id"), "type": kind.removesuffix("_reference"), "name": agent.get("summary"),
                   "service_id": service_id}
        )
    return reference(base, agent)


def pagination(limit: int, offset: int, more: bool, total: int | None) -> dict:
    return {"limit": limit, "offset": offset, "more": more, "total": total}


def incident(base: str, row: dict, alert_counts: dict | None = None) -> dict:
    """An incident; `row` is an incidents row plus `service_name`."""
    counts = alert_counts or {"all": 0, "triggered": 0, "resolved": 0}
    number, title = row["incident_number"], row["title"]
    acknowledgements = [
        {"at": ack.get("at"), "acknowledger": agent_reference(base, ack.get("acknowledger"), row["service_id"])}
        for ack in _json(row.get("acknowledgements"), [])
    ] if row["status"] == "acknowledged" else []
    return {
        "id": row["id"],
        "type": "incident",
        "summary": f"[#{number}] {title}",
        "self": f"{base}/api/incidents/{row['id']}",
        "html_url": f"{base}/incidents/{row['id']}",
        "incident_number": number,
        "title": title,
        "description": title,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "status": row["status"],
        "incident_key": row["incident_key"],
        "service": service_reference(base, row["service_id"], row["service_name"]),
        "assignments": _assignments(base, row),
        "assigned_via": row.get("assigned_via") or "escalation_policy",
        "last_status_change_at": row["last_status_change_at"],
        "last_status_change_by": agent_reference(
            base, _json(row.get("last_status_change_by"), None), row["service_id"]
        ),
        "resolved_at": row["resolved_at"],
        "alert_counts": {"all": counts["all"], "triggered": counts["triggered"], "resolved": counts["resolved"]},
        "is_mergeable": True,
        "alert_grouping": None,  # the sandbox groups no alerts
        "incident_type": {"name": "incident_default"},
        "escalation_policy": _policy(base, row),
        "teams": [],
        "pending_actions": _pending_actions(row),
        "acknowledgements": acknowledgements,
        "priority": priority(base, _json(row.get("priority"), None)),
        "resolve_reason": _resolve_reason(base, _json(row.get("resolve_reason"), None)),
        "incidents_responders": [],
        "responder_requests": [],
        "urgency": row["urgency"],
    }


def _pending_actions(row: dict) -> list[dict]:
    """What will happen to the incident by itself, and when: escalate (triggered), unacknowledge (acknowledged:
    the acknowledgement timeout or a snooze), resolve (the auto-resolve timeout)."""
    due = {"triggered": (("escalate", "next_escalation_at"), ("resolve", "auto_resolve_at")),
           "acknowledged": (("unacknowledge", "ack_timeout_at"), ("resolve", "auto_resolve_at"))}
    return [{"type": kind, "at": row[column]} for kind, column in due.get(row["status"], ()) if row.get(column)]


def _assignments(base: str, row: dict) -> list[dict]:
    """Who the incident is assigned to now (nobody once it is resolved, as PagerDuty shows it)."""
    if row["status"] == "resolved":
        return []
    return [{"at": a.get("at"), "assignee": reference(base, a.get("assignee"))}
            for a in _json(row.get("assignments"), []) if isinstance(a, dict)]


def priority(base: str, stored: dict | None) -> dict | None:
    """An incident's priority (stored as the priority's fields when it was set) as PagerDuty shows it."""
    if not stored:
        return None
    return {"id": stored.get("id"), "type": "priority", "summary": stored.get("name"),
            "self": f"{base}/api/priorities/{stored.get('id')}", "html_url": None, "name": stored.get("name"),
            "description": stored.get("description", ""), "order": stored.get("order"),
            "color": stored.get("color")}


def _resolve_reason(base: str, stored: dict | None) -> dict | None:
    if not stored:
        return None
    incident = stored.get("incident")
    return {"type": stored.get("type"), "incident": reference(base, incident) if incident else None}


def service_status(stored: str, open_statuses: set[str]) -> str:
    """A service's `status` as rest.json describes it: `disabled` or `maintenance` as set; otherwise `critical`
    with a triggered incident open, `warning` with only acknowledged ones, `active` with none."""
    if stored in ("disabled", "maintenance"):
        return stored
    if "triggered" in open_statuses:
        return "critical"
    return "warning" if "acknowledged" in open_statuses else "active"


def urgency_rule(rule: str) -> dict:
    """The service's `incident_urgency_rule`: constant high/low, or severity based."""
    return {"type": "constant", "urgency": rule if rule in ("high", "low") else "severity_based"}


def service(base: str, row: dict, integrations: list[dict], last_incident_at: str | None = None) -> dict:
    """A service; `integrations` are integrations rows (`id`, `type`, `name`, `service_id`)."""
    return {
        "id": row["id"],
        "type": "service",
        "summary": row["name"],
        "self": f"{base}/api/services/{row['id']}",
        "html_url": f"{base}/services/{row['id']}",
        "name": row["name"],
        "description": row["description"],
        "auto_resolve_timeout": row["auto_resolve_timeout"],
        "acknowledgement_timeout": row["acknowledgement_timeout"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "status": row["status"],
        "last_incident_timestamp": last_incident_at,
        "escalation_policy": _policy(base, row),
        "response_play": None,
        "teams": [],
        "integrations": [integration_reference(base, i) for i in integrations],
        "incident_urgency_rule": urgency_rule(row["urgency_rule"]),
        "support_hours": None,
        "scheduled_actions": [],
        "addons": [],
        "alert_creation": "create_alerts_and_incidents",
        "auto_pause_notifications_parameters": {"enabled": False, "timeout": 0},
    }


def integration(base: str, row: dict, service_name: str) -> dict:
    """An integration with its key; `row` is an integrations row."""
    return {
        **integration_reference(base, row),
        "type": row["type"],
        "name": row["name"],
        "service": service_reference(base, row["service_id"], service_name),
        "created_at": row["created_at"],
        "vendor": None,
        "integration_key": row["integration_key"],
    }


def alert(base: str, row: dict) -> dict:
    """An alert; `row` is an alerts row plus `service_name`, `incident_number`, `incident_title`,
    `integration_type`, `integration_name`."""
    body = _json(row.get("body"), {})
    return {
        "id": row["id"],
        "type": "alert",
        "summary": row["summary"],
        "self": f"{base}/api/alerts/{row['id']}",
        "html_url": f"{base}/alerts/{row['id']}",
        "created_at": row["created_at"],
        "status": row["status"],
        "resolved_at": row["resolved_at"],
        "alert_key": row["alert_key"],
        "suppressed": False,
        "severity": row["severity"],
        "service": service_reference(base, row["service_id"], row["service_name"]),
        "incident": incident_reference(base, row["incident_id"], row["incident_number"], row["incident_title"]),
        "integration": integration_reference(
            base, {"id": row["integration_id"], "type": row["integration_type"], "name": row["integration_name"],
                   "service_id": row["service_id"]}
        ),
        "body": body,
    }


def log_entry(base: str, row: dict) -> dict:
    """A log entry; `row` is a log_entries row plus `service_id`, `service_name`, `incident_number`,
    `incident_title`."""
    channel = _json(row.get("channel"), {})
    return {
        "id": row["id"],
        "type": row["type"],
        "summary": row["summary"],
        "self": f"{base}/api/log_entries/{row['id']}?incident_id={row['incident_id']}",
        "html_url": f"{base}/incidents/{row['incident_id']}/log_entries/{row['id']}",
        "created_at": row["created_at"],
        "agent": agent_reference(base, _json(row.get("agent"), None), row["service_id"]),
        "channel": channel,
        "service": service_reference(base, row["service_id"], row["service_name"]),
        "incident": incident_reference(base, row["incident_id"], row["incident_number"], row["incident_title"]),
        "teams": [],
        "contexts": [],
        "event_details": {"description": channel.get("summary") or row["summary"]},
        **_log_entry_extra(base, _json(row.get("extra"), None)),
    }


def _log_entry_extra(base: str, extra: dict | None) -> dict:
    """What some log entry types add: `assignees` (assign, escalate), the `user` notified (notify)."""
    out: dict[str, Any] = {}
    for name, value in (extra or {}).items():
        if name == "assignees":
            out[name] = [reference(base, ref) for ref in value]
        elif name == "user":
            out[name] = reference(base, value)
        else:
            out[name] = value
    return out


def incident_extras(base: str, first_trigger: dict | None, team: dict | None) -> dict:
    """What an incident shows beyond its own row: `first_trigger_log_entry` (a reference; `first_trigger` is a
    log_entries row) and `teams` (its escalation policy's team: `team` has id and name)."""
    return {"first_trigger_log_entry": log_entry_reference(base, first_trigger) if first_trigger else None,
            "teams": [people_objects.team(base, team, reference=True)] if team else []}


def log_entry_reference(base: str, row: dict) -> dict:
    """A log entry reference (an incident's `first_trigger_log_entry`); `row` is a log_entries row."""
    return {"id": row["id"], "type": f"{row['type']}_reference", "summary": row["summary"],
            "self": f"{base}/api/log_entries/{row['id']}?incident_id={row['incident_id']}",
            "html_url": f"{base}/incidents/{row['incident_id']}/log_entries/{row['id']}"}


def change_event(base: str, row: dict) -> dict:
    """A change event; `row` is a change_events row plus `service_name`, `integration_type`,
    `integration_name`, `integration_key`."""
    return {
        "id": row["id"],
        "type": "change_event",
        "summary": row["summary"],
        "self": None,  # the sandbox serves no GET /change_events/{id} and no page for one
        "html_url": None,
        "timestamp": row["timestamp"],
        "source": row["source"],
        "services": [service_reference(base, row["service_id"], row["service_name"])],
        "integration": integration_reference(
            base, {"id": row["integration_id"], "type": row["integration_type"], "name": row["integration_name"],
                   "service_id": row["service_id"]}
        ),
        "routing_key": row["integration_key"],
        "custom_details": _json(row.get("custom_details"), {}),
        "links": _json(row.get("links"), []),
        "images": _json(row.get("images"), []),
    }
