from demo_monitor.domain.alerts import new_alert_from_rule
from demo_monitor.domain.rules import Rule
from demo_monitor.domain.webhooks import (
    changes_for,
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
