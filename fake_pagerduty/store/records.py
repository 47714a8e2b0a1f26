"""What crosses between the web layer, the store and the events writer (pickled by position to the writer
process): journal entries and queries, event results, what a seed finds, a refused write."""

from __future__ import annotations

from dataclasses import dataclass, field

from fake_pagerduty.domain.events import by_position
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.store.database import Where


@dataclass
class JournalEntry:
    """One request to an events endpoint, as the journal keeps it."""

    received_at: str
    api: str
    method: str
    path: str
    content_type: str | None
    raw_body: bytes
    response_status: int
    response_body: str
    routing_key: str | None = None
    dedup_key: str | None = None
    action: str | None = None
    outcome: str = ""
    outcome_detail: str = ""
    account_id: str | None = None
    service_id: str | None = None
    incident_id: str | None = None
    alert_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    fault_id: str | None = None  # the sandbox fault rule that answered, cut or delayed this request

    def __reduce__(self) -> tuple:
        return by_position(self)


@dataclass(frozen=True)
class JournalQuery:
    """Which journal entries a sandbox client asks for; every field narrows the match."""

    routing_key: str | None = None
    dedup_key: str | None = None
    outcomes: tuple[str, ...] = ()
    apis: tuple[str, ...] = ()
    incident_id: str | None = None
    fault_id: str | None = None
    since_id: int | None = None  # id >= since_id
    since_time: str | None = None  # received_at >= since_time (ISO, UTC)
    after_id: int | None = None  # id > after_id

    def where(self) -> Where:
        where = Where()
        for column, value in (("routing_key", self.routing_key), ("dedup_key", self.dedup_key),
                              ("incident_id", self.incident_id), ("fault_id", self.fault_id)):
            where.equal(column, value)
        where.any_of("outcome", self.outcomes).any_of("api", self.apis)
        for clause, value in (("id >= ?", self.since_id), ("received_at >= ?", self.since_time),
                              ("id > ?", self.after_id)):
            if value is not None:
                where.add(clause, value)
        return where


@dataclass(frozen=True)
class SeedKeys:
    """What already exists of the things a seed document can describe (to re-create only what is missing)."""

    vendor_keys: frozenset[str]
    accounts: dict[str, str]  # subdomain -> account id
    emails: frozenset[str]  # lower case
    api_keys: frozenset[str]
    services: dict[tuple[str, str], str]  # (account id, name) -> service id
    integration_keys: frozenset[str]
    oauth_client_ids: frozenset[str] = frozenset()


class Conflict(Exception):
    """A write refused because a unique name is taken: `field` names the form field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class EventResult:
    journal_id: int
    outcome: str
    detail: str
    incident_id: str | None = None
    changes: list[IncidentChange] = field(default_factory=list)

    def __reduce__(self) -> tuple:
        return by_position(self)

