"""Where PagerDuty's REST spec (rest.json) is wrong about answers PagerDuty really gives: a short named list,
each with its reason. tests/rest_validation.py mends exactly these places before validating, and nothing else:
the validator itself stays as strict as the spec."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.openapi import spec


@dataclass(frozen=True)
class Hole:
    name: str
    where: tuple[str, ...]  # path to a schema inside rest.json
    reason: str
    nullable: bool = False  # the spec omits `nullable` on a field PagerDuty sends as null
    enum_add: tuple[str, ...] = field(default=())  # values PagerDuty sends that the enum leaves out
    error_body: bool = False  # an error response documented without PagerDuty's `{"error": …}` body
    any_json: bool = False  # typed narrower than its own description (any JSON value)
    one_of_as_any_of: bool = False  # a oneOf whose loose branches all match the same value
    or_full: str = ""  # a reference the spec's own include[] expands, typed as the reference only
    status_alias: tuple[str, str] = ()  # (documented, real): an answer documented under the wrong status

    def mend(self, schema: dict) -> None:
        if self.nullable:
            schema["nullable"] = True
        if self.enum_add:
            schema["enum"] = [*schema["enum"], *self.enum_add]
        if self.any_json:
            schema.pop("type")
        if self.one_of_as_any_of:
            schema["anyOf"] = schema.pop("oneOf")
        if self.or_full:
            reference = dict(schema)
            schema.clear()
            schema["anyOf"] = [reference, {"$ref": f"#/components/schemas/{self.or_full}"}]
        if self.status_alias:
            documented, real = self.status_alias
            schema[real] = schema[documented]
        if self.error_body:
            schema["content"] = {"application/json": {"schema": {
                "$ref": "#/components/responses/Conflict/content/application~1json/schema"}}}


def _prop(component: str, name: str) -> tuple[str, ...]:
    """Where a component's property is written in rest.json (directly, or in one of its allOf parts)."""
    where: tuple[str, ...] = ("components", "schemas", component)
    schema = spec("rest.json")["components"]["schemas"][component]
    if name in schema.get("properties", {}):
        return (*where, "properties", name)
    for index, part in enumerate(schema.get("allOf", [])):
        if name in part.get("properties", {}):
            return (*where, "allOf", str(index), "properties", name)
    raise KeyError(f"{component}.{name} is not in rest.json")


_NULL = "PagerDuty sends null here (the spec's own description says so, or its examples show it) but the schema lacks nullable"

HOLES: list[Hole] = [
    Hole("incident resolved_at", _prop("Incident", "resolved_at"), nullable=True,
         reason="'The time the incident became resolved or null if the incident is not resolved' — no nullable"),
    Hole("incident priority", _prop("Incident", "priority"), nullable=True,
         reason="an incident without a priority has priority null at PagerDuty; the schema is a bare $ref"),
    Hole("incident alert_grouping", _prop("Incident", "alert_grouping"), nullable=True,
         reason="'Will be null if the incident has no alerts' (its own description); the sandbox groups no alerts"),
    Hole("incident resolve_reason", _prop("Incident", "resolve_reason"), nullable=True,
         reason="null unless resolved by merging (PagerDuty sends null); no nullable"),
    Hole("service auto_resolve_timeout", _prop("Service", "auto_resolve_timeout"), nullable=True,
         reason="'Set to null to disable' (the property's own description) — no nullable"),
    Hole("service acknowledgement_timeout", _prop("Service", "acknowledgement_timeout"), nullable=True,
         reason="'Set to null to disable' (the property's own description) — no nullable"),
    Hole("service support_hours", _prop("Service", "support_hours"), nullable=True,
         reason="null for a service without support hours (constant urgency rule), as PagerDuty sends it"),
    Hole("service last_incident_timestamp", _prop("Service", "last_incident_timestamp"), nullable=True,
         reason="null for a service that never had an incident"),
    Hole("integration vendor", _prop("Integration", "vendor"), nullable=True,
         reason="null for an integration with no vendor (Events API integrations made by API)"),
    Hole("agent reference types", ("components", "schemas", "AgentReference", "allOf", "1", "properties", "type"),
         enum_add=("events_api_v2_inbound_integration_reference", "generic_events_api_inbound_integration_reference"),
         reason="PagerDuty names an integration agent by its kind (events_api_v2_inbound_integration_reference),"
                " as its own LogEntry examples do; the enum has only integration_reference"),
    Hole("acknowledger reference types", ("components", "schemas", "AcknowledgerReference", "allOf", "1",
                                          "properties", "type"),
         enum_add=("events_api_v2_inbound_integration_reference", "generic_events_api_inbound_integration_reference"),
         reason="'the entity that made the acknowledgement' (its own description): acknowledged through the Events"
                " API, that is the integration, as the acknowledge log entry's agent (AgentReference) names it;"
                " the enum has only user_reference and service_reference"),
    Hole("acknowledge log entry type", ("components", "schemas", "AcknowledgeLogEntry", "allOf", "1", "properties",
                                        "type"), enum_add=("acknowledge_log_entry",),
         reason="AcknowledgeLogEntry's enum says acknowledgement_log_entry, LogEntry's own enum (and PagerDuty)"
                " acknowledge_log_entry: the spec disagrees with itself"),
    Hole("alert body details", (*_prop("Alert", "body"), "properties", "details"), any_json=True,
         reason="'An arbitrary JSON object or string' (its own description) but typed object; PagerDuty keeps an"
                " event's custom_details as sent, null when it had none"),
    Hole("log entry channel", ("components", "schemas", "Channel"), one_of_as_any_of=True,
         reason="a oneOf of loose objects (no required type value each): every channel matches several branches,"
                " so no channel could ever pass a oneOf"),
    *[Hole(f"{owner.lower()} {field} expanded", _prop(owner, field), or_full=full,
           reason=f"{owner}'s endpoint documents include[]={include} (expanding the reference into the full {full}),"
                  f" but {owner}.{field} is typed as the reference only")
      for owner, field, full, include in (("Alert", "service", "Service", "services"),
                                          ("Alert", "incident", "Incident", "incidents"),
                                          ("LogEntry", "service", "Service", "services"),
                                          ("LogEntry", "incident", "Incident", "incidents"),
                                          ("Integration", "service", "Service", "services"),
                                          ("Alert", "first_trigger_log_entry", "TriggerLogEntry",
                                           "first_trigger_log_entries"))],
    Hole("notification rule contact_method expanded", _prop("NotificationRule", "contact_method"),
         or_full="ContactMethod",
         reason="GET /users/{id}/notification_rules documents include[]=contact_methods, but"
                " NotificationRule.contact_method is typed as the reference only"),
    *[Hole(f"on-call {field} expanded", _prop("Oncall", field), or_full=full,
           reason=f"GET /oncalls documents include[]={include}, expanding the reference into the full {full}, but"
                  f" Oncall.{field} is typed as the reference only")
      for field, full, include in (("user", "User", "users"), ("escalation_policy", "EscalationPolicy",
                                                                "escalation_policies"),
                                   ("schedule", "Schedule", "schedules"))],
    *[Hole(f"escalation policy {field} expanded", (*_prop("EscalationPolicy", field), "items"), or_full=full,
           reason=f"the escalation policy endpoints document include[]={field}, expanding each reference into the"
                  f" full {full}, but EscalationPolicy.{field} items are typed as references only")
      for field, full in (("services", "Service"), ("teams", "Team"))],
    *[Hole(f"escalation rule target expanded ({full})", (*_prop("EscalationRule", "targets"), "items"), or_full=full,
           reason="the escalation policy endpoints document include[]=targets, expanding each target into the whole"
                  f" user or schedule, but EscalationRule.targets items are typed as references only ({full})")
      for full in ("User", "Schedule")],
    Hole("one vendor", ("paths", "/vendors/{id}", "get", "responses", "200", "content", "application/json",
                        "schema", "properties", "vendor"), or_full="Vendor",
         reason="GET /vendors/{id} types `vendor` as an array (its example too), but PagerDuty answers the one vendor"
                " as an object, which is what go-pagerduty's GetVendor and the Terraform provider decode"),
    Hole("team member user expanded", ("paths", "/teams/{id}/members", "get", "responses", "200", "content",
                                       "application/json", "schema", "allOf", "1", "properties", "members", "items",
                                       "properties", "user"), or_full="User",
         reason="GET /teams/{id}/members documents include[]=users, but a member's user is typed as the reference"
                " only"),
    Hole("service escalation_policy expanded", _prop("Service", "escalation_policy"), or_full="EscalationPolicy",
         reason="GET /services documents include[]=escalation_policies, but Service.escalation_policy is typed as"
                " the reference only"),
    *[Hole(f"{owner.lower()} teams expanded", (*_prop(owner, "teams"), "items"), or_full="Team",
           reason=f"{endpoint} documents include[]=teams (expanding each reference into the full team), but"
                  f" {owner}.teams items are typed as team references only")
      for owner, endpoint in (("LogEntry", "GET /incidents/{id}/log_entries"), ("Service", "GET /services"))],
    Hole("service integrations expanded", (*_prop("Service", "integrations"), "items"), or_full="Integration",
         reason="GET /services documents include[]=integrations, but Service.integrations items are typed as"
                " integration references only"),
    *[Hole(f"user {field} expanded", (*_prop("User", field), "items"), or_full=full,
           reason=f"the user endpoints document include[]={field}, expanding each reference into the full {full},"
                  f" but User.{field} items are typed as references only")
      for field, full in (("contact_methods", "ContactMethod"), ("notification_rules", "NotificationRule"),
                          ("teams", "Team"))],
    *[Hole(f"on-call {field}", _prop("Oncall", field), nullable=True,
           reason="'If null, the on-call is a permanent user on-call' (Oncall.start's own description): an"
                  " escalation level that names a user directly has no schedule, start or end — no nullable")
      for field in ("start", "end", "schedule")],
    Hole("schedule overrides list status", ("paths", "/schedules/{id}/overrides", "get", "responses"),
         status_alias=("201", "200"),
         reason="GET /schedules/{id}/overrides documents its list under 201 (a copy of POST's status); a GET that"
                " lists answers 200, as PagerDuty's every other list does"),
    Hole("schedule layer end", _prop("ScheduleLayer", "end"), nullable=True,
         reason="'If null, the layer does not end' (the property's own description) — no nullable"),
    *[Hole(f"{owner} coverage", _prop(owner, "rendered_coverage_percentage"), nullable=True,
           reason="'Returns null unless since or until are set' (the property's own description) — no nullable")
      for owner in ("ScheduleLayer", "SubSchedule")],
    *[Hole(f"webhook {name} body", ("components", "responses", f"Webhook{name}"), error_body=True,
           reason="the webhook subscription endpoints' error responses are documented with no body; PagerDuty"
                  " answers them with its usual {error: {message, code}}")
      for name in ("BadRequest", "Unauthorized", "Forbidden", "NotFound")],
]

# (method, spec path, status) PagerDuty answers that the spec does not list for the operation, with the reason;
# (None, None, status) for every operation. Their bodies are checked against the spec's error schema.
MISSING_STATUSES: dict[tuple[str | None, str | None, int], str] = {
    (None, None, 400): "a query the sandbox refuses (an include[] value the spec does not list, a documented"
                       " parameter the sandbox does not implement): Invalid Input Provided (2001), as PagerDuty"
                       " answers a bad query on any endpoint, even where the spec lists no 400",
    ("GET", "/incidents/{id}/alerts", 404): "an unknown incident: 404 Not Found, as on GET /incidents/{id}",
    ("GET", "/incidents/{id}/log_entries", 404): "an unknown incident: 404 Not Found, as on GET /incidents/{id}",
    ("PUT", "/incidents/{id}", 400): "a status it cannot take or a malformed body: Invalid Input Provided (2001),"
                                     " as PagerDuty answers (the spec lists 400 for PUT /incidents but not here)",
    ("PUT", "/incidents", 404): "an id that is no incident of the account: Not Found (2100), as PUT /incidents/{id}",
    ("POST", "/services/{id}/integrations", 404): "an unknown service: 404 Not Found, as on GET /services/{id}",
    ("GET", "/users/{id}/contact_methods", 404): "an unknown user: 404 Not Found, as on GET /users/{id}",
    ("GET", "/users/{id}/notification_rules", 404): "an unknown user: 404 Not Found, as on GET /users/{id}",
    ("DELETE", "/escalation_policies/{id}", 400): "a policy services still follow: Invalid Input Provided (2001)",
}
