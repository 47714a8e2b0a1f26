"""The events writer's SQLite connection, and what it remembers between batches (integrations, incident
numbers, agents, escalation plans), forgetting it when another connection commits; the fixtures' reset runs on
it (`EventsConnection.restore`). `batch.py` applies the Events API's writes on it."""

from __future__ import annotations

import sqlite3
from typing import Any

from fake_pagerduty.store.transitions import ANY_WEBHOOK_TARGETS
from fake_pagerduty.store.wal import RESET_AUTOCHECKPOINT

# What each thing the events connection remembers is read from (see `EventsConnection.restore`):
_INTEGRATIONS_FROM = frozenset({"integrations", "services"})  # `_integration_sync`; agents are made from its rows
_WEBHOOK_TARGETS_FROM = frozenset({"webhook_subscriptions", "services", "partner_apps"})  # ANY_WEBHOOK_TARGETS
_NUMBERS_FROM = frozenset({"incidents"})  # the next incident number of each account
# and the tables no escalation plan (nor a step's rows) is read from: the activity an event or a test leaves.
# Any other table rewritten (schedules, policies, users, overrides, services, …, or one added later) makes
# the connection forget its plans.
_NO_PLAN_IN = frozenset({"events", "webhook_changes", "webhook_deliveries", "log_entries", "alerts", "incidents",
                         "change_events", "oauth_requests", "exams", "sandbox_faults", "sandbox_settings",
                         "incident_notes", "sessions", "oauth_codes", "oauth_tokens", "sqlite_sequence"})


# Every table the events connection writes (here, `assignments.write_new_sync`, `transitions`; a test keeps
# this true): after a reset, while no other connection commits, only these can differ from the seeded rows.
WRITES_TO = frozenset({"events", "sandbox_faults", "incidents", "alerts", "log_entries", "webhook_changes",
                       "change_events"})  # notifications are log entries (the `notifications` view, migration 0016)


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
