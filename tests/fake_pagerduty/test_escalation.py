"""Incidents go to people (issue 15): a new incident is assigned by its service's escalation policy to whoever
is on call at level 1, who is notified by their notification rules; not acknowledged within the level's delay
(the sandbox clock), it escalates to the next level; after the last level it loops `num_loops` times; an
acknowledgement or a resolve stops it. The log entries are PagerDuty's; escalations send `incident.escalated`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fake_pagerduty.domain import escalation
from fake_pagerduty.settings import Settings
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.rest_helpers import FROM_DANA, incident_by_key, trigger
from tests.fake_pagerduty.webhook_helpers import Receiver, make_app, until

BASE = "http://sandbox.test"
DANA = {"id": "PDANA00", "type": "user_reference", "summary": "Dana Demo", "self": f"{BASE}/api/users/PDANA00",
        "html_url": f"{BASE}/users/PDANA00"}
SAM = {"id": "PSAMR00", "type": "user_reference", "summary": "Sam Rivera", "self": f"{BASE}/api/users/PSAMR00",
       "html_url": f"{BASE}/users/PSAMR00"}
SERVICE = {"id": "PWEBS00", "type": "service_reference", "summary": "Acme Website",
           "self": f"{BASE}/api/services/PWEBS00", "html_url": f"{BASE}/services/PWEBS00"}
POLICY = {"id": "PPOLI00", "type": "escalation_policy_reference", "summary": "Acme Website On-Call",
          "self": f"{BASE}/api/escalation_policies/PPOLI00", "html_url": f"{BASE}/escalation_policies/PPOLI00"}
SMS_TEXT = "ALRT #1 : You were assigned to an incident. Go to PagerDuty to learn more. Reply 4: Ack, 6: Resolve"


def rows(settings: Settings, sql: str, *params) -> list[dict]:
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


async def log_entries(client: httpx.AsyncClient, incident_id: str) -> list[dict]:
    """Oldest first (the API lists them newest first)."""
    answer = await client.get(f"/api/incidents/{incident_id}/log_entries", headers=REST_HEADERS)
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["log_entries"]))


async def advance(client: httpx.AsyncClient, seconds: int) -> list[dict]:
    answer = await client.post("/_sandbox/clock", json={"advance_seconds": seconds})
    assert answer.status_code == 200, answer.text
    return answer.json()["applied"]


def _shape(entry: dict) -> dict:
    keep = ("type", "summary", "agent", "channel", "assignees", "user")
    return {k: entry[k] for k in keep if k in entry}


async def test_a_new_incident_is_assigned_to_whoever_is_on_call_and_they_are_notified(sandbox, sandbox_settings):
    await trigger(sandbox, "disk", summary="Disk full on web-1")
    incident = await incident_by_key(sandbox, "disk")
    assert [a["assignee"] for a in incident["assignments"]] == [DANA]
    assert incident["assigned_via"] == "escalation_policy"
    assert incident["escalation_policy"] == POLICY
    entries = await log_entries(sandbox, incident["id"])
    assert [e["type"] for e in entries] == ["trigger_log_entry", "assign_log_entry", "notify_log_entry",
                                            "notify_log_entry"]
    stamp = entries[1]["created_at"]
    assert [_shape(e) for e in entries[1:]] == [
        {"type": "assign_log_entry", "summary": "Assigned to Dana Demo.", "agent": SERVICE, "channel": {"type": "auto"},
         "assignees": [DANA]},
        {"type": "notify_log_entry", "summary": "Notified Dana Demo by push notification.", "agent": SERVICE,
         "channel": {"type": "auto", "notification": {"type": "push_notification", "status": "success",
                                                      "started_at": stamp}}, "user": DANA},
        {"type": "notify_log_entry", "summary": "Notified Dana Demo by SMS.", "agent": SERVICE,
         "channel": {"type": "auto", "notification": {"type": "sms_notification", "address": "5550100001",
                                                      "status": "success", "started_at": stamp}}, "user": DANA},
    ]
    stored = rows(sandbox_settings, "SELECT user_id, type, address, text FROM notifications ORDER BY id")
    assert stored == [
        {"user_id": "PDANA00", "type": "push_notification", "address": "dana-phone",
         "text": "#1 Acme Website: Disk full on web-1"},
        {"user_id": "PDANA00", "type": "sms_notification", "address": "5550100001", "text": SMS_TEXT},
    ]
    (row,) = rows(sandbox_settings, "SELECT escalation_level, escalation_loops, next_escalation_at FROM incidents")
    assert (row["escalation_level"], row["escalation_loops"]) == (1, 0)
    assert row["next_escalation_at"] == _plus(stamp, minutes=5)
    assert incident["pending_actions"] == [{"type": "escalate", "at": _plus(stamp, minutes=5)},
                                           {"type": "resolve", "at": _plus(stamp, hours=4)}]


def _plus(stamp: str, **delta) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(**delta)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_deduplicated_trigger_assigns_and_notifies_nobody_again(sandbox, sandbox_settings):
    await trigger(sandbox, "disk")
    await trigger(sandbox, "disk", summary="Disk still full")
    assert len(rows(sandbox_settings, "SELECT * FROM notifications")) == 2
    assert len(rows(sandbox_settings, "SELECT * FROM log_entries WHERE type = 'assign_log_entry'")) == 1


async def test_a_low_urgency_incident_is_notified_by_the_low_urgency_rules(sandbox, sandbox_settings):
    await trigger(sandbox, "slow", summary="Slow page", severity="warning")
    (notification,) = rows(sandbox_settings, "SELECT user_id, type, address, text FROM notifications")
    assert notification == {"user_id": "PDANA00", "type": "email_notification", "address": "demo@acme.test",
                            "text": "[PagerDuty Alert] You have 1 TRIGGERED Incident (#1 Slow page)"}


async def test_not_acknowledged_within_the_delay_it_escalates_to_the_next_level(sandbox, sandbox_settings):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    assert await advance(sandbox, 290) == []  # (room for the real seconds a loaded run lets pass)
    assert await advance(sandbox, 20) == [{"incident_id": incident["id"], "event_type": "incident.escalated"}]
    incident = await incident_by_key(sandbox, "disk")
    assert [a["assignee"] for a in incident["assignments"]] == [SAM]
    assert incident["status"] == "triggered"
    entries = await log_entries(sandbox, incident["id"])
    assert [_shape(e) for e in entries[4:]] == [
        {"type": "escalate_log_entry", "summary": "Escalated to Sam Rivera by timeout.", "agent": SERVICE,
         "channel": {"type": "auto"}, "assignees": [SAM]},
        {"type": "notify_log_entry", "summary": "Notified Sam Rivera by push notification.", "agent": SERVICE,
         "channel": {"type": "auto", "notification": {"type": "push_notification", "status": "success",
                                                      "started_at": entries[4]["created_at"]}}, "user": SAM},
        {"type": "notify_log_entry", "summary": "Notified Sam Rivera by SMS.", "agent": SERVICE,
         "channel": {"type": "auto", "notification": {"type": "sms_notification", "address": "5550100002",
                                                      "status": "success", "started_at": entries[4]["created_at"]}},
         "user": SAM},
    ]
    # the policy has two levels and no loops: after Sam's five minutes it stays with Sam
    assert await advance(sandbox, 3600) == []
    assert len(await log_entries(sandbox, incident["id"])) == 7
    (row,) = rows(sandbox_settings, "SELECT escalation_level, next_escalation_at FROM incidents")
    assert row == {"escalation_level": 2, "next_escalation_at": None}


async def test_a_clock_advanced_past_two_delays_escalates_at_each_one_in_turn(sandbox):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    created = incident["created_at"]
    await advance(sandbox, 3600)
    entries = await log_entries(sandbox, incident["id"])
    escalations = [e for e in entries if e["type"] == "escalate_log_entry"]
    assert [(e["summary"], e["created_at"]) for e in escalations] == [
        ("Escalated to Sam Rivera by timeout.", _plus(created, minutes=5))]


@pytest.mark.parametrize("status", ["acknowledged", "resolved"])
async def test_acknowledging_or_resolving_stops_the_escalation(sandbox, sandbox_settings, status):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers=FROM_DANA,
                               json={"incident": {"type": "incident_reference", "status": status}})
    assert answer.status_code == 200
    assert await advance(sandbox, 600) == []
    assert [e["type"] for e in await log_entries(sandbox, incident["id"])][-1] == (
        "acknowledge_log_entry" if status == "acknowledged" else "resolve_log_entry")
    (row,) = rows(sandbox_settings, "SELECT next_escalation_at FROM incidents")
    assert row["next_escalation_at"] is None


async def test_after_the_acknowledgement_timeout_the_escalation_clock_starts_again(sandbox, sandbox_settings):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": "acknowledge",
                                            "dedup_key": "disk"})
    applied = await advance(sandbox, 1801)  # the service's acknowledgement timeout
    assert applied == [{"incident_id": incident["id"], "event_type": "incident.unacknowledged"}]
    # Dana is told again: a push and an SMS after the unacknowledge entry
    assert [(e["type"], e["summary"]) for e in (await log_entries(sandbox, incident["id"]))[-3:]] == [
        ("unacknowledge_log_entry", "Unacknowledged due to timeout."),
        ("notify_log_entry", "Notified Dana Demo by push notification."),
        ("notify_log_entry", "Notified Dana Demo by SMS.")]
    assert len(rows(sandbox_settings, "SELECT * FROM notifications WHERE user_id = 'PDANA00'")) == 4
    # the level's 5 minutes count from the timeout (1800 s after the acknowledgement), with room for the real
    # seconds a loaded machine lets pass between these calls (the sandbox clock runs on)
    assert await advance(sandbox, 290) == []
    assert await advance(sandbox, 20) == [{"incident_id": incident["id"], "event_type": "incident.escalated"}]


async def test_a_service_without_an_escalation_policy_assigns_nobody(sandbox, sandbox_settings):
    with sqlite3.connect(sandbox_settings.db_path) as db:
        db.execute("UPDATE services SET escalation_policy_id = NULL")
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    assert incident["assignments"] == []
    assert rows(sandbox_settings, "SELECT * FROM notifications") == []
    assert await advance(sandbox, 600) == []


async def test_escalation_sends_incident_escalated_with_the_new_assignee(tmp_path):
    receiver = Receiver()
    app = make_app(Settings(db_path=str(tmp_path / "s.db"), public_url=BASE, webhook_backoff_seconds=0), receiver)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            subscription = {"webhook_subscription": {
                "type": "webhook_subscription",
                "delivery_method": {"type": "http_delivery_method", "url": "https://receiver.test/pd"},
                "events": ["incident.escalated"], "filter": {"type": "account_reference", "id": "PACME00"}}}
            assert (await c.post("/api/webhook_subscriptions", json=subscription,
                                 headers=REST_HEADERS)).status_code == 200
            await trigger(c, "disk")
            await advance(c, 301)

            async def sent():
                return len(receiver.requests) >= 1

            await until(app, sent)
    (event,) = receiver.events()
    assert event["event_type"] == "incident.escalated"
    assert event["agent"] == SERVICE
    assert [a["assignee"]["id"] for a in event["data"]["assignments"]] == ["PSAMR00"]
    assert [a["id"] for a in event["data"]["assignees"]] == ["PSAMR00"]


# ---- the rules on their own ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    start_delay_in_minutes: int


@dataclass(frozen=True)
class _Method:
    type: str
    address: str


@dataclass(frozen=True)
class _User:
    id: str
    name: str

    def rules_for(self, urgency):
        return ((_Rule(0), _Method("push_notification_contact_method", "p")),) if urgency == "high" else ()


@dataclass(frozen=True)
class _Level:
    escalation_delay_in_minutes: int
    users: tuple
    oncalls: tuple = ()


@dataclass(frozen=True)
class _Plan:
    levels: tuple
    num_loops: int


ABOUT = escalation.About(7, "Disk full", "Acme Website", "high")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_policy_loops_num_loops_times_then_stays():
    plan = _Plan((_Level(5, (_User("A", "Ann"),)), _Level(10, (_User("B", "Bo"),))), num_loops=1)
    step = escalation.start(plan, ABOUT, NOW)
    positions = []
    while step is not None:
        positions.append((step.level, step.loops, step.assignees, step.next_at - NOW))
        step = escalation.escalate(plan, step.level, step.loops, ABOUT, NOW)
    assert positions == [(1, 0, (("A", "Ann"),), timedelta(minutes=5)), (2, 0, (("B", "Bo"),), timedelta(minutes=10)),
                         (1, 1, (("A", "Ann"),), timedelta(minutes=5)), (2, 1, (("B", "Bo"),), timedelta(minutes=10))]


def test_levels_nobody_covers_are_passed_over():
    plan = _Plan((_Level(5, ()), _Level(5, (_User("B", "Bo"),)), _Level(5, ())), num_loops=0)
    step = escalation.start(plan, ABOUT, NOW)
    assert (step.level, step.assignees) == (2, (("B", "Bo"),))
    assert escalation.escalate(plan, 2, 0, ABOUT, NOW) is None
    assert escalation.start(_Plan((_Level(5, ()),), 3), ABOUT, NOW) is None


def test_notifications_are_worded_as_pagerduty_words_them():
    assert escalation.text("push_notification", ABOUT) == "#7 Acme Website: Disk full"
    assert escalation.text("sms_notification", ABOUT) == (
        "ALRT #7 : You were assigned to an incident. Go to PagerDuty to learn more. Reply 4: Ack, 6: Resolve")
    (note,) = escalation.notifications([_User("A", "Ann")], ABOUT)
    assert (note.type, note.summary) == ("push_notification", "Notified Ann by push notification.")
    assert escalation.notifications([_User("A", "Ann")], escalation.About(7, "x", "y", "low")) == ()
