"""How the console says things to people: relative times ("3 minutes ago", the exact time on hover), durations,
integration types, and who did what in PagerDuty's words ("Resolved by Demo Monitor")."""

from __future__ import annotations

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


def integration_type(kind: str | None) -> str:
    return INTEGRATION_TYPES.get(kind or "", "Integration")


def timeout(seconds: int | None) -> str:
    return humanize.duration(seconds) if seconds else "off"


def who(entry: dict, integration_names: dict[str, str]) -> str:
    """'by Dana Demo', 'by Demo Monitor' (the integration, by its name), '(auto-resolve timeout)'."""
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
