"""How the console says things to people: relative times ("3 minutes ago", the exact time on hover), durations,
integration types, and who did what in PagerDuty's words ("Resolved by Demo Monitor")."""

from __future__ import annotations

import json

import jinja2
from markupsafe import Markup, escape

from fake_pagerduty.domain import humanize

INTEGRATION_TYPES = {
    "generic_events_api_inbound_integration": "Events API v1",
    "events_api_v2_inbound_integration": "Events API v2",
}
LOG_LABELS = {
    "trigger_log_entry": "Triggered",
    "acknowledge_log_entry": "Acknowledged",
    "resolve_log_entry": "Resolved",
    "unacknowledge_log_entry": "Unacknowledged",
}
# Entries whose summary says it all ("Escalated to Sam Rivera by timeout."): shown as they are.
SUMMARY_TYPES = ("assign_log_entry", "escalate_log_entry", "notify_log_entry", "annotate_log_entry",
                 "snooze_log_entry")


def integration_type(kind: str | None) -> str:
    return INTEGRATION_TYPES.get(kind or "", "Integration")


def timeout(seconds: int | None) -> str:
    return humanize.duration(seconds) if seconds else "off"


def label(entry: dict) -> str:
    """What a timeline line says happened: 'Acknowledged', or the whole summary ('Notified Dana Demo by SMS')."""
    if entry["type"] in SUMMARY_TYPES:
        return entry["summary"].rstrip(".")
    return LOG_LABELS.get(entry["type"], entry["type"])


def people(incident: dict) -> dict:
    """Who the incident is with, for its page: assignee names, the escalation policy and level, the priority."""
    assignments = incident.get("assignments") or []
    if isinstance(assignments, str):
        assignments = json.loads(assignments)
    policy = json.loads(incident["escalation_policy"]) if incident.get("escalation_policy") else None
    priority = json.loads(incident["priority"]) if incident.get("priority") else None
    return {"assignees": [a["assignee"] for a in assignments if isinstance(a, dict) and a.get("assignee")],
            "policy": policy, "level": incident.get("escalation_level"), "priority": priority}


def who(entry: dict, integration_names: dict[str, str]) -> str:
    """'by Dana Demo', 'by Demo Monitor' (the integration, by its name), '(auto-resolve timeout)'; nothing for
    entries whose summary says it all."""
    if entry["type"] in SUMMARY_TYPES:
        return ""
    agent = entry.get("agent") if isinstance(entry.get("agent"), dict) else {}
    summary = agent.get("summary") or agent.get("id") or "someone"
    kind = agent.get("type", "")
    if kind == "service_reference":
        return f"({summary})"
    if kind.endswith("integration_reference"):
        summary = integration_names.get(agent.get("id", ""), summary)
    return f"by {summary}"


@jinja2.pass_context
def _ago(context, iso: str | None) -> Markup:
    request = context.get("request")
    now = request.app.state.clock.now()
    return Markup('<time datetime="{0}" title="{1}" data-relative>{2}</time>').format(
        escape(iso or ""), humanize.exact(iso), humanize.relative(iso, now))


def install(env: jinja2.Environment) -> None:
    """The console's filters, on the app's template environment (app.py, once)."""
    env.filters.update(ago=_ago, between=humanize.between, integration_type=integration_type, timeout=timeout)
