"""Incident transitions: the one set of statements every path uses to trigger, acknowledge, resolve and
unacknowledge (the Events API writer in `batch.py`, REST and the console and timeouts in `incidents.py`),
the log entry each writes, and the incident changes recorded for webhooks in the same transaction."""

from __future__ import annotations

from datetime import datetime

from fake_pagerduty.domain import ids
from fake_pagerduty.domain import webhooks as webhook_rules
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store.database import dumps

INSERT_LOG = (
    "INSERT INTO log_entries (id, seq, account_id, incident_id, alert_id, type, summary, agent, channel,"
    " event_id, created_at, extra, user_id, notification_address, notification_text)"
    " VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM log_entries WHERE incident_id = ?),"
    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A log entry's last three columns: a notify entry's notification (whom, the address, the text sent: the
# `notifications` view, migration 0016), NULL on every other entry. Not PagerDuty fields: never shown.
NOT_NOTIFIED = (None, None, None)
NOTIFICATION_COLUMNS = ("user_id", "notification_address", "notification_text")


def log_params(account_id: str, incident_id: str, alert_id: str | None, type: str, summary: str, agent_json: str,
                channel: dict, event_id: int | None, stamp: str, extra: dict | None = None) -> tuple:
    """INSERT_LOG's parameters (the new entry's id first) for any entry but a notify entry (`assignments.py`
    writes those). `extra`: the fields some types add (`assignees`, `user`, …)."""
    return (ids.log_entry_id(), incident_id, account_id, incident_id, alert_id, type, summary, agent_json,
            dumps(channel), event_id, stamp, dumps(extra) if extra else None, *NOT_NOTIFIED)


def acknowledge_statements(incident_id: str, agent: dict, stamp: str,
                            ack_timeout_at: datetime | None) -> list[tuple[str, tuple]]:
    """Acknowledge: the status and who changed it move only when the status does (acknowledging again adds an
    acknowledgement and starts the acknowledgement timeout again, as at PagerDuty, but the incident's
    `last_status_change_at`/`_by` stay those of the first acknowledgement)."""
    return [(
        "UPDATE incidents SET status = 'acknowledged', updated_at = ?,"
        " last_status_change_at = CASE WHEN status = 'acknowledged' THEN last_status_change_at ELSE ? END,"
        " last_status_change_by = CASE WHEN status = 'acknowledged' THEN last_status_change_by ELSE ? END,"
        " ack_timeout_at = ?, next_escalation_at = NULL,"
        " acknowledgements = json_insert(acknowledgements, '$[#]', json(?)) WHERE id = ?",
        (stamp, stamp, dumps(agent), iso(ack_timeout_at) if ack_timeout_at else None,
         dumps({"at": stamp, "acknowledger": agent}), incident_id),
    )]


def resolve_statements(incident_id: str, agent_json: str, stamp: str) -> list[tuple[str, tuple]]:
    """Resolve the incident and every alert of it still open."""
    return [
        ("UPDATE incidents SET status = 'resolved', updated_at = ?, last_status_change_at = ?, resolved_at = ?,"
         " last_status_change_by = ?, ack_timeout_at = NULL, auto_resolve_at = NULL, next_escalation_at = NULL"
         " WHERE id = ?",
         (stamp, stamp, stamp, agent_json, incident_id)),
        ("UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE incident_id = ? AND status != 'resolved'",
         (stamp, incident_id)),
    ]


def unacknowledge_statements(incident_id: str, agent_json: str, stamp: str) -> list[tuple[str, tuple]]:
    """Back to triggered (the acknowledgement timeout ran out, or a snooze ended): the escalation clock starts
    again at the current level."""
    return [(
        "UPDATE incidents SET status = 'triggered', updated_at = ?, last_status_change_at = ?,"
        " last_status_change_by = ?, ack_timeout_at = NULL, acknowledgements = '[]',"
        " next_escalation_at = CASE WHEN escalation_delay IS NOT NULL"
        " THEN strftime('%Y-%m-%dT%H:%M:%SZ', ?, '+' || escalation_delay || ' minutes') END WHERE id = ?",
        (stamp, stamp, agent_json, stamp, incident_id),
    )]


ANY_WEBHOOK_TARGETS = ("SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE active = 1)"
                        " OR EXISTS (SELECT 1 FROM services s JOIN partner_apps p ON p.vendor_key = s.vendor_key"
                        " WHERE COALESCE(p.webhook_url, '') != '')")
INSERT_WEBHOOK_CHANGE = ("INSERT INTO webhook_changes (account_id, incident_id, event_type, created_at)"
                          " VALUES (?, ?, ?, ?)")


def webhook_change_rows(changes: list[IncidentChange], stamp: str) -> list[tuple]:
    return [(c.account_id, c.incident_id, c.event_type, stamp) for c in changes
            if c.event_type in webhook_rules.EMITTED_EVENT_TYPES]
