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
}


def required(method: str, path: str) -> str | None:
    """The scope for `method` on the spec path `path` (`/incidents/{id}`), or None if the table has none."""
    return REQUIRED.get((method.upper(), path))


def all_scopes() -> list[str]:
    return sorted(set(REQUIRED.values()))
