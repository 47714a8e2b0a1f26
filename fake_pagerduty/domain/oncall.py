"""Who is on call: PagerDuty's schedule rules, on plain data (no SQL, no HTTP).

A schedule has layers and overrides. A layer rotates through its users: turn k (k = 0, 1, … counted from
`rotation_virtual_start`, also backwards) belongs to `users[k mod n]` and lasts `rotation_turn_length_seconds`.
A layer covers nothing before its `start` or from its `end`, and, when it has restrictions, only inside them
(daily: from `start_time_of_day` for `duration_seconds`, every day; weekly: from `start_day_of_week` at
`start_time_of_day`), read in the schedule's time zone. Turns of whole days are counted in that time zone's wall
clock, so a daily 09:00 handoff stays at 09:00 across a daylight-saving change, as at PagerDuty.

The final schedule: where several layers have someone, the layer with the highest `position` wins (PagerDuty's
"Layer 2" over "Layer 1"); overrides win over every layer (among overlapping overrides, the last made). Entries
are clipped to the range asked for and neighbours with the same user are one entry.

`oncall_for_policy` answers, for an escalation policy's levels, who is on call at an instant — what incidents
are assigned by and what `GET /oncalls` lists. Everything takes and returns plain frozen dataclasses (the store
builds them from rows, the events writer in its own process too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = 86400
WEEK = 7 * DAY
MAX_RANGE = timedelta(days=93)  # the longest since/until range rendered (PagerDuty refuses longer ones too)


@dataclass(frozen=True)
class Restriction:
    type: str  # daily_restriction | weekly_restriction
    start_time_of_day: str  # "HH:MM:SS" (or "HH:MM")
    duration_seconds: int
    start_day_of_week: int | None = None  # weekly: ISO day, 1 is Monday


@dataclass(frozen=True)
class Layer:
    id: str
    start: datetime
    rotation_virtual_start: datetime
    rotation_turn_length_seconds: int
    user_ids: tuple[str, ...]
    end: datetime | None = None
    restrictions: tuple[Restriction, ...] = ()
    position: int = 0
    name: str = ""


@dataclass(frozen=True)
class Override:
    id: str
    user_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Schedule:
    id: str
    time_zone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Entry:
    start: datetime
    end: datetime
    user_id: str


@dataclass(frozen=True)
class Target:
    type: str  # user_reference | schedule_reference
    id: str


@dataclass(frozen=True)
class Rule:
    escalation_delay_in_minutes: int
    targets: tuple[Target, ...]
    id: str = ""


@dataclass(frozen=True)
class OnCall:
    """One user on call at one level of a policy: through a schedule (with that stretch's start and end), or
    named by the level itself (`schedule_id`, `start` and `end` None: a permanent on-call)."""

    escalation_level: int  # 1 is the first level
    user_id: str
    schedule_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone `name` ("UTC" when unknown or empty)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_of_day(text: str) -> time | None:
    """`HH:MM:SS` or `HH:MM` as a time, else None."""
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError):
        return None


# ---- one layer ------------------------------------------------------------------------------------------

class _Turns:
    """A layer's handoffs: turn k starts at `at(k)`."""

    def __init__(self, layer: Layer, tz: ZoneInfo) -> None:
        if layer.rotation_turn_length_seconds <= 0:
            raise ValueError("rotation_turn_length_seconds must be positive")
        self.start = layer.rotation_virtual_start.astimezone(UTC)
        self.length = layer.rotation_turn_length_seconds
        self.wall = self.length % DAY == 0  # whole days: counted on the wall clock of the schedule's zone
        self.tz = tz
        self.local_start = self.start.astimezone(tz).replace(tzinfo=None)

    def at(self, k: int) -> datetime:
        if self.wall:
            wall = self.local_start + timedelta(seconds=k * self.length)
            return wall.replace(tzinfo=self.tz).astimezone(UTC)
        return self.start + timedelta(seconds=k * self.length)

    def index(self, moment: datetime) -> int:
        """The turn under way at `moment`."""
        k = int((moment - self.start).total_seconds() // self.length)
        while self.at(k + 1) <= moment:
            k += 1
        while self.at(k) > moment:
            k -= 1
        return k


def _restriction_windows(restrictions: tuple[Restriction, ...], tz: ZoneInfo, since: datetime,
                         until: datetime) -> list[tuple[datetime, datetime]]:
    """The windows the restrictions open within [since, until), merged, in order."""
    windows = []
    first = since.astimezone(tz).date() - timedelta(days=8)  # a window may have opened up to a week before
    last = until.astimezone(tz).date()
    for restriction in restrictions:
        at = time_of_day(restriction.start_time_of_day)
        if at is None:
            continue
        step = 7 if restriction.type == "weekly_restriction" else 1
        day = first
        if step == 7:
            day += timedelta(days=((restriction.start_day_of_week or 1) - day.isoweekday()) % 7)
        while day <= last:
            opens = datetime.combine(day, at)
            closes = (opens + timedelta(seconds=restriction.duration_seconds)).replace(tzinfo=tz).astimezone(UTC)
            opens = opens.replace(tzinfo=tz).astimezone(UTC)
            if closes > since and opens < until:
                windows.append((max(opens, since), min(closes, until)))
            day += timedelta(days=step)
    return _merge_windows(windows)


def _merge_windows(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(windows):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _joined(entries: list[Entry]) -> list[Entry]:
    """Neighbouring entries of the same user as one."""
    out: list[Entry] = []
    for entry in entries:
        if out and out[-1].user_id == entry.user_id and out[-1].end == entry.start:
            out[-1] = Entry(out[-1].start, entry.end, entry.user_id)
        else:
            out.append(entry)
    return out


def layer_entries(layer: Layer, time_zone: str, since: datetime, until: datetime) -> list[Entry]:
    """Who the layer has on call over [since, until) (PagerDuty's `rendered_schedule_entries`)."""
    begin = max(since, layer.start)
    finish = min(until, layer.end) if layer.end else until
    if begin >= finish or not layer.user_ids:
        return []
    tz = zone(time_zone)
    turns = _Turns(layer, tz)
    windows = (_restriction_windows(layer.restrictions, tz, begin, finish) if layer.restrictions
               else [(begin, finish)])
    entries = []
    for start, end in windows:
        moment = start
        k = turns.index(moment)
        while moment < end:
            handoff = min(turns.at(k + 1), end)
            entries.append(Entry(moment, handoff, layer.user_ids[k % len(layer.user_ids)]))
            moment, k = handoff, k + 1
    return _joined(entries)


# ---- the whole schedule ---------------------------------------------------------------------------------

def _paint(ranked: list[tuple[tuple, Entry]], since: datetime, until: datetime) -> list[Entry]:
    """Entries from several sources, each ranked; at each moment the highest rank covering it wins."""
    edges: dict[datetime, list[tuple[bool, tuple, Entry]]] = {}
    for rank, entry in ranked:
        start, end = max(entry.start, since), min(entry.end, until)
        if start < end:
            edges.setdefault(start, []).append((True, rank, entry))
            edges.setdefault(end, []).append((False, rank, entry))
    active: dict[tuple, Entry] = {}
    out: list[Entry] = []
    moments = sorted(edges)
    for i, moment in enumerate(moments):
        for opens, rank, entry in edges[moment]:
            if opens:
                active[rank] = entry
            elif active.get(rank) is entry:
                del active[rank]
        if active and i + 1 < len(moments):
            out.append(Entry(moment, moments[i + 1], active[max(active)].user_id))
    return _joined(out)


def overrides_entries(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    """The overrides subschedule over [since, until): the last made wins where they overlap."""
    return _paint(_ranked_overrides(schedule), since, until)


def _ranked_overrides(schedule: Schedule) -> list[tuple[tuple, Entry]]:
    return [((1, i), Entry(o.start, o.end, o.user_id)) for i, o in enumerate(schedule.overrides)]


def final_entries(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    """The final schedule over [since, until): overrides, else the highest layer with someone on call."""
    ranked = [((0, layer.position), entry) for layer in schedule.layers
              for entry in layer_entries(layer, schedule.time_zone, since, until)]
    return _paint(ranked + _ranked_overrides(schedule), since, until)


def horizon(schedule: Schedule) -> timedelta:
    """How far around an instant to look for the whole on-call stretch it falls in: two of the longest turns,
    at least a day, at most `MAX_RANGE`."""
    longest = max((layer.rotation_turn_length_seconds for layer in schedule.layers), default=DAY)
    return min(max(timedelta(seconds=2 * longest), timedelta(days=1)), MAX_RANGE)


def on_call_at(schedule: Schedule, at: datetime) -> Entry | None:
    """The final schedule's entry under way at `at` (its stretch, within `horizon` either side), or None."""
    found = stretches(schedule, at, at)
    return found[0] if found else None


def stretches(schedule: Schedule, since: datetime, until: datetime, *, overrides_only: bool = False) -> list[Entry]:
    """The final schedule's (or the overrides') entries that overlap [since, until] — or, when the two are
    the same instant, the one under way then — whole, not clipped to the range (within `horizon` of it)."""
    reach = horizon(schedule)
    render = overrides_entries if overrides_only else final_entries
    entries = render(schedule, since - reach, until + reach)
    if since == until:
        return [e for e in entries if e.start <= since < e.end]
    return [e for e in entries if e.start < until and e.end > since]


def oncall_for_policy(rules: list[Rule] | tuple[Rule, ...], schedules: dict[str, Schedule],
                      at: datetime) -> list[list[OnCall]]:
    """Per level of a policy (in order), who is on call at `at`: a level's users, and whoever each of its
    schedules has on call (a schedule unknown or with nobody adds nobody). A user named twice at a level
    counts once (the first target naming them)."""
    levels = []
    for number, rule in enumerate(rules, start=1):
        found: list[OnCall] = []
        seen: set[str] = set()
        for target in rule.targets:
            oncall = None
            if target.type in ("user_reference", "user"):
                oncall = OnCall(number, target.id)
            elif target.type in ("schedule_reference", "schedule") and target.id in schedules:
                entry = on_call_at(schedules[target.id], at)
                if entry is not None:
                    oncall = OnCall(number, entry.user_id, target.id, entry.start, entry.end)
            if oncall is not None and oncall.user_id not in seen:
                seen.add(oncall.user_id)
                found.append(oncall)
        levels.append(found)
    return levels
