"""An alert as JSON (the API, the pages, the live stream): its rule, delivery to PagerDuty, what PagerDuty did,
and whether its condition still holds."""

from __future__ import annotations

from demo_monitor.domain import webhooks
from demo_monitor.domain.alerts import Alert, Delivery, delivery_summary
from demo_monitor.domain.rules import Rule
from demo_monitor.domain.still_active import StillActive
from demo_monitor.pagerduty import utcnow_iso

_REPEAT_IS_HARMLESS = {
    "trigger": "PagerDuty deduplicates a repeated trigger into the same incident.",
    "acknowledge": "A repeated acknowledge leaves the PagerDuty incident's status as it was.",
    "resolve": "A repeated resolve changes nothing in PagerDuty.",
}


def resend_note(event_type: str, interrupted: int) -> str | None:
    """Why one delivery was sent more than once: attempts cut short by a crash, whose answer was never recorded."""
    if not interrupted:
        return None
    cut = "1 attempt was" if interrupted == 1 else f"{interrupted} attempts were"
    return (f"{cut} cut short: the monitor stopped before it recorded PagerDuty's answer, and sent the event "
            f"again after restarting. {_REPEAT_IS_HARMLESS.get(event_type, '')}").strip()


def alert_json(alert: Alert, outbox_rows: list[dict], *, rule: Rule | None, url: str,
               still_active: StillActive | None) -> dict:
    deliveries = [Delivery(r["event_type"], r["status"], r["attempts"], r["last_error"]) for r in outbox_rows]
    return {
        "id": alert.id,
        "number": alert.number,
        "state": alert.state,
        "server": alert.server,
        "metric": alert.metric,
        "severity": alert.severity,
        "value": alert.value,
        "description": alert.description,
        "details": alert.details,
        "rule": {
            "id": alert.rule_id,
            "metric": alert.metric,
            "operator": alert.operator,
            "threshold": alert.threshold,
            "severity": alert.severity,
            "for_seconds": rule.for_seconds if rule else None,
        },
        "incident_key": alert.incident_key,
        "opened_at": alert.opened_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": alert.resolved_at,
        "resolved_by": alert.resolved_by,
        # "active" while the rule's condition holds: open alerts, and resolved ones whose server is still broken
        # (they alert again at realert_at if it still holds then)
        "condition": "active" if alert.is_open or still_active else "cleared",
        "realert_at": utcnow_iso(lambda: still_active.realert_at) if still_active else None,
        "url": url,
        "delivery": delivery_summary(deliveries),
        "events": [
            {"event_type": r["event_type"], "status": r["status"], "attempts": r["attempts"],
             "last_error": r["last_error"], "created_at": r["created_at"], "sent_at": r["sent_at"],
             # one row per event however often it was sent; attempts cut short by a crash are counted here
             "interrupted": r["interrupted"], "note": resend_note(r["event_type"], r["interrupted"])}
            for r in outbox_rows
        ],
        "pagerduty": {
            "status": alert.pd_status,
            "by": alert.pd_agent,
            "incident_url": alert.pd_incident_url if alert.pd_status != webhooks.GONE else None,
            "text": webhooks.pagerduty_status_text(alert),
        },
    }
