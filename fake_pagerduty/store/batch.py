"""The Events API's writes, as the events writer applies them — on its thread, or in the writer process —
on a plain sqlite3 connection, a batch per transaction (group commit). Imports only sqlite3, the domain's
rules and the store's shared statements, so the writer process stays small.

A write is data, `(function, *args)`: `apply_event` (an Events API request, decided) or `record_request` (a request
refused before its body was read), each taking the connection first."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from fake_pagerduty.domain import ids, lifecycle
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.escalation import About
from fake_pagerduty.domain.events import AlertEvent, ChangeEvent
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store.assignments import NOBODY, prepare_new_sync, write_new_sync
from fake_pagerduty.store.database import dumps
from fake_pagerduty.store.events_connection import WRITES_TO, EventsConnection
from fake_pagerduty.store.records import EventResult, JournalEntry
from fake_pagerduty.store.transitions import (
    INSERT_LOG,
    INSERT_WEBHOOK_CHANGE,
    acknowledge_statements,
    log_params,
    resolve_statements,
    webhook_change_rows,
)

Write = tuple  # (function, *args)

_INSERT_JOURNAL = (
    "INSERT INTO events (received_at, api, method, path, content_type, raw_body, routing_key, dedup_key,"
    " action, response_status, response_body, outcome, outcome_detail, account_id, service_id,"
    " incident_id, alert_id, warnings, fault_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# A new alert: its body is what its journal row's request comes to (`event_requests.alert_body`), not stored again.
_INSERT_ALERT = (
    "INSERT INTO alerts (id, account_id, service_id, integration_id, incident_id, alert_key, status, severity,"
    " summary, created_at, event_id) VALUES (?, ?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?)"
)

_COUNT_FAULT_FIRED = "UPDATE sandbox_faults SET fired = fired + 1 WHERE id = ?"


def _journal_params(entry: JournalEntry) -> tuple:
    return (entry.received_at, entry.api, entry.method, entry.path, entry.content_type, entry.raw_body,
            entry.routing_key, entry.dedup_key, entry.action, entry.response_status, entry.response_body,
            entry.outcome, entry.outcome_detail, entry.account_id, entry.service_id, entry.incident_id,
            entry.alert_id, dumps(entry.warnings) if entry.warnings else "[]", entry.fault_id)


def apply_batch(conn: EventsConnection, writes: list[Write]) -> list[tuple]:
    """Apply writes in order in one transaction; [(ok, result or exception)].

    First without a savepoint per write (a savepoint and its release cost about as much as an insert); if any
    write fails, that attempt is rolled back whole and the batch applied again with each write in a savepoint
    of its own, so that the failing write is rolled back alone and spoils nothing else."""
    conn.begin_batch()
    try:
        try:
            results = [(True, write(conn, *args)) for write, *args in writes]
        except Exception:
            conn.abandon()  # and the incident numbers handed out by the rolled-back attempt
            conn.begin_batch()
            results = [_apply_in_savepoint(conn, write) for write in writes]
        conn.execute("COMMIT")
        if conn.since_restore is not None:
            conn.since_restore = WRITES_TO
    except BaseException:
        conn.abandon()
        raise
    return results


def _apply_in_savepoint(conn: EventsConnection, write: Write) -> tuple:
    conn.execute("SAVEPOINT event")
    try:
        value = write[0](conn, *write[1:])
    except Exception as exc:
        conn.execute("ROLLBACK TO event")
        conn.execute("RELEASE event")
        conn.forget()  # any incident number it took is free again
        return False, exc
    conn.execute("RELEASE event")
    return True, value


def _journal_sync(conn: sqlite3.Connection, entry: JournalEntry) -> int:
    journal_id = conn.execute(_INSERT_JOURNAL, _journal_params(entry)).lastrowid
    if entry.fault_id:
        conn.execute(_COUNT_FAULT_FIRED, (entry.fault_id,))
    return journal_id


def _integration_sync(conn: EventsConnection, key: str) -> dict | None:
    row = conn.integrations.get(key)
    if row is None:
        row = conn.execute(
            "SELECT i.id, i.service_id, i.type, s.account_id, s.urgency_rule, s.acknowledgement_timeout,"
            " s.auto_resolve_timeout, s.name AS service_name, s.escalation_policy_id FROM integrations i"
            " JOIN services s ON s.id = i.service_id"
            " WHERE i.integration_key = ?",
            (key,),
        ).fetchone()
        if row is not None:  # unknown keys are not remembered: anyone can send any number of them
            row = conn.integrations[key] = dict(row)  # a dict's look-ups cost a fraction of a Row's
    return row


def _agent(conn: EventsConnection, integration: dict, client: str | None) -> tuple[dict, str]:
    """Who did it, for incidents and log entries — the integration, named after the event's client — and its
    JSON, each made once per integration and client."""
    key = (integration["id"], client)
    known = conn.agents.get(key)
    if known is None:
        if len(conn.agents) >= 256:  # clients are whatever senders write
            conn.agents.clear()
        agent = {"id": integration["id"], "type": f"{integration['type']}_reference", "summary": client or "Events API"}
        known = conn.agents[key] = (agent, dumps(agent))
    return known


def _apply_alert_sync(conn: EventsConnection, event: AlertEvent, entry: JournalEntry, now: datetime) -> EventResult:
    """A valid trigger/acknowledge/resolve: its effect on alerts and incidents, its journal row, its log entry."""
    stamp = iso(now)
    integration = _integration_sync(conn, event.routing_key)
    if integration is None:
        entry.outcome, entry.outcome_detail = lifecycle.DROPPED, "unknown integration key"
        return EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)
    account_id = integration["account_id"]
    entry.account_id, entry.service_id = account_id, integration["service_id"]
    row = conn.execute(
        "SELECT a.id, a.incident_id, i.status FROM alerts a JOIN incidents i ON i.id = a.incident_id"
        " WHERE a.integration_id = ? AND a.alert_key = ? AND a.status != 'resolved'",
        (integration["id"], event.dedup_key),
    ).fetchone()
    open_alert = lifecycle.OpenAlert(row[0], row[1], row[2]) if row else None
    decision = lifecycle.decide(event, open_alert)
    agent, agent_json = _agent(conn, integration, event.client)
    changes: list[IncidentChange] = []
    created: About | None = None
    assignment = None
    incident_id = open_alert.incident_id if open_alert else None
    entry.outcome, entry.outcome_detail = decision.outcome, decision.reason

    if decision.outcome == lifecycle.CREATED:
        incident_id, alert_id = ids.long_id(), ids.long_id()
        number = conn.next_incident_number.get(account_id)
        if number is None:
            (number,) = conn.execute(
                "SELECT COALESCE(MAX(incident_number), 0) + 1 FROM incidents WHERE account_id = ?", (account_id,)
            ).fetchone()
        conn.next_incident_number[account_id] = number + 1
        auto_resolve_at = lifecycle.deadline(now, integration["auto_resolve_timeout"])
        urgency = lifecycle.urgency(integration["urgency_rule"], event.severity)
        created = About(number, event.summary, integration["service_name"], urgency)
        assignment = prepare_new_sync(conn, integration, created, now)  # who it goes to: in the same INSERT
        conn.execute(
            "INSERT INTO incidents (id, account_id, service_id, incident_number, title, status, urgency,"
            " incident_key, created_at, updated_at, last_status_change_at, last_status_change_by,"
            " auto_resolve_at, assignments, assigned_via, escalation_policy, escalation_level, escalation_loops,"
            " escalation_delay, next_escalation_at)"
            " VALUES (?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (incident_id, account_id, integration["service_id"], number, event.summary, urgency, event.dedup_key,
             stamp, stamp, stamp, agent_json, iso(auto_resolve_at) if auto_resolve_at else None,
             *(assignment.columns if assignment else NOBODY)),
        )
        entry.alert_id = alert_id  # the alert itself goes in after its journal row, which its body is made from
        entry.outcome_detail = f"created incident {incident_id} (#{number})"
        changes.append(IncidentChange(account_id, incident_id, "incident.triggered"))
        log_type, log_summary = "trigger_log_entry", f"Triggered through the API ({event.api})."
    elif decision.outcome == lifecycle.DEDUPLICATED:
        entry.alert_id = open_alert.alert_id
        entry.outcome_detail = f"deduplicated into incident {incident_id}"
        log_type, log_summary = "trigger_log_entry", f"Triggered through the API ({event.api}), deduplicated."
    elif decision.outcome == lifecycle.ACKNOWLEDGED:
        entry.alert_id = open_alert.alert_id
        entry.outcome_detail = f"acknowledged incident {incident_id}"
        for sql, params in acknowledge_statements(
                incident_id, agent, stamp, lifecycle.deadline(now, integration["acknowledgement_timeout"])):
            conn.execute(sql, params)
        if open_alert.incident_status != "acknowledged":
            changes.append(IncidentChange(account_id, incident_id, "incident.acknowledged"))
        log_type, log_summary = "acknowledge_log_entry", f"Acknowledged through the API ({event.api})."
    elif decision.outcome == lifecycle.RESOLVED:
        entry.alert_id = open_alert.alert_id
        entry.outcome_detail = f"resolved incident {incident_id}"
        for sql, params in resolve_statements(incident_id, agent_json, stamp):
            conn.execute(sql, params)
        changes.append(IncidentChange(account_id, incident_id, "incident.resolved"))
        log_type, log_summary = "resolve_log_entry", f"Resolved through the API ({event.api})."
    else:
        return EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)

    entry.incident_id = incident_id
    journal_id = _journal_sync(conn, entry)
    if created is not None:
        conn.execute(_INSERT_ALERT, (entry.alert_id, account_id, integration["service_id"], integration["id"],
                                     incident_id, event.dedup_key, event.severity, event.summary, stamp, journal_id))
    log = log_params(account_id, incident_id, entry.alert_id, log_type, log_summary, agent_json,
                     {"type": "api", "api": event.api, "summary": event.summary, "details": event.custom_details,
                      "client": event.client, "client_url": event.client_url, "event_id": journal_id},
                     journal_id, stamp)
    if created is not None:  # with who it went to: deduplicated events pay nothing for escalation
        write_new_sync(conn, assignment, log, account_id, incident_id, created, stamp)
    else:
        conn.execute(INSERT_LOG, log)
    if changes and conn.webhook_targets_exist():
        conn.executemany(INSERT_WEBHOOK_CHANGE, webhook_change_rows(changes, stamp))
    return EventResult(journal_id, entry.outcome, entry.outcome_detail, incident_id, changes)


def _apply_change_sync(conn: EventsConnection, event: ChangeEvent, entry: JournalEntry,
                       now: datetime) -> EventResult:
    integration = _integration_sync(conn, event.routing_key)
    if integration is None:
        entry.outcome, entry.outcome_detail = lifecycle.DROPPED, "unknown integration key"
        return EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)
    entry.account_id, entry.service_id = integration["account_id"], integration["service_id"]
    change_id = ids.long_id()
    entry.outcome, entry.outcome_detail = lifecycle.RECORDED, f"recorded change event {change_id}"
    journal_id = _journal_sync(conn, entry)
    conn.execute(
        "INSERT INTO change_events (id, account_id, service_id, integration_id, summary, source, timestamp,"
        " custom_details, links, images, event_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (change_id, integration["account_id"], integration["service_id"], integration["id"], event.summary,
         event.source, event.timestamp or iso(now), dumps(event.custom_details or {}),
         dumps(event.links), dumps(event.images), journal_id, iso(now)),
    )
    return EventResult(journal_id, entry.outcome, entry.outcome_detail)



def apply_event(conn: EventsConnection, entry: JournalEntry, event: AlertEvent | ChangeEvent | None,
                now: datetime) -> EventResult:
    """A write: an Events API request, decided on the loop (`EventsWriter.apply`: `entry` holds its keys and answer):
    the event's effect and its journal row — or the journal row alone, for a refusal (`event` None)."""
    if event is None:
        return EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)
    if isinstance(event, AlertEvent):
        return _apply_alert_sync(conn, event, entry, now)
    return _apply_change_sync(conn, event, entry, now)


def record_request(conn: EventsConnection, entry: JournalEntry) -> int:
    """A write: journal a request that changed nothing (refused before its body was read, or answered by an
    injected fault); its journal id."""
    return _journal_sync(conn, entry)
