"""Loading schedules and escalation plans: the statements written once, run by two drivers.

A loader is a generator that yields `(sql, params)` and is sent back the rows (tuples, by position); what it
returns is the result. `run_sync(conn, loader)` drives it on a plain sqlite3 connection (the events writer,
inside its transaction, on its thread or in the writer process); `run_async(db, loader)` on the store's
Database (`store.people`). So the REST API, the console and the events writer read schedules and policies
with the same SQL, and compute on-call with the same rules (`domain/oncall.py`).

Imports only the domain and the standard library, so the writer process stays small."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fake_pagerduty.domain import oncall
from fake_pagerduty.domain.clock import iso, parse_iso

Loader = Generator[tuple[str, tuple], list, Any]


@dataclass(frozen=True)
class ContactMethod:
    id: str
    type: str  # email_contact_method | phone_contact_method | sms_contact_method | push_notification_contact_method
    label: str
    address: str
    country_code: int | None = None


@dataclass(frozen=True)
class NotificationRule:
    id: str
    contact_method_id: str
    start_delay_in_minutes: int
    urgency: str  # high | low


@dataclass(frozen=True)
class PlanUser:
    id: str
    name: str
    email: str
    contact_methods: tuple[ContactMethod, ...]
    notification_rules: tuple[NotificationRule, ...]

    def rules_for(self, urgency: str) -> tuple[tuple[NotificationRule, ContactMethod], ...]:
        """The user's notification rules for an urgency with their contact methods, soonest first."""
        methods = {m.id: m for m in self.contact_methods}
        return tuple((r, methods[r.contact_method_id]) for r in self.notification_rules
                     if r.urgency == urgency and r.contact_method_id in methods)


@dataclass(frozen=True)
class PlanLevel:
    level: int  # 1 is the first
    rule_id: str
    escalation_delay_in_minutes: int
    oncalls: tuple[oncall.OnCall, ...]  # who, and through which schedule
    users: tuple[PlanUser, ...]  # the same people, in the same order, with how to reach them


@dataclass(frozen=True)
class EscalationPlan:
    """Whom an escalation policy reaches at an instant, level by level."""

    policy_id: str
    name: str
    num_loops: int
    levels: tuple[PlanLevel, ...]


def _marks(values: list | tuple | set) -> str:
    return ", ".join("?" * len(values))


def _when(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def load_schedules(schedule_ids: list[str] | tuple[str, ...], since: datetime,
                   until: datetime) -> Loader:
    """The schedules (by id) as `oncall.Schedule`s, with the overrides that touch [since, until); missing ids
    are left out. Returns {id: Schedule}."""
    ids = list(dict.fromkeys(schedule_ids))
    if not ids:
        return {}
    schedules = yield (f"SELECT id, time_zone, name FROM schedules WHERE id IN ({_marks(ids)})", tuple(ids))
    if not schedules:
        return {}
    ids = [row[0] for row in schedules]
    layers = yield (
        'SELECT id, schedule_id, position, name, start, "end", rotation_virtual_start, rotation_turn_length_seconds'
        f" FROM schedule_layers WHERE schedule_id IN ({_marks(ids)}) ORDER BY schedule_id, position", tuple(ids))
    layer_ids = tuple(row[0] for row in layers)
    users: dict[str, list[str]] = {lid: [] for lid in layer_ids}
    restrictions: dict[str, list[oncall.Restriction]] = {lid: [] for lid in layer_ids}
    if layer_ids:
        for layer_id, user_id in (yield (
                f"SELECT layer_id, user_id FROM schedule_layer_users WHERE layer_id IN ({_marks(layer_ids)})"
                " ORDER BY layer_id, position", layer_ids)):
            users[layer_id].append(user_id)
        for layer_id, type_, start_time, day, duration in (yield (
                "SELECT layer_id, type, start_time_of_day, start_day_of_week, duration_seconds"
                f" FROM schedule_layer_restrictions WHERE layer_id IN ({_marks(layer_ids)}) ORDER BY layer_id, id",
                layer_ids)):
            restrictions[layer_id].append(oncall.Restriction(type_, start_time, duration, day))
    overrides: dict[str, list[oncall.Override]] = {sid: [] for sid in ids}
    for oid, schedule_id, user_id, start, end in (yield (
            f'SELECT id, schedule_id, user_id, start, "end" FROM schedule_overrides WHERE schedule_id IN ({_marks(ids)})'
            ' AND "end" > ? AND start < ? ORDER BY created_at, rowid', (*ids, iso(since), iso(until)))):
        overrides[schedule_id].append(oncall.Override(oid, user_id, parse_iso(start), parse_iso(end)))
    by_schedule: dict[str, list[oncall.Layer]] = {sid: [] for sid in ids}
    for lid, schedule_id, position, name, start, end, virtual_start, turn in layers:
        by_schedule[schedule_id].append(oncall.Layer(
            id=lid, start=parse_iso(start), end=_when(end), rotation_virtual_start=parse_iso(virtual_start),
            rotation_turn_length_seconds=turn, user_ids=tuple(users[lid]), restrictions=tuple(restrictions[lid]),
            position=position, name=name))
    return {sid: oncall.Schedule(sid, tz, tuple(by_schedule[sid]), tuple(overrides[sid]), name)
            for sid, tz, name in schedules}


def load_rules(policy_id: str) -> Loader:
    """A policy's levels as `oncall.Rule`s, in order."""
    rows = yield (
        "SELECT r.id, r.escalation_delay_in_minutes, t.target_type, t.target_id FROM escalation_rules r"
        " LEFT JOIN escalation_rule_targets t ON t.rule_id = r.id WHERE r.policy_id = ?"
        " ORDER BY r.position, t.position", (policy_id,))
    rules: dict[str, tuple[int, list[oncall.Target]]] = {}
    for rule_id, delay, target_type, target_id in rows:
        targets = rules.setdefault(rule_id, (delay, []))[1]
        if target_type is not None:
            targets.append(oncall.Target(target_type, target_id))
    return [oncall.Rule(delay, tuple(targets), rule_id) for rule_id, (delay, targets) in rules.items()]


def load_plan_users(user_ids: list[str] | tuple[str, ...]) -> Loader:
    """Users with their contact methods and notification rules (soonest first). Returns {id: PlanUser}."""
    ids = tuple(dict.fromkeys(user_ids))
    if not ids:
        return {}
    users = yield (f"SELECT id, name, email FROM users WHERE id IN ({_marks(ids)})", ids)
    methods: dict[str, list[ContactMethod]] = {uid: [] for uid in ids}
    for uid, mid, type_, label, address, country in (yield (
            "SELECT user_id, id, type, label, address, country_code FROM contact_methods"
            f" WHERE user_id IN ({_marks(ids)}) ORDER BY created_at, rowid", ids)):
        methods[uid].append(ContactMethod(mid, type_, label, address, country))
    rules: dict[str, list[NotificationRule]] = {uid: [] for uid in ids}
    for uid, rid, method_id, delay, urgency in (yield (
            "SELECT user_id, id, contact_method_id, start_delay_in_minutes, urgency FROM notification_rules"
            f" WHERE user_id IN ({_marks(ids)}) ORDER BY start_delay_in_minutes, created_at, rowid", ids)):
        rules[uid].append(NotificationRule(rid, method_id, delay, urgency))
    return {uid: PlanUser(uid, name, email, tuple(methods[uid]), tuple(rules[uid])) for uid, name, email in users}


def load_plan(account_id: str, policy_id: str, at: datetime) -> Loader:
    """The escalation plan of one of the account's policies at `at`, or None when there is no such policy."""
    policy = yield ("SELECT id, name, num_loops FROM escalation_policies WHERE id = ? AND account_id = ?",
                    (policy_id, account_id))
    if not policy:
        return None
    _, name, num_loops = policy[0]
    rules = yield from load_rules(policy_id)
    schedule_ids = [t.id for rule in rules for t in rule.targets if t.type == "schedule_reference"]
    reach = oncall.MAX_RANGE
    schedules = yield from load_schedules(schedule_ids, at - reach, at + reach)
    levels = oncall.oncall_for_policy(rules, schedules, at)
    users = yield from load_plan_users([o.user_id for level in levels for o in level])
    return EscalationPlan(policy_id, name, num_loops, tuple(
        PlanLevel(number, rule.id, rule.escalation_delay_in_minutes,
                  tuple(o for o in level if o.user_id in users), tuple(users[o.user_id] for o in level if o.user_id in users))
        for number, (rule, level) in enumerate(zip(rules, levels, strict=True), start=1)))


def load_service_plan(service_id: str, at: datetime) -> Loader:
    """The plan of a service's escalation policy at `at`; None when the service has none."""
    rows = yield ("SELECT account_id, escalation_policy_id FROM services WHERE id = ?", (service_id,))
    if not rows or rows[0][1] is None:
        return None
    return (yield from load_plan(rows[0][0], rows[0][1], at))


# ---- the two drivers ------------------------------------------------------------------------------------

def run_sync(conn: Any, loader: Loader) -> Any:
    """Run a loader on a plain sqlite3 connection (inside whatever transaction it is in)."""
    try:
        query = next(loader)
        while True:
            query = loader.send([tuple(row) for row in conn.execute(*query).fetchall()])
    except StopIteration as done:
        return done.value


async def run_async(db: Any, loader: Loader) -> Any:
    """Run a loader on the store's Database, its reads in one snapshot."""
    async with db.snapshot():
        try:
            query = next(loader)
            while True:
                query = loader.send([tuple(row) for row in await db.all(*query)])
        except StopIteration as done:
            return done.value


def sync_escalation_plan(conn: Any, account_id: str, policy_id: str, at: datetime) -> EscalationPlan | None:
    """`store.people.escalation_plan`, for the events writer's connection (inside its transaction)."""
    return run_sync(conn, load_plan(account_id, policy_id, at))


def sync_service_plan(conn: Any, service_id: str, at: datetime) -> EscalationPlan | None:
    return run_sync(conn, load_service_plan(service_id, at))


__all__ = ["ContactMethod", "EscalationPlan", "NotificationRule", "PlanLevel", "PlanUser", "load_plan",
           "load_schedules", "run_async", "run_sync", "sync_escalation_plan", "sync_service_plan"]
