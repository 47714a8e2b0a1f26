"""REST query parameters: pagination and the incident list filters, checked and turned into plain values.

Pure: `params` is anything with `get(name)` and `getlist(name)` (Starlette's QueryParams). Bad values raise
`InvalidInput` with one human-readable string per problem; the web layer answers PagerDuty's 400
`Invalid Input Provided` (code 2001) with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fake_pagerduty.domain.clock import iso, parse_iso

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
DEFAULT_WINDOW = timedelta(days=30)
INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
INCIDENT_SORT_FIELDS = ("incident_number", "created_at", "resolved_at", "urgency")
_UNENCODED_PLUS = re.compile(r" (\d\d:?\d\d)$")
_OFFSET = re.compile(r"([zZ]|[+-]\d\d:?\d\d)$")


class InvalidInput(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Params(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    total: bool  # whether the client asked for `total`


@dataclass(frozen=True)
class IncidentQuery:
    statuses: tuple[str, ...] = ()
    service_ids: tuple[str, ...] = ()
    urgencies: tuple[str, ...] = ()
    incident_key: str | None = None
    user_ids: tuple[str, ...] = ()  # assigned to one of them now (so never resolved)
    team_ids: tuple[str, ...] = ()  # on an escalation policy of one of these teams
    since: str | None = None  # ISO; inclusive
    until: str | None = None  # ISO; inclusive
    sort: tuple[tuple[str, str], ...] = (("incident_number", "asc"),)


def _integer(params: Params, name: str, errors: list[str]) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        errors.append(f"{name.capitalize()} must be an integer")
        return None


def _flag(params: Params, name: str) -> bool:
    return str(params.get(name, "")).lower() == "true"


def _list(params: Params, name: str) -> list[str]:
    """`name[]=a&name[]=b`, also `name=a` and comma-separated values, as clients send them."""
    values = params.getlist(f"{name}[]") + params.getlist(name)
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


values = _list  # the same, for the handlers' own list parameters (`team_ids[]`, `user_ids[]`, …)

MAX_OFFSET = 2**62


def page(params: Params, errors: list[str] | None = None) -> Page:
    """`limit` (default 25, at most 100) and `offset` (default 0); `total=true` asks for the count."""
    own = errors is None
    errors = [] if errors is None else errors
    limit = _integer(params, "limit", errors)
    offset = _integer(params, "offset", errors)
    if limit is not None and limit < 1:
        errors.append("Limit must be greater than 0")
    if offset is not None and offset < 0:
        errors.append("Offset must be greater than or equal to 0")
    if own and errors:
        raise InvalidInput(errors)
    limit = DEFAULT_LIMIT if limit is None or limit < 1 else min(limit, MAX_LIMIT)
    # Past SQLite's 64-bit integers an offset cannot even be asked for; past any real list it finds nothing.
    return Page(limit=limit, offset=min(max(offset or 0, 0), MAX_OFFSET), total=_flag(params, "total"))


def _moment(params: Params, name: str, errors: list[str]) -> datetime | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    # An offset's "+" sent unencoded in a query string arrives as a space: `…T10:00:00 0000`.
    text = _UNENCODED_PLUS.sub(r"+\1", raw).strip()
    moment = parse_iso(text)
    if moment is None:
        errors.append(f"{name.capitalize()} must be a valid ISO 8601 date")
    elif not _OFFSET.search(text) and (tz := _zone(params.get("time_zone"))) is not None:
        moment = moment.replace(tzinfo=tz).astimezone(UTC)  # a time without offset: in `time_zone`, as PagerDuty
    return moment


def _zone(name: str | None) -> ZoneInfo | None:
    """The zone `time_zone` names; None without one or for a bad name (the answer's rendering refuses it)."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


moment = _moment  # the same, for the handlers' own time parameters


def date_window(params: Params, now: datetime, errors: list[str]) -> tuple[str | None, str | None]:
    """`since`/`until`, PagerDuty's default window (the last 30 days), or none at all with `date_range=all`."""
    date_range = params.get("date_range")
    if date_range not in (None, "", "all"):
        errors.append("Date range must be all")
    since = _moment(params, "since", errors)
    until = _moment(params, "until", errors)
    if date_range == "all":
        return None, None
    if since and until and until < since:
        errors.append("Until must be after since")
    if since is None and until is None:
        until = now
        since = now - DEFAULT_WINDOW
    elif until is None:
        until = max(now, since)
    elif since is None:
        since = until - DEFAULT_WINDOW
    return iso(since), iso(until)


def _sort(params: Params, fields: tuple[str, ...], errors: list[str]) -> tuple[tuple[str, str], ...]:
    raw = params.get("sort_by")
    if raw is None or raw == "":
        return ()
    sort: list[tuple[str, str]] = []
    for part in raw.split(","):
        field, _, direction = part.strip().partition(":")
        direction = direction or "asc"
        if field not in fields or direction not in ("asc", "desc"):
            errors.append(
                f"Sort by must be one of {', '.join(fields)}, optionally followed by :asc or :desc"
            )
            return ()
        if field not in (f for f, _ in sort):
            sort.append((field, direction))
    if len(sort) > 2:
        errors.append("Sort by accepts at most two fields")
        return ()
    return tuple(sort)


def incident_query(params: Params, now: datetime) -> tuple[IncidentQuery, Page]:
    """The filters of `GET /incidents`; raises InvalidInput listing every problem."""
    errors: list[str] = []
    statuses = _list(params, "statuses")
    if any(s not in INCIDENT_STATUSES for s in statuses):
        errors.append("Status must be a list of triggered, acknowledged, or resolved.")
    urgencies = _list(params, "urgencies")
    if any(u not in URGENCIES for u in urgencies):
        errors.append("Urgencies must be a list of high or low.")
    since, until = date_window(params, now, errors)
    sort = _sort(params, INCIDENT_SORT_FIELDS, errors)
    key = params.get("incident_key")
    paging = page(params, errors)
    if errors:
        raise InvalidInput(errors)
    query = IncidentQuery(
        statuses=tuple(dict.fromkeys(statuses)),
        service_ids=tuple(dict.fromkeys(_list(params, "service_ids"))),
        urgencies=tuple(dict.fromkeys(urgencies)),
        incident_key=key if key else None,
        user_ids=tuple(dict.fromkeys(_list(params, "user_ids"))),
        team_ids=tuple(dict.fromkeys(_list(params, "team_ids"))),
        since=since,
        until=until,
        sort=sort or IncidentQuery.sort,
    )
    return query, paging


def change_event_window(params: Params, errors: list[str]) -> tuple[str | None, str | None]:
    """`since`/`until` on change events: optional, no default window."""
    since = _moment(params, "since", errors)
    until = _moment(params, "until", errors)
    return (iso(since) if since else None), (iso(until) if until else None)


ALERT_STATUSES = ("triggered", "resolved")
ALERT_SORT_FIELDS = ("created_at", "resolved_at")
OVERVIEW_LEFT_OUT = ("notify_log_entry",)  # `is_overview=true`: the changes to the incident, not each notification


@dataclass(frozen=True)
class AlertQuery:
    statuses: tuple[str, ...] = ()
    alert_key: str | None = None
    sort: tuple[str, str] = ("created_at", "asc")


@dataclass(frozen=True)
class LogEntryQuery:
    since: str | None = None  # ISO; inclusive
    until: str | None = None  # ISO; exclusive
    overview: bool = False


def alert_query(params: Params) -> tuple[AlertQuery, Page]:
    """`GET /incidents/{id}/alerts`: `statuses[]` (triggered, resolved), `alert_key`, `sort_by`
    (created_at or resolved_at, :asc or :desc)."""
    errors: list[str] = []
    statuses = _list(params, "statuses")
    if any(s not in ALERT_STATUSES for s in statuses):
        errors.append("Statuses must be a list of triggered or resolved.")
    sort = _sort(params, ALERT_SORT_FIELDS, errors)
    if len(sort) > 1:
        errors.append("Sort by accepts one field")
    paging = page(params, errors)
    if errors:
        raise InvalidInput(errors)
    key = params.get("alert_key")
    return AlertQuery(tuple(dict.fromkeys(statuses)), key or None, sort[0] if sort else AlertQuery.sort), paging


def log_entry_query(params: Params) -> tuple[LogEntryQuery, Page]:
    """`GET /incidents/{id}/log_entries`: `since`/`until` (optional: the incident's whole log by default) and
    `is_overview` (true: without the notification entries)."""
    errors: list[str] = []
    since, until = change_event_window(params, errors)
    if since and until and until < since:
        errors.append("Until must be after since")
    overview = params.get("is_overview")
    if overview not in (None, "", "true", "false"):
        errors.append("Is overview must be true or false")
    paging = page(params, errors)
    if errors:
        raise InvalidInput(errors)
    return LogEntryQuery(since, until, overview == "true"), paging


SERVICE_SORT = {"name": "asc", "name:asc": "asc", "name:desc": "desc"}


@dataclass(frozen=True)
class ServiceQuery:
    query: str | None = None  # names containing it, any case
    name: str | None = None  # exactly this name
    descending: bool = False
    team_ids: tuple[str, ...] = ()  # on an escalation policy of one of these teams


def service_query(params: Params) -> tuple[ServiceQuery, Page]:
    """`GET /services`: `query`, `name`, `sort_by` (name, name:asc, name:desc)."""
    errors: list[str] = []
    sort = params.get("sort_by") or "name"
    if sort not in SERVICE_SORT:
        errors.append("Sort by must be one of name, name:asc, name:desc")
    paging = page(params, errors)
    if errors:
        raise InvalidInput(errors)
    return ServiceQuery(params.get("query") or None, params.get("name") or None,
                        SERVICE_SORT.get(sort) == "desc", tuple(dict.fromkeys(_list(params, "team_ids")))), paging
