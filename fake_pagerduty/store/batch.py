"""The Events API's writes, as the events writer applies them — on its thread, or in the writer process —
on a plain sqlite3 connection, a batch per transaction (group commit). Imports only sqlite3, the domain's
rules and the store's shared statements, so the writer process stays small.

A write is data, `(function, *args)`: `apply_request` (an Events API request, whole) or `record_request` (a
request refused before its body was read), each taking the connection first."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from fake_pagerduty.domain import event_requests, ids, lifecycle
from fake_pagerduty.domain.alert_body import alert_body_json
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.escalation import About
from fake_pagerduty.domain.events import AlertEvent, ChangeEvent
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store.assignments import NOBODY, prepare_new_sync, write_new_sync
from fake_pagerduty.store.database import dumps
from fake_pagerduty.store.records import EventResult, JournalEntry
from fake_pagerduty.store.transitions import (
    ANY_WEBHOOK_TARGETS,
    INSERT_LOG,
    INSERT_WEBHOOK_CHANGE,
    acknowledge_statements,
    log_params,
    resolve_statements,
    webhook_change_rows,
)
from fake_pagerduty.store.wal import RESET_AUTOCHECKPOINT

Write = tuple  # (function, *args)

_INSERT_JOURNAL = (
    "INSERT INTO events (received_at, api, method, path, content_type, raw_body, routing_key, dedup_key,"
    " action, response_status, response_body, outcome, outcome_detail, account_id, service_id,"
    " incident_id, alert_id, warnings, fault_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_COUNT_FAULT_FIRED = "UPDATE sandbox_faults SET fired = fired + 1 WHERE id = ?"


def _journal_params(entry: JournalEntry) -> tuple:
    return (entry.received_at, entry.api, entry.method, entry.path, entry.content_type, entry.raw_body,
            entry.routing_key, entry.dedup_key, entry.action, entry.response_status, entry.response_body,
            entry.outcome, entry.outcome_detail, entry.account_id, entry.service_id, entry.incident_id,
            entry.alert_id, dumps(entry.warnings) if entry.warnings else "[]", entry.fault_id)


# What each thing the events connection remembers is read from (see `EventsConnection.restore`):
_INTEGRATIONS_FROM = frozenset({"integrations", "services"})  # `_integration_sync`; agents are made from its rows
_WEBHOOK_TARGETS_FROM = frozenset({"webhook_subscriptions", "services", "partner_apps"})  # ANY_WEBHOOK_TARGETS
_NUMBERS_FROM = frozenset({"incidents"})  # the next incident number of each account
# and the tables no escalation plan (nor a step's rows) is read from: the activity an event or a test leaves.
# Any other table rewritten (schedules, policies, users, overrides, services, …, or one added later) makes
# the connection forget its plans.
_NO_PLAN_IN = frozenset({"events", "webhook_changes", "webhook_deliveries", "log_entries", "alerts", "incidents",
                         "change_events", "oauth_requests", "exams", "sandbox_faults", "sandbox_settings",
                         "notifications", "incident_notes", "sessions", "oauth_codes", "oauth_tokens",
                         "sqlite_sequence"})


# Every table the events connection writes (here, `assignments.write_new_sync`, `transitions`; a test keeps
# this true): after a reset, while no other connection commits, only these can differ from the seeded rows.
WRITES_TO = frozenset({"events", "sandbox_faults", "incidents", "alerts", "log_entries", "notifications",
                       "webhook_changes", "change_events"})


class EventsConnection(sqlite3.Connection):
    """The events writer's connection, and what it remembers between batches: integrations by routing key,
    each account's next incident number, and agents (`_agent`). They stay true while no other connection
    commits (events themselves change neither integrations nor, except through this connection, incident
    numbers), so each batch first compares `PRAGMA data_version`, which moves when another connection
    commits — but not when this one does: the fixtures' reset runs on it (`restore`) and forgets only what
    the tables it rewrote imply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_version: int | None = None
        self.integrations: dict[str, dict] = {}
        self.next_incident_number: dict[str, int] = {}
        self.agents: dict[tuple[str, str | None], tuple[dict, str]] = {}  # see `_agent`
        self.plans: dict[str, tuple] = {}  # escalation plans by policy: see `assignments.prepare_new_sync`
        self.steps: dict[tuple, Any] = {}  # and the rows a new incident's assignment writes
        self._webhook_targets: bool | None = None
        # the tables that may differ from the seeded rows, when this connection ran the last reset (`restore`)
        # and no other connection committed since: none, or WRITES_TO once it committed a batch; else None
        self.since_restore: frozenset[str] | None = None

    def begin_batch(self) -> bool:
        """BEGIN IMMEDIATE, forgetting what another connection may have changed since the last batch; whether
        another connection committed since."""
        self.execute("BEGIN IMMEDIATE")
        (version,) = self.execute("PRAGMA data_version").fetchone()
        if version != self.data_version:
            self.forget()
            self.data_version = version
            return True
        return False

    def changed_alone(self) -> frozenset[str] | None:
        """The tables that may differ from the seeded rows, when this connection alone committed since the
        last reset it ran (else None: any table may). Outside a transaction; `restore(only_if_alone=True)`
        checks again, under SQLite's write lock."""
        (version,) = self.execute("PRAGMA data_version").fetchone()
        return self.since_restore if version == self.data_version else None

    def restore(self, statements: list[str], tables: list[str] | tuple[str, ...], *,
                foreign_keys_off: bool, only_if_alone: bool = False) -> bool:
        """The fixtures' reset (`store.sandbox.restore_rows`, inline databases): `statements` — which empty
        `tables` and put their seeded rows back — in one transaction on this connection. Whatever another
        connection committed before it is seen as at any batch (`begin_batch`: everything is forgotten), and
        this commit itself does not move this connection's `data_version`: so only what the rewritten tables
        imply is forgotten, and any later commit by another connection is still seen.

        `foreign_keys_off`: meanwhile, as the statements need unless ordered for them (the PRAGMA makes this
        connection compile its statements again: ~0.2 ms at the next trigger). `only_if_alone`: the tables
        were chosen from `changed_alone`; if another connection committed since all the same, nothing is done
        and False returned (the caller looks at every table and comes again)."""
        if foreign_keys_off:
            self.execute("PRAGMA foreign_keys = OFF")
        try:
            if self.begin_batch() and only_if_alone:
                self.execute("ROLLBACK")
                return False
            try:
                for sql in statements:
                    self.execute(sql)
                self.execute(RESET_AUTOCHECKPOINT[0])  # a large WAL is copied after this COMMIT, not a batch's
                try:
                    self.execute("COMMIT")
                finally:
                    self.execute(RESET_AUTOCHECKPOINT[1])
            except BaseException:
                self.abandon()
                raise
        finally:
            if foreign_keys_off:
                self.execute("PRAGMA foreign_keys = ON")
        self.forget_tables(tables)
        self.since_restore = frozenset()
        return True

    def forget_tables(self, tables: list[str] | tuple[str, ...]) -> None:
        """Forget what these tables, rewritten through this connection, may have changed."""
        rewritten = set(tables)
        if rewritten & _INTEGRATIONS_FROM:
            self.integrations.clear()
            self.agents.clear()
        if rewritten & _WEBHOOK_TARGETS_FROM:
            self._webhook_targets = None
        if rewritten & _NUMBERS_FROM:
            self.next_incident_number.clear()
        if not rewritten <= _NO_PLAN_IN:
            self.plans.clear()
            self.steps.clear()

    def abandon(self) -> None:
        """Roll back the transaction under way, if any, and forget what it may have taken (incident numbers)."""
        if self.in_transaction:
            self.execute("ROLLBACK")
        self.forget()

    def forget(self) -> None:
        self.integrations.clear()
        self.next_incident_number.clear()
        self.agents.clear()
        self.plans.clear()
        self.steps.clear()
        self._webhook_targets = None
        self.since_restore = None

    def webhook_targets_exist(self) -> bool:
        """Whether any webhook may be sent (see `store.webhooks.any_targets`): only then are an event's
        changes recorded for webhooks. Subscriptions and partner apps change only through other connections."""
        if self._webhook_targets is None:
            (self._webhook_targets,) = self.execute(ANY_WEBHOOK_TARGETS).fetchone()
        return bool(self._webhook_targets)


def connect_events(path: str) -> EventsConnection:
    """The events writer's connection; it lives on (and is only used from) the events thread or process."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=EventsConnection)
    conn.row_factory = sqlite3.Row
    for pragma in ("synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000", "wal_autocheckpoint=0",
                   "cache_size=-16000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


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
        conn.execute(
            "INSERT INTO alerts (id, account_id, service_id, integration_id, incident_id, alert_key,"
            " status, severity, summary, body, created_at) VALUES (?, ?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?)",
            (alert_id, account_id, integration["service_id"], integration["id"],
             incident_id, event.dedup_key, event.severity, event.summary, alert_body_json(event), stamp),
        )
        entry.alert_id = alert_id
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


def _apply_request_sync(conn: EventsConnection, api: str, entry: JournalEntry, now: datetime) -> EventResult:
    """One Events API request: `event_requests.decide` (parse, validate, word the answer), then the event's
    effect and journal row — or the journal row alone, for a refusal."""
    decision = event_requests.decide(event_requests.SURFACES[api], entry.raw_body)
    entry.routing_key, entry.dedup_key, entry.action = decision.routing_key, decision.dedup_key, decision.action
    entry.response_status, entry.response_body = decision.status, decision.body
    if decision.event is None:
        entry.outcome, entry.outcome_detail = lifecycle.REJECTED, decision.detail
        result = EventResult(_journal_sync(conn, entry), entry.outcome, entry.outcome_detail)
    elif isinstance(decision.event, AlertEvent):
        result = _apply_alert_sync(conn, decision.event, entry, now)
    else:
        result = _apply_change_sync(conn, decision.event, entry, now)
    result.response_status, result.response_body, result.dedup_key = decision.status, decision.body, entry.dedup_key
    return result


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



def apply_request(conn: EventsConnection, api: str, entry: JournalEntry, now: datetime) -> EventResult:
    """A write: an Events API request, whole (see `_apply_request_sync`)."""
    return _apply_request_sync(conn, api, entry, now)


def record_request(conn: EventsConnection, entry: JournalEntry) -> int:
    """A write: journal a request that changed nothing (refused before its body was read, or answered by an
    injected fault); its journal id."""
    return _journal_sync(conn, entry)
