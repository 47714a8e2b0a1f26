"""Escalation, the pure part: whom an incident is assigned to, who is told and how, and what happens as time
passes — on plain data, no SQL, no HTTP.

A plan is what `store/escalation_plans.py` loads for an escalation policy at an instant (`EscalationPlan`: its
`levels`, each with `escalation_delay_in_minutes` and the `users` on call there, each user's `rules_for(urgency)`
giving `(notification rule, contact method)` pairs; `num_loops`). This module reads only those attributes.

- At creation (`start`) an incident goes to the first level that has someone on call; each of them is notified
  by every notification rule of theirs for the incident's urgency that starts at once (PagerDuty's defaults:
  push and SMS for high urgency); the incident escalates when that level's delay has passed.
- When the delay passes and nobody acknowledged (`escalate`): the next level with someone on call; after the
  last level the policy starts again at the first, `num_loops` times; then the incident stays where it is.
- Acknowledging or resolving stops the clock (the store clears `next_escalation_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# PagerDuty's contact method types and the notification each sends.
NOTIFICATION_TYPES = {
    "push_notification_contact_method": "push_notification",
    "sms_contact_method": "sms_notification",
    "email_contact_method": "email_notification",
    "phone_contact_method": "phone_notification",
}
# How a notify log entry's summary names each ("Notified Dana Demo by SMS.").
_BY = {"push_notification": "push notification", "sms_notification": "SMS", "email_notification": "email",
       "phone_notification": "phone"}


@dataclass(frozen=True)
class About:
    """What a notification names: the incident."""

    number: int
    title: str
    service_name: str
    urgency: str


@dataclass(frozen=True)
class Notification:
    user_id: str
    user_name: str
    type: str  # push_notification | sms_notification | email_notification | phone_notification
    address: str
    text: str
    summary: str  # its notify_log_entry's


@dataclass(frozen=True)
class Step:
    """Where an incident stands after a move along its policy, and whom to tell."""

    level: int  # 1 is the first level
    loops: int  # times the policy went round before this step
    assignees: tuple[tuple[str, str], ...]  # (user id, name), in the level's order
    next_at: datetime | None  # when it escalates again unless acknowledged; None: it stays
    notifications: tuple[Notification, ...]


# ---- what people read --------------------------------------------------------------------------------------


def text(notification_type: str, about: About) -> str:
    """A notification's text as PagerDuty words it (support.pagerduty.com, "Notification Content"): a push names
    the incident's number, service and description; an SMS says you were assigned, with the reply codes."""
    if notification_type == "sms_notification":
        return (f"ALRT #{about.number} : You were assigned to an incident. Go to PagerDuty to learn more. "
                "Reply 4: Ack, 6: Resolve")
    if notification_type == "phone_notification":
        return (f"You have 1 triggered incident on {about.service_name}. Press 4 to acknowledge. "
                "Press 6 to resolve.")
    if notification_type == "email_notification":
        return f"[PagerDuty Alert] You have 1 TRIGGERED Incident (#{about.number} {about.title})"
    return f"#{about.number} {about.service_name}: {about.title}"


def notify_summary(user_name: str, notification_type: str) -> str:
    return f"Notified {user_name} by {_BY.get(notification_type, notification_type)}."


def names(assignees: tuple[tuple[str, str], ...] | list) -> str:
    return ", ".join(name for _, name in assignees)


def assign_summary(assignees, by: str | None = None) -> str:
    return f"Assigned to {names(assignees)}" + (f" by {by}." if by else ".")


def escalate_summary(assignees, by: str | None = None) -> str:
    """`by`: who escalated it (a person, through REST or the console); None: the level's delay ran out."""
    return f"Escalated to {names(assignees)} by {by or 'timeout'}."


# ---- moving along a policy ---------------------------------------------------------------------------------


def notifications(users: Any, about: About) -> tuple[Notification, ...]:
    """Each user's notifications for an incident of this urgency that go at once (rules starting at 0 minutes;
    later ones would wait for an acknowledgement the sandbox does not wait for)."""
    out = []
    for user in users:
        for rule, method in user.rules_for(about.urgency):
            kind = NOTIFICATION_TYPES.get(method.type)
            if kind is None or rule.start_delay_in_minutes != 0:
                continue
            out.append(Notification(user.id, user.name, kind, method.address, text(kind, about),
                                    notify_summary(user.name, kind)))
    return tuple(out)


def _at(plan: Any, level: int, loops: int, about: About, now: datetime) -> Step:
    chosen = plan.levels[level - 1]
    return Step(level, loops, tuple((u.id, u.name) for u in chosen.users),
                now + timedelta(minutes=chosen.escalation_delay_in_minutes), notifications(chosen.users, about))


def _staffed(plan: Any, level: int) -> bool:
    return 1 <= level <= len(plan.levels) and bool(plan.levels[level - 1].users)


def start(plan: Any, about: About, now: datetime) -> Step | None:
    """A new incident: the first level with someone on call; None when nobody is on call anywhere."""
    for level in range(1, len(plan.levels) + 1):
        if _staffed(plan, level):
            return _at(plan, level, 0, about, now)
    return None


def following(level_count: int, level: int, loops: int, num_loops: int) -> tuple[int, int] | None:
    """The position after (level, loops): the next level; after the last, the first again while loops remain;
    else None."""
    if level < level_count:
        return level + 1, loops
    if loops < num_loops:
        return 1, loops + 1
    return None


def escalate(plan: Any, level: int, loops: int, about: About, now: datetime) -> Step | None:
    """The level's delay ran out: the next position with someone on call (levels nobody covers are passed
    over, as at PagerDuty), or None when the policy is exhausted."""
    position: tuple[int, int] | None = (level, loops)
    for _ in range(len(plan.levels) * (plan.num_loops + 1)):
        position = following(len(plan.levels), position[0], position[1], plan.num_loops)
        if position is None:
            return None
        if _staffed(plan, position[0]):
            return _at(plan, position[0], position[1], about, now)
    return None


def to_level(plan: Any, level: int, loops: int, about: About, now: datetime) -> Step | None:
    """Straight to a level (REST `escalation_level`); None when the policy has no such level or nobody there."""
    return _at(plan, level, loops, about, now) if _staffed(plan, level) else None


def direct(users: Any, about: About, now: datetime) -> Step:
    """Assigned to these people directly (REST `assignments`): no level, and no escalation."""
    return Step(0, 0, tuple((u.id, u.name) for u in users), None, notifications(users, about))


def valid_until(plan: Any) -> datetime | None:
    """Until when the plan stays true: the earliest end of a schedule's on-call stretch in it (None: no
    schedule in it ends, as far as it was looked at)."""
    ends = [o.end for level in plan.levels for o in level.oncalls if o.end is not None]
    return min(ends) if ends else None
