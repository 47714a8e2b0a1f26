from demo_monitor.domain.alerts import Delivery, delivery_summary, new_alert_from_rule
from demo_monitor.domain.events import classify_response, v1_event, v2_event
from demo_monitor.domain.rules import Rule

RULE = Rule(1, "memory_usage", ">", 90, "critical", 2)
ALERT = new_alert_from_rule("alert-7-abc123", 7, "www15", RULE, 98.0, "2026-11-26T12:00:00Z")
URL = "http://monitor.test/alerts/alert-7-abc123"


def test_v1_trigger_carries_the_seed_fields():
    body = v1_event(ALERT, "trigger", service_key="k" * 32, vendor="demo-monitor", alert_url=URL)
    assert body == {
        "service_key": "k" * 32,
        "event_type": "trigger",
        "incident_key": "alert-7-abc123",
        "vendor": "demo-monitor",
        "description": "Server www15 running low on memory",
        "client": "Demo Monitor",
        "client_url": URL,
        "details": {"server_name": "www15", "memory_usage": "98%", "threshold": "90%"},
    }


def test_v1_acknowledge_names_the_incident_key_and_who():
    body = v1_event(ALERT, "acknowledge", service_key="k" * 32, vendor="demo-monitor", alert_url=URL, who="Sam")
    assert body["event_type"] == "acknowledge"
    assert body["incident_key"] == "alert-7-abc123"
    assert body["details"] == {"by": "Sam"}


def test_v2_trigger_and_resolve():
    trigger = v2_event(ALERT, "trigger", routing_key="r" * 32, alert_url=URL, timestamp="2026-11-26T12:00:00Z")
    assert trigger["dedup_key"] == "alert-7-abc123"
    assert trigger["payload"]["summary"] == "Server www15 running low on memory"
    assert trigger["payload"]["source"] == "www15"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["custom_details"] == {"server_name": "www15", "memory_usage": "98%", "threshold": "90%"}
    assert trigger["client_url"] == URL
    resolve = v2_event(ALERT, "resolve", routing_key="r" * 32, alert_url=URL, timestamp="x")
    assert resolve == {"routing_key": "r" * 32, "event_action": "resolve", "dedup_key": "alert-7-abc123"}


def test_responses_are_classified_as_the_contract_says():
    ok = {"status": "success", "message": "Event processed", "incident_key": "x"}
    assert classify_response(200, ok) == ("sent", None)
    assert classify_response(202, ok) == ("sent", None)
    invalid = {"status": "invalid event", "message": "Event object is invalid",
               "errors": ["service_key is invalid", "description is missing"]}
    assert classify_response(400, invalid) == ("failed", "HTTP 400: service_key is invalid; description is missing")
    throttle = {"status": "throttle exceeded",
                "message": "Requests for this service are arriving too quickly. Please retry later."}
    outcome, reason = classify_response(403, throttle)
    assert outcome == "retry" and "throttle exceeded" in reason
    assert classify_response(429, throttle)[0] == "retry"
    assert classify_response(503, None) == ("retry", "HTTP 503: no explanation in the body")
    assert classify_response(404, None)[0] == "failed"


def test_delivery_summary_reports_the_first_event_not_yet_sent():
    assert delivery_summary([])["status"] == "not_sent"
    assert delivery_summary([Delivery("trigger", "sent", 1)])["status"] == "sent"
    summary = delivery_summary([Delivery("trigger", "sent", 1), Delivery("resolve", "retrying", 3, "HTTP 500: x")])
    assert summary == {"status": "retrying", "event": "resolve", "attempts": 3, "reason": "HTTP 500: x"}
    assert delivery_summary([Delivery("trigger", "failed", 1, "HTTP 400: bad")])["reason"] == "HTTP 400: bad"
