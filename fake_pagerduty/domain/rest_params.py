"""Every query parameter and `include[]` value PagerDuty's REST spec documents for the endpoints the sandbox
serves, and what the sandbox does with each: one table, checked in one place for every `/api` route.

A row per (method, spec path). `honoured`: documented parameters the sandbox implements with PagerDuty's
semantics. `refused`: documented ones it does not implement: PagerDuty's 400 `Invalid Input Provided` (2001)
naming them, never a 200 that ignored them. Together they are exactly what rest.json documents (less
`include[]`); tests/fake_pagerduty/test_rest_params.py checks that against tests/specs/rest.json, that every
served `/api` route has a row, and walks every row (each honoured parameter by its effect, each refused one
by its 400). `include`: the documented `include[]` values, all accepted; `expands`: those the sandbox turns
from references into full objects (the others leave the references as they are). An `include[]` value not
documented is refused with a 400: PagerDuty answers an enum-valued query parameter's unknown value with its 400
naming the parameter (`statuses[]`: "Status must be a list of triggered, acknowledged, or resolved."), and
`include[]` is one; other undocumented parameters are ignored, as PagerDuty ignores parameters it does not know.

A new `/api` route adds its row here (an endpoint with no query parameters: `Endpoint()`).

Pure: `params` is anything with `multi_items()` (Starlette's QueryParams).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fake_pagerduty.domain.rest_query import InvalidInput

INCLUDE = "include[]"
PAGING = ("limit", "offset", "total")


@dataclass(frozen=True)
class Endpoint:
    honoured: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    expands: tuple[str, ...] = ()

    @property
    def documented(self) -> frozenset[str]:
        return frozenset(self.honoured + self.refused)


_INCIDENT_INCLUDES = ("acknowledgers", "agents", "assignees", "conference_bridge", "escalation_policies",
                      "first_trigger_log_entries", "priorities", "services", "teams", "users")
_INCIDENT_EXPANDS = ("acknowledgers", "agents", "assignees", "escalation_policies", "first_trigger_log_entries",
                     "services", "teams")

_USER_INCLUDES = ("contact_methods", "notification_rules", "teams", "subdomains")
_USER_EXPANDS = ("contact_methods", "notification_rules", "teams")
_POLICY_INCLUDES = ("services", "teams", "targets", "escalation_rule_assignment_strategies")
_POLICY_EXPANDS = ("services", "teams", "targets")

ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("GET", "/incidents"): Endpoint(
        honoured=(*PAGING, "time_zone", "date_range", "incident_key", "service_ids[]", "urgencies[]", "statuses[]",
                  "sort_by", "since", "until", "user_ids[]", "team_ids[]"),
        include=_INCIDENT_INCLUDES,
        expands=_INCIDENT_EXPANDS,
    ),
    ("PUT", "/incidents"): Endpoint(refused=PAGING),
    ("GET", "/incidents/{id}"): Endpoint(include=(*_INCIDENT_INCLUDES, "custom_fields"), expands=_INCIDENT_EXPANDS),
    ("PUT", "/incidents/{id}"): Endpoint(),
    ("GET", "/incidents/{id}/alerts"): Endpoint(
        honoured=(*PAGING, "alert_key", "statuses[]", "sort_by"),
        include=("services", "first_trigger_log_entries", "incidents"),
        expands=("services", "first_trigger_log_entries", "incidents"),
    ),
    ("GET", "/incidents/{id}/log_entries"): Endpoint(
        honoured=(*PAGING, "time_zone", "since", "until", "is_overview"),
        include=("incidents", "services", "channels", "teams"),
        expands=("incidents", "services", "teams"),
    ),
    ("GET", "/services"): Endpoint(
        honoured=("query", *PAGING, "time_zone", "sort_by", "name", "team_ids[]"),
        include=("escalation_policies", "teams", "integrations", "auto_pause_notifications_parameters"),
        expands=("integrations", "escalation_policies", "teams"),
    ),
    ("POST", "/services"): Endpoint(),
    ("GET", "/services/{id}"): Endpoint(
        include=("escalation_policies", "teams", "auto_pause_notifications_parameters", "integrations"),
        expands=("integrations", "escalation_policies", "teams"),
    ),
    ("POST", "/services/{id}/integrations"): Endpoint(),
    ("GET", "/services/{id}/integrations/{integration_id}"): Endpoint(include=("services", "vendors"), expands=("services",)),
    ("POST", "/incidents"): Endpoint(),
    ("POST", "/incidents/{id}/snooze"): Endpoint(),
    ("PUT", "/incidents/{id}/merge"): Endpoint(),
    ("GET", "/incidents/{id}/notes"): Endpoint(),
    ("POST", "/incidents/{id}/notes"): Endpoint(),
    ("GET", "/log_entries"): Endpoint(
        honoured=(*PAGING, "time_zone", "since", "until", "is_overview"),
        refused=("team_ids[]",),
        include=("incidents", "services", "channels", "teams"),
        expands=("incidents", "services", "teams"),
    ),
    ("GET", "/log_entries/{id}"): Endpoint(
        honoured=("time_zone",),
        include=("incidents", "services", "channels", "teams"),
        expands=("incidents", "services", "teams"),
    ),
    ("GET", "/change_events"): Endpoint(
        honoured=(*PAGING, "integration_ids[]", "since", "until", "team_ids[]"),
    ),
    ("GET", "/webhook_subscriptions"): Endpoint(honoured=(*PAGING, "filter_type", "filter_id")),
    ("POST", "/webhook_subscriptions"): Endpoint(),
    ("GET", "/webhook_subscriptions/{id}"): Endpoint(),
    ("PUT", "/webhook_subscriptions/{id}"): Endpoint(),
    ("DELETE", "/webhook_subscriptions/{id}"): Endpoint(),
    ("POST", "/webhook_subscriptions/{id}/ping"): Endpoint(),
    ("POST", "/webhook_subscriptions/{id}/enable"): Endpoint(),
    # people (issue 15: web/rest_people.py, rest_schedules.py, rest_policies.py)
    ("GET", "/users"): Endpoint(honoured=("query", "team_ids[]", *PAGING), include=_USER_INCLUDES,
                                expands=_USER_EXPANDS),
    ("POST", "/users"): Endpoint(),
    ("GET", "/users/me"): Endpoint(include=(*_USER_INCLUDES, "calendar_urls"), expands=_USER_EXPANDS),
    ("GET", "/users/{id}"): Endpoint(include=(*_USER_INCLUDES, "calendar_urls"), expands=_USER_EXPANDS),
    ("PUT", "/users/{id}"): Endpoint(),
    ("DELETE", "/users/{id}"): Endpoint(),
    ("GET", "/users/{id}/contact_methods"): Endpoint(),
    ("GET", "/users/{id}/notification_rules"): Endpoint(honoured=("urgency",), include=("contact_methods",),
                                                        expands=("contact_methods",)),
    ("GET", "/users/{id}/contact_methods/{contact_method_id}"): Endpoint(),
    ("GET", "/users/{id}/notification_rules/{notification_rule_id}"): Endpoint(include=("contact_methods",),
                                                                               expands=("contact_methods",)),
    ("GET", "/teams"): Endpoint(honoured=(*PAGING, "query")),
    ("POST", "/teams"): Endpoint(),
    ("GET", "/teams/{id}"): Endpoint(include=("privileges",)),
    ("GET", "/teams/{id}/members"): Endpoint(honoured=PAGING, include=("users",), expands=("users",)),
    ("GET", "/schedules"): Endpoint(
        honoured=(*PAGING, "query", "time_zone", "include_next_oncall_for_user"),
        refused=("since", "until", "team_ids[]"),
        include=("schedule_layers", "overrides_subschedule", "final_schedule"),
    ),
    ("POST", "/schedules"): Endpoint(honoured=("overflow",)),  # the answer renders no entries to overflow
    ("GET", "/schedules/{id}"): Endpoint(honoured=("since", "until", "overflow", "time_zone",
                                                   "include_next_oncall_for_user")),
    ("PUT", "/schedules/{id}"): Endpoint(honoured=("overflow",)),
    ("DELETE", "/schedules/{id}"): Endpoint(),
    ("GET", "/schedules/{id}/overrides"): Endpoint(honoured=("since", "until"), refused=("editable", "overflow")),
    ("POST", "/schedules/{id}/overrides"): Endpoint(),
    ("GET", "/schedules/{id}/users"): Endpoint(honoured=("since", "until")),
    ("GET", "/escalation_policies"): Endpoint(
        honoured=(*PAGING, "query", "user_ids[]", "team_ids[]", "sort_by"),
        include=_POLICY_INCLUDES, expands=_POLICY_EXPANDS,
    ),
    ("POST", "/escalation_policies"): Endpoint(),
    ("GET", "/escalation_policies/{id}"): Endpoint(include=_POLICY_INCLUDES, expands=_POLICY_EXPANDS),
    ("PUT", "/escalation_policies/{id}"): Endpoint(),
    ("DELETE", "/escalation_policies/{id}"): Endpoint(),
    ("GET", "/oncalls"): Endpoint(
        honoured=(*PAGING, "user_ids[]", "escalation_policy_ids[]", "schedule_ids[]", "since", "until", "earliest",
                  "time_zone"),
        include=("escalation_policies", "users", "schedules"), expands=("escalation_policies", "users", "schedules"),
    ),
    ("GET", "/priorities"): Endpoint(honoured=PAGING),
    ("GET", "/abilities"): Endpoint(),
    ("GET", "/abilities/{id}"): Endpoint(),
    ("GET", "/vendors"): Endpoint(honoured=PAGING),
    ("GET", "/vendors/{id}"): Endpoint(),
}


def endpoint(method: str, path: str) -> Endpoint | None:
    return ENDPOINTS.get((method.upper(), path))


def _documented_name(row: Endpoint, key: str) -> str | None:
    """The spec's name for a query key as clients send it: `statuses[]`, also `statuses` (as the handlers read
    lists); None when the spec does not document it."""
    for name in (key, f"{key}[]", key.removesuffix("[]")):
        if name in row.documented or name == INCLUDE:
            return name
    return None


def check(method: str, path: str, params: object) -> tuple[str, ...]:
    """The request's `include[]` values (in order, once each); raises InvalidInput for every documented
    parameter the sandbox refuses and every `include[]` value the spec does not document. An endpoint with no
    row (no `/api` route should have none: the tests check) is left to its handler."""
    row = endpoint(method, path)
    if row is None:
        return ()
    errors: list[str] = []
    include: list[str] = []
    items: Iterable[tuple[str, str]] = params.multi_items()  # type: ignore[attr-defined]
    for key, value in items:
        name = _documented_name(row, key)
        if name is None:
            continue
        if name == INCLUDE:
            include += [part.strip() for part in value.split(",") if part.strip()]
        elif name in row.refused:
            errors.append(f"The sandbox does not implement the {name} parameter of {method.upper()} {path}"
                          " (see README: REST API)")
    asked = tuple(dict.fromkeys(include))
    for value in asked:
        if value not in row.include:
            allowed = ", ".join(row.include) if row.include else "nothing (this endpoint documents no include[])"
            errors.append(f"Include[] {value!r} is not one of: {allowed}")
    if errors:
        raise InvalidInput(list(dict.fromkeys(errors)))
    return asked
