import pytest

from demo_monitor.domain.alerts import new_alert_from_rule
from demo_monitor.domain.rules import Rule
from demo_monitor.domain.webhooks import (
    WebhookError,
    changes_for,
    is_replay,
    pagerduty_status_text,
    parse_event,
    sign,
    verify_signature,
)

BODY = b'{"event":{"id":"E1"}}'


def test_signature_accepts_any_matching_v1_and_rejects_the_rest():
    good = sign("demo-webhook-secret", BODY)
    assert verify_signature("demo-webhook-secret", BODY, good)
    assert verify_signature("demo-webhook-secret", BODY, f"v1=deadbeef, {good}")
    assert not verify_signature("demo-webhook-secret", BODY, "v1=deadbeef")
    assert not verify_signature("other-secret", BODY, good)
    assert not verify_signature("demo-webhook-secret", BODY + b" ", good)
    assert not verify_signature("demo-webhook-secret", BODY, None)
    assert not verify_signature("demo-webhook-secret", BODY, good.removeprefix("v1="))


def test_acknowledged_in_pagerduty_carries_over_to_an_open_alert():
    alert = new_alert_from_rule("alert-1-aaaaaa", 1, "www15", Rule(1, "memory_usage", ">", 90, "critical", 2), 98,
                                "t0")
    event = parse_event({"event": {"id": "E1", "event_type": "incident.acknowledged",
                                   "agent": {"summary": "Dana Demo"},
                                   "data": {"incident_key": "alert-1-aaaaaa", "status": "acknowledged",
                                            "html_url": "http://sandbox/incidents/P1"}}})
    changes = changes_for(alert, event, "t1")
    assert changes == {"pd_incident_url": "http://sandbox/incidents/P1", "pd_status": "acknowledged",
                       "pd_agent": "Dana Demo", "state": "acknowledged", "acknowledged_at": "t1",
                       "acknowledged_by": "Dana Demo (in PagerDuty)"}
    alert.pd_status, alert.pd_agent = "acknowledged", "Dana Demo"
    assert pagerduty_status_text(alert) == "Acknowledged in PagerDuty by Dana Demo"


def _alert(state: str = "open"):
    alert = new_alert_from_rule("alert-1-aaaaaa", 1, "www15", Rule(1, "memory_usage", ">", 90, "critical", 2), 98,
                                "t0")
    alert.state = state
    return alert


def _event(event_type: str, agent: dict | None = None, **data) -> dict:
    return parse_event({"event": {"id": "E1", "event_type": event_type, "agent": agent, "data": data}})


@pytest.mark.parametrize(("payload", "error"), [
    ([], "The body must be a JSON object with an 'event' object."),
    ({"event": "E1"}, "The body must be a JSON object with an 'event' object."),
    ({"event": {"event_type": "incident.resolved"}}, "event.id is missing."),
    ({"event": {"id": "", "event_type": "incident.resolved"}}, "event.id is missing."),
    ({"event": {"id": "E1"}}, "event.event_type is missing."),
    ({"event": {"id": "E1", "event_type": 7}}, "event.event_type is missing."),
])
def test_a_body_that_is_not_a_v3_event_is_refused_by_name(payload, error):
    with pytest.raises(WebhookError) as refused:
        parse_event(payload)
    assert str(refused.value) == error


def test_an_event_is_read_field_by_field_and_odd_values_are_dropped():
    assert parse_event({"event": {
        "id": "E1", "event_type": "incident.resolved", "occurred_at": "2026-11-26T12:00:00Z",
        "agent": {"type": "user_reference", "name": "dana"},
        "data": {"incident_key": "alert-1", "status": "resolved", "html_url": " HTTPS://sandbox.test/incidents/Q1"}},
    }) == {"id": "E1", "event_type": "incident.resolved", "occurred_at": "2026-11-26T12:00:00Z",
           "incident_key": "alert-1", "status": "resolved", "agent": "dana",
           "html_url": " HTTPS://sandbox.test/incidents/Q1"}
    assert parse_event({"event": {
        "id": "E1", "event_type": "incident.resolved", "occurred_at": 5, "agent": "dana",
        "data": {"incident_key": 1, "status": ["resolved"], "html_url": "javascript:alert(1)"}},
    }) == {"id": "E1", "event_type": "incident.resolved", "occurred_at": None, "incident_key": None,
           "status": None, "agent": None, "html_url": None}
    assert parse_event({"event": {"id": "E1", "event_type": "incident.resolved", "agent": {"summary": 5},
                                  "data": ["not", "an", "object"]}}) == {
        "id": "E1", "event_type": "incident.resolved", "occurred_at": None, "incident_key": None, "status": None,
        "agent": None, "html_url": None}
    # an integration acted: the monitor's own, whatever PagerDuty calls it
    assert _event("incident.resolved", {"type": "generic_events_api_inbound_integration_reference",
                                        "summary": "Demo Monitor (Events API v2)"})["agent"] == "Demo Monitor"


def test_what_each_incident_event_does_to_the_alert():
    dana = {"summary": "Dana Demo"}
    assert changes_for(_alert(), _event("incident.triggered", dana), "t1") == {"pd_status": "triggered"}
    for kind in ("incident.unacknowledged", "incident.reopened"):
        assert changes_for(_alert("acknowledged"), _event(kind, dana), "t1") == {
            "pd_status": "triggered", "pd_agent": "Dana Demo"}
    assert changes_for(_alert("acknowledged"), _event("incident.acknowledged", dana), "t1") == {
        "pd_status": "acknowledged", "pd_agent": "Dana Demo"}  # already acknowledged here: kept as it was
    assert changes_for(_alert(), _event("incident.resolved"), "t1") == {
        "pd_status": "resolved", "pd_agent": None, "state": "resolved", "resolved_at": "t1",
        "resolved_by": "someone (in PagerDuty)"}
    assert changes_for(_alert("acknowledged"), _event("incident.resolved", {"type": "x_integration_reference"}),
                       "t1") == {"pd_status": "resolved", "pd_agent": "Demo Monitor", "state": "resolved",
                                 "resolved_at": "t1", "resolved_by": "Demo Monitor"}
    assert changes_for(_alert("resolved"), _event("incident.resolved", dana), "t1") == {
        "pd_status": "resolved", "pd_agent": "Dana Demo"}
    assert changes_for(_alert(), _event("incident.priority_updated", dana, html_url="http://sandbox.test/i/1"),
                       "t1") == {"pd_incident_url": "http://sandbox.test/i/1"}


@pytest.mark.parametrize(("pd_status", "agent", "text"), [
    (None, None, None),
    ("gone", "Dana Demo", "This incident no longer exists in PagerDuty"),
    ("acknowledged", "Demo Monitor", "Acknowledged by Demo Monitor"),
    ("resolved", "Demo Monitor", "Resolved by Demo Monitor"),
    ("triggered", "Demo Monitor", "Triggered in PagerDuty"),
    ("resolved", "Dana Demo", "Resolved in PagerDuty by Dana Demo"),
    ("acknowledged", None, "Acknowledged in PagerDuty"),
    ("triggered", "Dana Demo", "Triggered in PagerDuty"),
])
def test_what_pagerduty_did_in_its_words(pd_status, agent, text):
    alert = _alert()
    alert.pd_status, alert.pd_agent = pd_status, agent
    assert pagerduty_status_text(alert) == text


NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z


@pytest.mark.parametrize(("occurred_at", "replay"), [
    (None, False), ("", False), ("yesterday", False), ("2026-09-20T14:08:20", False),  # no zone: not judged
    ("2026-09-21T14:08:20Z", False),  # exactly five minutes: still PagerDuty's retry
    ("2026-09-21T14:08:19Z", True), ("2026-09-21T16:08:19+02:00", True), ("2026-09-21T14:13:20.000Z", False),
])
def test_a_delivery_more_than_five_minutes_old_is_a_replay(occurred_at, replay):
    assert is_replay(occurred_at, NOW) is replay
