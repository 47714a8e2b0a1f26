"""The scope a scoped OAuth token needs for each REST endpoint the sandbox serves, as PagerDuty's REST spec
says it ("Scoped OAuth requires: …"). Paths as in the spec (without the sandbox's `/api` prefix);
tests/fake_pagerduty/test_oauth_rest.py checks this table against tests/specs/rest.json for every route."""

from __future__ import annotations

REQUIRED: dict[tuple[str, str], str] = {
    ("GET", "/incidents"): "incidents.read",
    ("PUT", "/incidents"): "incidents.write",
    ("GET", "/incidents/{id}"): "incidents.read",
    ("PUT", "/incidents/{id}"): "incidents.write",
    ("GET", "/incidents/{id}/alerts"): "incidents.read",
    ("GET", "/incidents/{id}/log_entries"): "incidents.read",
    ("POST", "/incidents"): "incidents.write",
    ("POST", "/incidents/{id}/snooze"): "incidents.write",
    ("PUT", "/incidents/{id}/merge"): "incidents.write",
    ("GET", "/incidents/{id}/notes"): "incidents.read",
    ("POST", "/incidents/{id}/notes"): "incidents.write",
    ("GET", "/log_entries"): "incidents.read",
    ("GET", "/log_entries/{id}"): "incidents.read",
    ("GET", "/services"): "services.read",
    ("POST", "/services"): "services.write",
    ("GET", "/services/{id}"): "services.read",
    ("POST", "/services/{id}/integrations"): "services.write",
    ("GET", "/services/{id}/integrations/{integration_id}"): "services.read",
    ("GET", "/change_events"): "change_events.read",
    ("GET", "/webhook_subscriptions"): "webhook_subscriptions.read",
    ("POST", "/webhook_subscriptions"): "webhook_subscriptions.write",
    ("GET", "/webhook_subscriptions/{id}"): "webhook_subscriptions.read",
    ("PUT", "/webhook_subscriptions/{id}"): "webhook_subscriptions.write",
    ("DELETE", "/webhook_subscriptions/{id}"): "webhook_subscriptions.write",
    ("POST", "/webhook_subscriptions/{id}/ping"): "webhook_subscriptions.write",
    ("POST", "/webhook_subscriptions/{id}/enable"): "webhook_subscriptions.write",
    # people (issue 15); `GET /users/me` names no scope in the spec: any user token may ask who it is
    ("GET", "/users"): "users.read",
    ("POST", "/users"): "users.write",
    ("GET", "/users/{id}"): "users.read",
    ("PUT", "/users/{id}"): "users.write",
    ("DELETE", "/users/{id}"): "users.write",
    ("GET", "/users/{id}/contact_methods"): "users:contact_methods.read",
    ("GET", "/users/{id}/notification_rules"): "users:contact_methods.read",
    ("GET", "/users/{id}/contact_methods/{contact_method_id}"): "users:contact_methods.read",
    ("GET", "/users/{id}/notification_rules/{notification_rule_id}"): "users:contact_methods.read",
    ("GET", "/teams"): "teams.read",
    ("POST", "/teams"): "teams.write",
    ("GET", "/teams/{id}"): "teams.read",
    ("GET", "/teams/{id}/members"): "teams.read",
    ("GET", "/schedules"): "schedules.read",
    ("POST", "/schedules"): "schedules.write",
    ("GET", "/schedules/{id}"): "schedules.read",
    ("PUT", "/schedules/{id}"): "schedules.write",
    ("DELETE", "/schedules/{id}"): "schedules.write",
    ("GET", "/schedules/{id}/overrides"): "schedules.read",
    ("POST", "/schedules/{id}/overrides"): "schedules.write",
    ("GET", "/schedules/{id}/users"): "users.read",
    ("GET", "/escalation_policies"): "escalation_policies.read",
    ("POST", "/escalation_policies"): "escalation_policies.write",
    ("GET", "/escalation_policies/{id}"): "escalation_policies.read",
    ("PUT", "/escalation_policies/{id}"): "escalation_policies.write",
    ("DELETE", "/escalation_policies/{id}"): "escalation_policies.write",
    ("GET", "/oncalls"): "oncalls.read",
    ("GET", "/priorities"): "priorities.read",
    ("GET", "/abilities"): "abilities.read",
    ("GET", "/abilities/{id}"): "abilities.read",
    ("GET", "/vendors"): "vendors.read",
    ("GET", "/vendors/{id}"): "vendors.read",
}


def required(method: str, path: str) -> str | None:
    """The scope for `method` on the spec path `path` (`/incidents/{id}`), or None if the table has none."""
    return REQUIRED.get((method.upper(), path))


def all_scopes() -> list[str]:
    return sorted(set(REQUIRED.values()))
