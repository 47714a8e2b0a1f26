"""Incidents, their alerts and log entries, and how they change outside the Events API: REST and the
console (acknowledge, resolve), and the services' timeouts. The statements of each transition are
`transitions.py`'s, shared with the Events API writer (`batch.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from fake_pagerduty.domain import event_requests, incident_actions, lifecycle, rest_query
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store.database import Database, Where, dumps, loads, row_dict
from fake_pagerduty.store.escalations import Escalations
from fake_pagerduty.store.services import policies_of_teams
from fake_pagerduty.store.transitions import (
    INSERT_LOG,
    NOTIFICATION_COLUMNS,
    acknowledge_statements,
    log_params,
    resolve_statements,
    unacknowledge_statements,
)
from fake_pagerduty.store.webhooks import Webhooks


class Incidents:
    def __init__(self, db: Database, webhooks: Webhooks, escalations: Escalations | None = None) -> None:
        self._db = db
        self._webhooks = webhooks
        self.escalations = escalations or Escalations(db, webhooks)

    _INCIDENT_SORT_COLUMNS = {
        "incident_number": "i.incident_number",
        "created_at": "i.created_at",
        "resolved_at": "i.resolved_at",
        "urgency": "i.urgency",
    }

    def _list_sql(
        self, account_id: str, query: rest_query.IncidentQuery
    ) -> tuple[str, str, list[Any]]:
        """The WHERE condition, ORDER BY and parameters of an incident list query."""
        where = Where(("i.account_id = ?", account_id)).any_of("i.status", query.statuses)
        where.any_of("i.service_id", query.service_ids).any_of("i.urgency", query.urgencies)
        where.equal("i.incident_key", query.incident_key)
        if query.user_ids:  # assigned to one of them now: PagerDuty's user_ids[] (resolved incidents have no one)
            where.add("i.status != 'resolved' AND EXISTS (SELECT 1 FROM json_each(i.assignments) WHERE"
                      f" json_extract(value, '$.assignee.id') IN ({', '.join('?' * len(query.user_ids))}))",
                      *query.user_ids)
        if query.team_ids:  # PagerDuty: an incident belongs to the teams of its escalation policy
            where.add(f"json_extract(i.escalation_policy, '$.id') IN ({policies_of_teams(len(query.team_ids))})",
                      *query.team_ids)
        # The time window uses the (account, created_at) index only when the list is sorted by created_at;
        # otherwise (`+` hides the column from the planner) the account's incident_number, status or key
        # index serves, and a page stops after `limit` rows instead of sorting the whole window.
        created_at = "i.created_at" if query.sort[0][0] == "created_at" else "+i.created_at"
        for clause, value in ((f"{created_at} >= ?", query.since), (f"{created_at} <= ?", query.until)):
            if value is not None:
                where.add(clause, value)
        order = [f"{self._INCIDENT_SORT_COLUMNS[field]} {direction.upper()}" for field, direction in query.sort]
        if query.sort[0][0] != "incident_number":  # a stable order, in the first field's direction
            order.append(f"i.incident_number {query.sort[0][1].upper()}")
        if query.incident_key is not None:  # few rows: find them by key, then sort them
            order = [f"+{term}" for term in order]
        return where.condition, ", ".join(order), where.params

    def page_sql(self, account_id: str, query: rest_query.IncidentQuery) -> tuple[str, list[Any]]:
        """The SQL of one page of incidents (LIMIT and OFFSET parameters last); tests read its query plan."""
        condition, order, params = self._list_sql(account_id, query)
        return (
            "SELECT i.*, s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            f" WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?",
            params,
        )

    async def page(
        self, account_id: str, query: rest_query.IncidentQuery, page: rest_query.Page
    ) -> tuple[list[dict], bool, int | None]:
        """One page of an account's incidents (rows plus `service_name`), whether there are more, and the
        total (None unless the page asks for it)."""
        sql, params = self.page_sql(account_id, query)
        condition, _, count_params = self._list_sql(account_id, query)
        return await self._db.paged(sql, params, page, f"SELECT COUNT(*) FROM incidents i WHERE {condition}",
                                 count_params)

    async def get(self, account_id: str, incident_id: str) -> dict | None:
        """One of an account's incidents (row plus `service_name`) by id or by incident number (as PagerDuty's
        GET /incidents/{id} accepts either); None for another account's."""
        number = incident_id.isascii() and incident_id.isdigit() and len(incident_id) < 19
        return await self._db.first(
            "SELECT i.*, s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            f" WHERE {'i.incident_number' if number else 'i.id'} = ? AND i.account_id = ?",
            (int(incident_id) if number else incident_id, account_id),
        )

    async def find_newest(self, *, status: str | None = None, incident_key: str | None = None,
                            service_id: str | None = None, incident_number: int | None = None) -> dict | None:
        """The newest incident that matches every filter given."""
        where = Where()
        for column, value in (("status", status), ("incident_key", incident_key), ("service_id", service_id),
                              ("incident_number", incident_number)):
            where.equal(column, value)
        return await self._db.first(f"SELECT * FROM incidents{where.sql} ORDER BY created_at DESC,"
                                    " incident_number DESC LIMIT 1", where.params, row_dict)

    async def alert_counts(self, incident_ids: list[str]) -> dict[str, dict]:
        """`{incident_id: {all, triggered, resolved}}` for a page of incidents, in one grouped query."""
        if not incident_ids:
            return {}
        rows = await self._db.all(
            "SELECT incident_id, COUNT(*), SUM(status = 'triggered'), SUM(status = 'resolved') FROM alerts"
            f" WHERE incident_id IN ({', '.join('?' * len(incident_ids))}) GROUP BY incident_id",
            tuple(incident_ids),
        )
        counts = {i: {"all": 0, "triggered": 0, "resolved": 0} for i in incident_ids}
        for incident_id, total, triggered, resolved in rows:
            counts[incident_id] = {"all": total, "triggered": triggered, "resolved": resolved}
        return counts

    async def alerts_page(self, account_id: str, incident_id: str, page: rest_query.Page,
                          query: rest_query.AlertQuery | None = None) -> tuple[list[dict], bool, int | None]:
        """An incident's alerts, oldest first unless `query.sort` says otherwise, with what their references
        need; `query.statuses` and `query.alert_key` filter them."""
        query = query or rest_query.AlertQuery()
        where = Where(("a.incident_id = ?", incident_id), ("i.account_id = ?", account_id))
        where.any_of("a.status", query.statuses)
        where.equal("a.alert_key", query.alert_key)
        field, direction = query.sort
        order = f"a.{field} {direction.upper()}, a.created_at {direction.upper()}, a.rowid {direction.upper()}"
        rows, more, total = await self._db.paged(
            f"{_ALERTS_PAGE}{where.sql} ORDER BY {order} LIMIT ? OFFSET ?", where.params, page,
            f"SELECT COUNT(*) FROM alerts a JOIN incidents i ON i.id = a.incident_id{where.sql}")
        return [with_body(row) for row in rows], more, total

    async def log_entries_page(self, account_id: str, incident_id: str, page: rest_query.Page,
                               query: rest_query.LogEntryQuery | None = None) -> tuple[list[dict], bool, int | None]:
        """An incident's log entries, newest first (as PagerDuty lists them); `query` narrows them to a time
        window (since inclusive, until exclusive) or to the overview (no notifications)."""
        query = query or rest_query.LogEntryQuery()
        where = narrow_log_entries(Where(("l.incident_id = ?", incident_id), ("i.account_id = ?", account_id)), query)
        return await self._db.paged(f"{_LOG_ENTRIES_PAGE}{where.sql} ORDER BY l.seq DESC LIMIT ? OFFSET ?",
                                    where.params, page, "SELECT COUNT(*) FROM log_entries l JOIN incidents i"
                                    f" ON i.id = l.incident_id{where.sql}")

    async def first_trigger_log_entries(self, incident_ids: list[str]) -> dict[str, dict]:
        """`{incident_id: log entry row}`: each incident's first trigger log entry, with what a log entry
        object needs (as `log_entries_page` rows), in one query for a page of incidents."""
        if not incident_ids:
            return {}
        rows = await self._db.all(  # seq orders entries within an account: the first is found per incident
            f"{_LOG_ENTRIES_PAGE} WHERE l.incident_id IN ({', '.join('?' * len(incident_ids))})"
            " AND l.type = 'trigger_log_entry' AND l.seq = (SELECT MIN(m.seq) FROM log_entries m"
            " WHERE m.incident_id = l.incident_id AND m.type = 'trigger_log_entry')", tuple(incident_ids))
        return {row["incident_id"]: dict(row) for row in rows}

    async def change_status(
        self,
        account_id: str,
        changes: list[incident_actions.StatusChange],
        user: dict,
        now: datetime,
        channel: str = "api",
    ) -> list[IncidentChange]:
        """Acknowledge or resolve incidents as a person, all in one transaction, all or nothing.

        Raises `incident_actions.IncidentNotFound` (also for another account's incident),
        `IncidentAlreadyResolved` or `InvalidStatus`; then nothing changed. `channel` is how it was done:
        `api` (REST API) or `website` (the console). Returns the changes to publish."""
        stamp = iso(now)
        agent = {"id": user["id"], "type": "user_reference", "summary": user["name"]}
        published: list[IncidentChange] = []
        async with self._db.transaction() as db:
            for change in changes:
                async with db.execute(
                    "SELECT i.id, i.status, s.acknowledgement_timeout FROM incidents i"
                    " JOIN services s ON s.id = i.service_id WHERE i.id = ? AND i.account_id = ?",
                    (change.incident_id, account_id),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    raise incident_actions.IncidentNotFound(change.incident_id)
                incident_actions.check(row["status"], change)
                if change.status == incident_actions.ACKNOWLEDGED:
                    statements = acknowledge_statements(change.incident_id, agent, stamp,
                                                         lifecycle.deadline(now, row["acknowledgement_timeout"]))
                    changed = row["status"] != "acknowledged"
                    log_type, event_type = "acknowledge_log_entry", "incident.acknowledged"
                else:
                    statements = resolve_statements(change.incident_id, dumps(agent), stamp)
                    changed = True
                    log_type, event_type = "resolve_log_entry", "incident.resolved"
                for sql, params in statements:
                    await db.execute(sql, params)
                await _log(db, account_id, change.incident_id, None, log_type,
                                incident_actions.log_summary(change.status, user["name"]), agent,
                                {"type": channel}, None, stamp)
                if changed:
                    published.append(IncidentChange(account_id, change.incident_id, event_type))
            await self._webhooks.record_changes(db, published, stamp)
        return published

    async def apply_due_timeouts(self, now: datetime) -> list[IncidentChange]:
        """Acknowledgement timeouts return incidents to triggered; auto-resolve timeouts resolve them; then
        triggered incidents whose escalation level's delay ran out escalate (`escalations.apply_due`), and the
        people of incidents back to triggered are notified again."""
        changes = await self._service_timeouts(now)
        await self.escalations.renotify(changes, now)  # back to triggered: its people are told again
        return changes + await self.escalations.apply_due(now)

    async def _service_timeouts(self, now: datetime) -> list[IncidentChange]:
        stamp = iso(now)
        changes: list[IncidentChange] = []
        if await self._db.one(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM incidents WHERE auto_resolve_at IS NOT NULL AND auto_resolve_at <= ?)"
            " OR EXISTS (SELECT 1 FROM incidents WHERE ack_timeout_at IS NOT NULL AND ack_timeout_at <= ?)",
            (stamp, stamp),
        ) is None:
            return changes  # nothing due: no write transaction (it would hold up the events for nothing)
        async with self._db.transaction() as db:
            for timeout in _TIMEOUTS:  # auto-resolve first: an incident due for both ends resolved
                async with db.execute(timeout.due, (stamp,)) as cursor:
                    due = list(await cursor.fetchall())
                for incident_id, account_id, service_id in due:
                    agent = {"id": service_id, "type": "service_reference", "summary": timeout.agent}
                    for sql, params in timeout.statements(incident_id, dumps(agent), stamp):
                        await db.execute(sql, params)
                    await _log(db, account_id, incident_id, None, timeout.log_type, timeout.summary, agent,
                               {"type": "timeout"}, None, stamp)
                    changes.append(IncidentChange(account_id, incident_id, timeout.event_type))
            await self._webhooks.record_changes(db, changes, stamp)
        return changes

    async def newest(
        self,
        account_id: str,
        *,
        statuses: tuple[str, ...] | None = None,
        service_id: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """Incidents newest first (by incident number), `limit` of them below `before` if given."""
        where = Where(("i.account_id = ?", account_id)).any_of("i.status", statuses or ())
        where.equal("i.service_id", service_id or None)
        if before is not None:
            where.add("i.incident_number < ?", before)
        rows = await self._db.all(
            "SELECT i.id, i.incident_number, i.title, i.status, i.urgency, i.created_at, i.service_id,"
            " s.name AS service_name FROM incidents i JOIN services s ON s.id = i.service_id"
            f"{where.sql} ORDER BY i.incident_number DESC LIMIT ?", (*where.params, limit))
        return [dict(row) for row in rows]

    async def alerts(self, incident_id: str) -> list[dict]:
        rows = await self._db.all(f"SELECT {ALERT_COLUMNS} FROM alerts a{ALERT_REQUEST} WHERE a.incident_id = ?"
                                  " ORDER BY a.created_at, a.id", (incident_id,))
        return [with_body(row_dict(row)) for row in rows]

    async def log_entries(self, incident_id: str) -> list[dict]:
        rows = await self._db.all("SELECT * FROM log_entries WHERE incident_id = ? ORDER BY seq", (incident_id,))
        return [row_dict(row, drop=NOTIFICATION_COLUMNS) for row in rows]


async def _log(
    db: aiosqlite.Connection,
    account_id: str,
    incident_id: str,
    alert_id: str | None,
    type: str,
    summary: str,
    agent: dict,
    channel: dict,
    event_id: int | None,
    stamp: str,
) -> None:
    await db.execute(INSERT_LOG, log_params(account_id, incident_id, alert_id, type, summary, dumps(agent),
                                              channel, event_id, stamp))


# An alert with what its body is made from: the request that opened it, as the journal keeps it (migration 0015).
ALERT_COLUMNS = "a.*, e.api AS request_api, e.raw_body AS request_body"
ALERT_REQUEST = " LEFT JOIN events e ON e.id = a.event_id"


def with_body(row: dict) -> dict:
    """An alert read with ALERT_COLUMNS and ALERT_REQUEST, its `body` made from its request (or, for an alert stored
    before migration 0015, the body it keeps) as a dict."""
    api, raw = row.pop("request_api"), row.pop("request_body")
    body = row["body"]
    if body is None:
        row["body"] = event_requests.alert_body(api, raw, row["alert_key"]) if raw is not None else {}
    elif isinstance(body, str):
        row["body"] = loads(body)
    return row


_ALERTS_PAGE = (
    f"SELECT {ALERT_COLUMNS}, s.name AS service_name, i.incident_number, i.title AS incident_title,"
    " g.type AS integration_type, g.name AS integration_name FROM alerts a"
    " JOIN incidents i ON i.id = a.incident_id JOIN services s ON s.id = a.service_id"
    f" JOIN integrations g ON g.id = a.integration_id{ALERT_REQUEST}"
)
def narrow_log_entries(where: Where, query: rest_query.LogEntryQuery) -> Where:
    """Log entries (`l`) in `query`'s time window (since inclusive, until exclusive), or its overview (no
    notifications): an incident's, or the account's (`log_entries.py`)."""
    if query.since:
        where.add("l.created_at >= ?", query.since)
    if query.until:
        where.add("l.created_at < ?", query.until)
    if query.overview:
        where.add(f"l.type NOT IN ({', '.join('?' * len(rest_query.OVERVIEW_LEFT_OUT))})",
                  *rest_query.OVERVIEW_LEFT_OUT)
    return where


_LOG_ENTRIES_PAGE = (
    "SELECT l.*, i.service_id, s.name AS service_name, i.incident_number, i.title AS incident_title,"
    " json_extract(i.escalation_policy, '$.id') AS escalation_policy_id"
    " FROM log_entries l JOIN incidents i ON i.id = l.incident_id JOIN services s ON s.id = i.service_id"
)


@dataclass(frozen=True)
class _Timeout:
    """A service timeout: which incidents it finds due, what it does to each, and how that is recorded."""

    due: str  # SQL: (id, account_id, service_id) of the incidents due, the stamp as parameter
    statements: Callable[[str, str, str], list[tuple[str, tuple]]]
    agent: str
    log_type: str
    summary: str
    event_type: str


_TIMEOUTS = (
    _Timeout("SELECT i.id, i.account_id, i.service_id FROM incidents i WHERE i.status != 'resolved'"
             " AND i.auto_resolve_at IS NOT NULL AND i.auto_resolve_at <= ?", resolve_statements,
             "auto-resolve timeout", "resolve_log_entry", "Resolved by timeout.", "incident.resolved"),
    _Timeout("SELECT i.id, i.account_id, i.service_id FROM incidents i WHERE i.status = 'acknowledged'"
             " AND i.ack_timeout_at IS NOT NULL AND i.ack_timeout_at <= ?", unacknowledge_statements,
             "acknowledgement timeout", "unacknowledge_log_entry", "Unacknowledged due to timeout.",
             "incident.unacknowledged"),
)
