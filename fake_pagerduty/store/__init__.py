"""The sandbox's SQLite store: the only package with SQL.

`Store(path)` opens the database (`database.py`) and gives each aggregate a repository on it, reached as
`store.accounts`, `store.services`, `store.incidents`, `store.journal`, `store.partner_apps`, `store.oauth`,
`store.oauth_requests`, `store.people`, `store.notes` (incident notes; escalation is `store.incidents.escalations`), `store.incident_changes` (REST's
create, reassign, snooze, merge), `store.log_entries`, `store.sandbox`, `store.webhooks`; the Events API's writes go through `store.events` (`events_writer.py`:
group commit, on a thread or in the writer process, with the WAL's checkpointing in `wal.py`). The
statements every incident transition shares are `transitions.py`'s."""

from __future__ import annotations

from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store.accounts import Accounts
from fake_pagerduty.store.database import Database
from fake_pagerduty.store.events_writer import EventsWriter
from fake_pagerduty.store.exams import Exams
from fake_pagerduty.store.incident_changes import IncidentChanges
from fake_pagerduty.store.incidents import Incidents
from fake_pagerduty.store.journal import Journal
from fake_pagerduty.store.log_entries import LogEntries
from fake_pagerduty.store.notes import Notes
from fake_pagerduty.store.oauth import OAuth
from fake_pagerduty.store.oauth_requests import OAuthRequests
from fake_pagerduty.store.partner_apps import PartnerApps
from fake_pagerduty.store.people import People
from fake_pagerduty.store.records import Conflict, EventResult, JournalEntry, JournalQuery, SeedKeys
from fake_pagerduty.store.sandbox import Sandbox
from fake_pagerduty.store.services import Services
from fake_pagerduty.store.webhooks import Webhooks

__all__ = ["Conflict", "EventResult", "IncidentChange", "JournalEntry", "JournalQuery", "SeedKeys", "Store"]


class Store:
    def __init__(self, path: str, *, writer_process: bool = False, inline: bool = False) -> None:
        """`writer_process`: apply Events API writes in a process of their own, as `fake-pagerduty serve`
        does; otherwise in this process. `inline`: SQLite on the event loop's thread (in-process apps and
        tests: `inline.py`), else on threads of its own."""
        self.database = Database(path, inline=inline)
        self.events = EventsWriter(self.database, writer_process=writer_process)
        self.accounts = Accounts(self.database)
        self.services = Services(self.database)
        self.webhooks = Webhooks(self.database)
        self.incidents = Incidents(self.database, self.webhooks)
        self.journal = Journal(self.database)
        self.notes = Notes(self.database)
        self.incident_changes = IncidentChanges(self.database, self.webhooks)
        self.log_entries = LogEntries(self.database)
        self.partner_apps = PartnerApps(self.database)
        self.oauth = OAuth(self.database)
        self.oauth_requests = OAuthRequests(self.database)
        self.exams = Exams(self.database)
        self.people = People(self.database)
        self.sandbox = Sandbox(self.database, self.journal, self.partner_apps, self.oauth, self.events)

    @property
    def path(self) -> str:
        return self.database.path

    async def open(self) -> None:
        await self.database.open()
        await self.events.open()

    async def close(self) -> None:
        await self.events.close()
        await self.database.close()

    async def schema_version(self) -> int:
        return await self.database.schema_version()
