"""The events writer's connection (`EventsConnection`): what it remembers between batches, the fixtures' reset
run on it, and the rows a batch holds back — a batch's new rows of each table are written together, in as few
INSERTs as they fit in, instead of one statement per event (see `hold_rows`). Imports only sqlite3 and the
store's shared statements, so the writer process stays small."""

from __future__ import annotations

import sqlite3
from itertools import chain
from typing import Any

from fake_pagerduty.store.transitions import ANY_WEBHOOK_TARGETS

# What each thing the events connection remembers is read from (see `EventsConnection.restore`):
_INTEGRATIONS_FROM = frozenset({"integrations", "services"})  # `_integration_sync`; agents are made from its rows
_WEBHOOK_TARGETS_FROM = frozenset({"webhook_subscriptions", "services", "partner_apps"})  # ANY_WEBHOOK_TARGETS
_NUMBERS_FROM = frozenset({"incidents"})  # the next incident number of each account
_JOURNAL_IDS_FROM = frozenset({"events", "sqlite_sequence"})  # the journal's next id
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
        self.held: dict[str, list[tuple]] | None = None  # see `hold_rows`
        self.held_count = 0
        self.next_journal_row: int | None = None  # the journal's next id, once a batch holding rows has it

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
                self.execute("COMMIT")
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
        if rewritten & _JOURNAL_IDS_FROM:
            self.next_journal_row = None
        if not rewritten <= _NO_PLAN_IN:
            self.plans.clear()
            self.steps.clear()

    def abandon(self) -> None:
        """Roll back the transaction under way, if any, and forget what it may have taken (incident numbers)."""
        self.held, self.held_count = None, 0
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
        self.next_journal_row = None

    def webhook_targets_exist(self) -> bool:
        """Whether any webhook may be sent (see `store.webhooks.any_targets`): only then are an event's
        changes recorded for webhooks. Subscriptions and partner apps change only through other connections."""
        if self._webhook_targets is None:
            (self._webhook_targets,) = self.execute(ANY_WEBHOOK_TARGETS).fetchone()
        return bool(self._webhook_targets)

    # ---- the rows a batch holds back -----------------------------------------------------------------------
    # While `apply_batch` applies a batch's writes, the new rows of HELD_TABLES (journal entries, new incidents
    # and their alerts, log entries and notifications) wait on the connection and go in, table by table, in
    # one INSERT of many rows each, just before the batch's COMMIT — or before any other statement this
    # connection runs (`execute`), so that every statement still sees every row written before it. The one
    # exception is `read_past_held`, for a query the held rows cannot answer. The rows are the same as when each
    # goes in at once (`insert_rows` outside a batch; `apply_batch`'s second attempt, a write to a savepoint).

    def hold_rows(self) -> None:
        """From now until `write_held_rows`, hold new rows back (in a transaction)."""
        self.held = {table: [] for table in HELD_TABLES}
        self.held_heads: dict[str, str] = {}
        self.held_count = 0
        self.held_alert_keys: set[tuple[str, str]] = set()  # (integration id, alert key) of the held alerts

    def insert_rows(self, table: str, head: str, rows: list[tuple]) -> None:
        """New rows of one of HELD_TABLES: held back while the batch holds rows, else written now."""
        held = self.held
        if held is None:
            insert_now(self, head, rows)
            return
        self.held_heads[table] = head
        held[table].extend(rows)
        self.held_count += len(rows)

    def next_journal_id(self) -> int | None:
        """The id the journal's next row takes, while rows are held back (the row is written with it); else
        None: the row is written at once and takes its id then. Remembered from batch to batch, like incident
        numbers: only this connection writes the journal, and it forgets (`forget`) whenever another one
        commits, after a rolled-back or failed write (whose retry, row by row, takes its ids from SQLite) and
        after a reset that rewrote the journal."""
        if self.held is None:
            self.next_journal_row = None
            return None
        journal_id = self.next_journal_row
        if journal_id is None:
            (journal_id,) = sqlite3.Connection.execute(self, _NEXT_JOURNAL_ID).fetchone()
        self.next_journal_row = journal_id + 1
        return journal_id

    def flush(self) -> None:
        """Write the held rows, parents first."""
        self.held_count = 0
        if self.held is not None:
            for table, rows in self.held.items():
                if rows:
                    insert_now(self, self.held_heads[table], rows)
                    rows.clear()
            self.held_alert_keys.clear()

    def write_held_rows(self) -> None:
        """Write the held rows and hold no more."""
        self.flush()
        self.held = None

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if self.held_count:
            self.flush()
        return sqlite3.Connection.execute(self, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        if self.held_count:
            self.flush()
        return sqlite3.Connection.executemany(self, sql, parameters)

    def read_past_held(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        """A query run without writing the held rows first: only for one whose answer they cannot change."""
        return sqlite3.Connection.execute(self, sql, parameters)


def connect_events(path: str) -> EventsConnection:
    """The events writer's connection; it lives on (and is only used from) the events thread or process."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=EventsConnection,
                           cached_statements=512)  # the many-row INSERTs: one per table and number of rows
    conn.row_factory = sqlite3.Row
    for pragma in ("synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000", "wal_autocheckpoint=0",
                   "cache_size=-16000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


# The tables whose new rows a batch holds back (`EventsConnection.insert_rows`), parents before children: the
# order they are written in when the held rows go in.
HELD_TABLES = ("events", "incidents", "alerts", "log_entries", "notifications")
# The id AUTOINCREMENT gives the journal's next row: past the largest id ever used, and past the largest there is.
_NEXT_JOURNAL_ID = ("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),"
                    " COALESCE((SELECT MAX(id) FROM events), 0)) + 1")
_MAX_PARAMETERS = 999  # in one statement, for SQLite before 3.32
_ROWS_SQL: dict[tuple[str, int, int], str] = {}


def insert_now(conn: sqlite3.Connection, head: str, rows: list[tuple]) -> None:
    """`rows` (each of the same columns) into a table in as few statements as they fit in; `head` is the INSERT
    up to its VALUES, its columns included."""
    width = len(rows[0])
    per_statement = _MAX_PARAMETERS // width
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        key = (head, width, len(chunk))
        sql = _ROWS_SQL.get(key)
        if sql is None:  # made once per table and number of rows
            sql = _ROWS_SQL[key] = head + ", ".join(["(" + ", ".join("?" * width) + ")"] * len(chunk))
        sqlite3.Connection.execute(conn, sql, list(chain.from_iterable(chunk)))


def many_rows_head(sql: str) -> str:
    """A one-row INSERT up to its VALUES (the statement and its columns), for `insert_rows`."""
    return sql.split(" VALUES ")[0] + " VALUES "
