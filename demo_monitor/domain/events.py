"""The bodies of PagerDuty events for an alert: generic Events API v1 (the Connect seed) and Events API v2, the
outbox rows that carry them, and what the Events API's answer means for a row."""

from __future__ import annotations

import json

from demo_monitor.domain.alerts import Alert

CLIENT = "Demo Monitor"
V1_PATH = "/generic/2010-04-15/create_event.json"
V2_PATH = "/v2/enqueue"


def event_path(version: int) -> str:
    return V2_PATH if version == 2 else V1_PATH


def v1_event(alert: Alert, event_type: str, *, service_key: str, vendor: str, alert_url: str,
             who: str | None = None) -> dict:
    body: dict = {
        "service_key": service_key,
        "event_type": event_type,
        "incident_key": alert.incident_key,
        "vendor": vendor,
    }
    if event_type == "trigger":
        body.update(
            description=alert.description,
            client=CLIENT,
            client_url=alert_url,
            details=dict(alert.details),
        )
    else:
        verb = "Acknowledged" if event_type == "acknowledge" else "Resolved"
        suffix = f" by {who}" if who and who != CLIENT else ""
        body["description"] = f"{verb} in {CLIENT}{suffix}: {alert.description}"
        if who:
            body["details"] = {"by": who}
    return body


def v2_event(alert: Alert, event_action: str, *, routing_key: str, alert_url: str, timestamp: str) -> dict:
    body: dict = {
        "routing_key": routing_key,
        "event_action": event_action,
        "dedup_key": alert.incident_key,
    }
    if event_action == "trigger":
        body.update(
            payload={
                "summary": alert.description,
                "source": alert.server,
                "severity": alert.severity,
                "timestamp": timestamp,
                "component": alert.metric,
                "class": "threshold",
                "custom_details": dict(alert.details),
            },
            client=CLIENT,
            client_url=alert_url,
            links=[{"href": alert_url, "text": f"Alert #{alert.number} in {CLIENT}"}],
        )
    return body


def trigger_row(alert: Alert, *, version: int, pagerduty_base: str, service_key: str, vendor: str, alert_url: str,
                now: str) -> dict:
    """The outbox row of an alert's trigger, for Events API `version` (1 or 2) at `pagerduty_base`."""
    if version == 2:
        body = v2_event(alert, "trigger", routing_key=service_key, alert_url=alert_url, timestamp=now)
    else:
        body = v1_event(alert, "trigger", service_key=service_key, vendor=vendor, alert_url=alert_url)
    return _outbox_row(alert, "trigger", version, pagerduty_base + event_path(version), body, now)


def follow_up_row(alert: Alert, event_type: str, trigger: dict, *, vendor: str, alert_url: str, who: str | None,
                  now: str) -> dict:
    """The outbox row of an acknowledge/resolve, sent the same way (API version, key, URL) as the alert's
    `trigger` row (as stored: its body is JSON text)."""
    sent = json.loads(trigger["body"])
    if trigger["api_version"] == 2:
        body = v2_event(alert, event_type, routing_key=sent["routing_key"], alert_url=alert_url, timestamp=now)
    else:
        body = v1_event(alert, event_type, service_key=sent["service_key"], vendor=vendor, alert_url=alert_url,
                        who=who)
    return _outbox_row(alert, event_type, trigger["api_version"], trigger["url"], body, now)


def _outbox_row(alert: Alert, event_type: str, version: int, url: str, body: dict, now: str) -> dict:
    return {"alert_id": alert.id, "incident_key": alert.incident_key, "event_type": event_type,
            "api_version": version, "url": url, "body": body, "created_at": now}


def classify_response(status_code: int, body: object) -> tuple[str, str | None]:
    """('sent' | 'retry' | 'failed', reason) for a response from the Events API.

    2xx → sent. 400 and other client errors → failed, with the body's errors. 403 (v1 throttle), 408, 429 and
    5xx → retry, with the body's message (e.g. PagerDuty's "throttle exceeded" body).
    """
    data = body if isinstance(body, dict) else {}
    message = data.get("message") if isinstance(data.get("message"), str) else None
    status_text = data.get("status") if isinstance(data.get("status"), str) else None
    errors = data.get("errors")
    if 200 <= status_code < 300:
        return "sent", None
    if status_code in (403, 408, 429) or status_code >= 500:
        text = " — ".join(t for t in (status_text, message) if t) or "no explanation in the body"
        return "retry", f"HTTP {status_code}: {text}"
    if isinstance(errors, list) and errors:
        detail = "; ".join(str(e) for e in errors)
    else:
        detail = message or status_text or "no explanation in the body"
    return "failed", f"HTTP {status_code}: {detail}"
