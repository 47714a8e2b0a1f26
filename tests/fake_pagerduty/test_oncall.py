"""Who is on call (domain/oncall.py): rotations across turns, restrictions, overrides, time zones and a
daylight-saving change, layers' precedence, escalation levels; and the seeded demo people as the store and
the events writer's connection load them (escalation_plans.py)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from fake_pagerduty import seed, seed_people
from fake_pagerduty.domain import oncall
from fake_pagerduty.domain.oncall import Entry, Layer, OnCall, Override, Restriction, Rule, Schedule, Target
from fake_pagerduty.domain.rest_query import Page
from fake_pagerduty.store import Store
from fake_pagerduty.store.escalation_plans import sync_escalation_plan, sync_service_plan

H = 3600
DAY = 86400


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def layer(users, *, turn=DAY, virtual="2026-01-05T00:00:00Z", start="2026-01-01T00:00:00Z", end=None,
          restrictions=(), position=0, id="L1"):
    return Layer(id=id, start=t(start), end=t(end) if end else None, rotation_virtual_start=t(virtual),
                 rotation_turn_length_seconds=turn, user_ids=tuple(users), restrictions=tuple(restrictions),
                 position=position)


def entries(*rows):
    return [Entry(t(a), t(b), u) for a, b, u in rows]


def test_a_daily_rotation_hands_off_at_each_turn_and_wraps_around():
    got = oncall.layer_entries(layer(["A", "B", "C"]), "UTC", t("2026-01-05T12:00:00Z"), t("2026-01-09T00:00:00Z"))
    assert got == entries(("2026-01-05T12:00:00Z", "2026-01-06T00:00:00Z", "A"),
                          ("2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z", "B"),
                          ("2026-01-07T00:00:00Z", "2026-01-08T00:00:00Z", "C"),
                          ("2026-01-08T00:00:00Z", "2026-01-09T00:00:00Z", "A"))


def test_turns_count_backwards_from_a_virtual_start_in_the_future_and_the_layer_start_clips():
    rotation = layer(["A", "B", "C"], virtual="2026-01-10T00:00:00Z", start="2026-01-08T06:00:00Z")
    got = oncall.layer_entries(rotation, "UTC", t("2026-01-08T00:00:00Z"), t("2026-01-10T12:00:00Z"))
    # 01-09 is turn -1 (C), 01-08 turn -2 (B); nothing before the layer's start
    assert got == entries(("2026-01-08T06:00:00Z", "2026-01-09T00:00:00Z", "B"),
                          ("2026-01-09T00:00:00Z", "2026-01-10T00:00:00Z", "C"),
                          ("2026-01-10T00:00:00Z", "2026-01-10T12:00:00Z", "A"))


def test_a_layer_end_stops_it_and_a_one_person_layer_is_one_entry():
    got = oncall.layer_entries(layer(["A"], turn=H, end="2026-01-06T03:00:00Z"), "UTC",
                               t("2026-01-06T00:00:00Z"), t("2026-01-07T00:00:00Z"))
    assert got == entries(("2026-01-06T00:00:00Z", "2026-01-06T03:00:00Z", "A"))


def test_a_twelve_hour_rotation_is_counted_in_seconds():
    got = oncall.layer_entries(layer(["A", "B"], turn=12 * H, virtual="2026-01-05T08:00:00Z"), "UTC",
                               t("2026-01-05T00:00:00Z"), t("2026-01-06T00:00:00Z"))
    assert got == entries(("2026-01-05T00:00:00Z", "2026-01-05T08:00:00Z", "B"),
                          ("2026-01-05T08:00:00Z", "2026-01-05T20:00:00Z", "A"),
                          ("2026-01-05T20:00:00Z", "2026-01-06T00:00:00Z", "B"))


def test_a_daily_restriction_covers_working_hours_in_the_schedules_time_zone():
    working_hours = Restriction("daily_restriction", "09:00:00", 8 * H)
    rotation = layer(["A", "B"], restrictions=[working_hours])
    got = oncall.layer_entries(rotation, "America/New_York", t("2026-01-05T00:00:00Z"), t("2026-01-07T00:00:00Z"))
    # 09:00–17:00 New York (UTC-5) is 14:00–22:00 UTC; the daily handoff is at midnight UTC (the virtual start)
    assert got == entries(("2026-01-05T14:00:00Z", "2026-01-05T22:00:00Z", "A"),
                          ("2026-01-06T14:00:00Z", "2026-01-06T22:00:00Z", "B"))


def test_a_weekly_restriction_opens_once_a_week_and_may_span_days():
    weekend = Restriction("weekly_restriction", "18:00:00", 2 * DAY + 14 * H, start_day_of_week=5)  # Fri 18:00 → Mon 08:00
    rotation = layer(["A", "B"], turn=7 * DAY, restrictions=[weekend])
    got = oncall.layer_entries(rotation, "UTC", t("2026-01-05T00:00:00Z"), t("2026-01-19T00:00:00Z"))
    assert got == entries(("2026-01-05T00:00:00Z", "2026-01-05T08:00:00Z", "A"),  # the weekend before, ending
                          ("2026-01-09T18:00:00Z", "2026-01-12T00:00:00Z", "A"),  # the weekly handoff is Monday 00:00
                          ("2026-01-12T00:00:00Z", "2026-01-12T08:00:00Z", "B"),
                          ("2026-01-16T18:00:00Z", "2026-01-19T00:00:00Z", "B"))


def test_a_daily_handoff_stays_at_nine_local_across_the_spring_daylight_saving_change():
    rotation = layer(["A", "B"], virtual="2026-03-01T14:00:00Z")  # 09:00 in New York (EST)
    got = oncall.layer_entries(rotation, "America/New_York", t("2026-03-07T00:00:00Z"), t("2026-03-10T00:00:00Z"))
    # 8 March 2026 is the change: 09:00 EST is 14:00 UTC, 09:00 EDT is 13:00 UTC
    assert [e.start for e in got] == [t("2026-03-07T00:00:00Z"), t("2026-03-07T14:00:00Z"),
                                      t("2026-03-08T13:00:00Z"), t("2026-03-09T13:00:00Z")]
    assert [e.user_id for e in got] == ["B", "A", "B", "A"]


def test_a_restriction_follows_local_time_across_the_autumn_change():
    night = Restriction("daily_restriction", "22:00:00", 2 * H)
    rotation = layer(["A"], restrictions=[night])
    got = oncall.layer_entries(rotation, "Europe/London", t("2026-10-24T00:00:00Z"), t("2026-10-27T00:00:00Z"))
    # London: BST (UTC+1) until 25 October 2026 01:00 UTC, then GMT
    assert got == entries(("2026-10-24T21:00:00Z", "2026-10-24T23:00:00Z", "A"),
                          ("2026-10-25T22:00:00Z", "2026-10-26T00:00:00Z", "A"),
                          ("2026-10-26T22:00:00Z", "2026-10-27T00:00:00Z", "A"))


def _two_layers() -> Schedule:
    bottom = layer(["A", "B"], id="L1", position=0)
    top = layer(["X"], id="L2", position=1, restrictions=[Restriction("daily_restriction", "09:00:00", 8 * H)])
    return Schedule("S1", "UTC", (bottom, top), (
        Override("O1", "Z", t("2026-01-05T12:00:00Z"), t("2026-01-05T13:00:00Z")),
        Override("O2", "Y", t("2026-01-05T12:30:00Z"), t("2026-01-05T14:00:00Z")),
    ))


def test_the_higher_layer_wins_where_it_has_someone_and_overrides_win_over_all():
    got = oncall.final_entries(_two_layers(), t("2026-01-05T00:00:00Z"), t("2026-01-06T06:00:00Z"))
    assert got == entries(("2026-01-05T00:00:00Z", "2026-01-05T09:00:00Z", "A"),
                          ("2026-01-05T09:00:00Z", "2026-01-05T12:00:00Z", "X"),
                          ("2026-01-05T12:00:00Z", "2026-01-05T12:30:00Z", "Z"),
                          ("2026-01-05T12:30:00Z", "2026-01-05T14:00:00Z", "Y"),  # the later override
                          ("2026-01-05T14:00:00Z", "2026-01-05T17:00:00Z", "X"),
                          ("2026-01-05T17:00:00Z", "2026-01-06T00:00:00Z", "A"),
                          ("2026-01-06T00:00:00Z", "2026-01-06T06:00:00Z", "B"))
    assert oncall.overrides_entries(_two_layers(), t("2026-01-05T12:15:00Z"), t("2026-01-06T00:00:00Z")) == entries(
        ("2026-01-05T12:15:00Z", "2026-01-05T12:30:00Z", "Z"), ("2026-01-05T12:30:00Z", "2026-01-05T14:00:00Z", "Y"))


def test_on_call_at_an_instant_gives_the_whole_stretch():
    schedule = _two_layers()
    assert oncall.on_call_at(schedule, t("2026-01-05T20:00:00Z")) == Entry(
        t("2026-01-05T17:00:00Z"), t("2026-01-06T00:00:00Z"), "A")
    assert oncall.on_call_at(Schedule("S2", "UTC", ()), t("2026-01-05T20:00:00Z")) is None


def test_oncall_for_policy_lists_each_level_once_per_user():
    rules = [Rule(5, (Target("schedule_reference", "S1"), Target("user_reference", "A"))),
             Rule(10, (Target("user_reference", "B"), Target("schedule_reference", "nope")))]
    levels = oncall.oncall_for_policy(rules, {"S1": _two_layers()}, t("2026-01-05T20:00:00Z"))
    assert levels == [[OnCall(1, "A", "S1", t("2026-01-05T17:00:00Z"), t("2026-01-06T00:00:00Z"))],
                      [OnCall(2, "B")]]


def test_a_turn_length_of_zero_is_refused():
    with pytest.raises(ValueError):
        oncall.layer_entries(layer(["A"], turn=0), "UTC", t("2026-01-05T00:00:00Z"), t("2026-01-06T00:00:00Z"))


def test_seed_times_are_relative_to_the_seeding_day():
    now = t("2026-02-11T17:45:00Z")
    assert seed_people.moment("seed_day", now) == "2026-02-11T00:00:00Z"
    assert seed_people.moment("seed_day+7d", now) == "2026-02-18T00:00:00Z"
    assert seed_people.moment("seed_day-1d", now) == "2026-02-10T00:00:00Z"
    assert seed_people.moment("2026-01-01T00:00:00Z", now) == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("hours_later", [0, 23, 24 * 6 + 23])
async def test_the_seeded_policy_reaches_dana_now_then_sam_whatever_the_day(tmp_path, hours_later):
    seeded_at = datetime.now(UTC).replace(microsecond=0)
    at = seed_people.seed_day(seeded_at) + timedelta(hours=hours_later)
    store = Store(str(tmp_path / "sandbox.db"))
    await store.open()
    try:
        await seed.seed_sandbox(store, None, seeded_at)
        plan = await store.people.escalation_plan("PACME00", seed_people.POLICY, at)
        assert (await store.services.get("PACME00", "PWEBS00"))["escalation_policy_id"] == seed_people.POLICY
    finally:
        await store.close()
    assert (plan.name, plan.num_loops) == ("Acme Website On-Call", 0)
    assert [(lv.level, lv.escalation_delay_in_minutes, [u.name for u in lv.users]) for lv in plan.levels] == [
        (1, 5, ["Dana Demo"]), (2, 5, ["Sam Rivera"])]
    dana = plan.levels[0].users[0]
    assert [(r.start_delay_in_minutes, m.type) for r, m in dana.rules_for("high")] == [
        (0, "push_notification_contact_method"), (0, "sms_contact_method"), (5, "phone_contact_method")]
    assert plan.levels[0].oncalls[0].end == seed_people.seed_day(seeded_at) + timedelta(days=7)

    conn = sqlite3.connect(str(tmp_path / "sandbox.db"))  # the events writer's kind of connection
    conn.row_factory = sqlite3.Row
    try:
        assert sync_escalation_plan(conn, "PACME00", seed_people.POLICY, at) == plan
        assert sync_service_plan(conn, "PWEBS00", at) == plan
        assert sync_escalation_plan(conn, "PACME00", "PNOPE00", at) is None
        assert sync_escalation_plan(conn, "POTHER0", seed_people.POLICY, at) is None  # another account's
    finally:
        conn.close()


async def test_a_week_later_sam_holds_the_primary_schedule(tmp_path):
    seeded_at = datetime.now(UTC)
    store = Store(":memory:", inline=True)
    await store.open()
    try:
        await seed.seed_sandbox(store, None, seeded_at)
        plan = await store.people.escalation_plan("PACME00", seed_people.POLICY, seeded_at + timedelta(days=7))
        await seed.seed_sandbox(store, None, seeded_at, missing_only=True)  # a plain reset changes nothing
        assert [p["name"] for p in await store.people.priorities("PACME00")] == ["P1", "P2", "P3", "P4", "P5"]
    finally:
        await store.close()
    assert [u.name for u in plan.levels[0].users] == ["Sam Rivera"]


async def test_a_seed_file_describes_an_accounts_people_too(tmp_path):
    seed_file = tmp_path / "globex.json"
    seed_file.write_text(json.dumps({"accounts": [{
        "subdomain": "globex", "name": "Globex",
        "users": [{"id": "PHANK00", "name": "Hank", "email": "hank@globex.test", "password": "secret",
                   "time_zone": "Europe/Paris",
                   "contact_methods": [{"id": "PHANKCS", "type": "sms_contact_method", "label": "Mobile",
                                        "address": "5550199", "country_code": 33}],
                   "notification_rules": [{"id": "PHANKRS", "contact_method": "PHANKCS", "urgency": "high"}]}],
        "services": [{"name": "Payments"}],
        "schedules": [{"id": "PGLOB00", "name": "Globex Primary", "time_zone": "Europe/Paris", "layers": [
            {"id": "PGLOBL1", "start": "seed_day-7d", "rotation_virtual_start": "seed_day",
             "rotation_turn_length_seconds": 86400, "users": ["PHANK00"]}]}],
        "escalation_policies": [{"id": "PGLOBEP", "name": "Globex On-Call", "default": True, "services": ["Payments"],
                                 "rules": [{"id": "PGLOBR1", "escalation_delay_in_minutes": 10,
                                            "targets": [{"type": "schedule_reference", "id": "PGLOB00"}]}]}],
    }]}))
    now = datetime.now(UTC)
    store = Store(":memory:", inline=True)
    await store.open()
    try:
        await seed.seed_sandbox(store, seed_file, now)
        account = await store.accounts.by_subdomain("globex")
        (service,), _, _ = await store.services.page(account["id"], Page(10, 0, False))
        plan = await store.people.service_plan(service["id"], now)
        (made,) = await store.services.connect(account_id=account["id"], vendor_key="demo-monitor",
                                               integration_name="Demo Monitor", new_names=["Alerts"],
                                               existing_ids=[], now=now)
        await seed.seed_sandbox(store, seed_file, now, defaults=False)  # the file again, as at every start
        again = await store.services.get(account["id"], made["service_id"])
    finally:
        await store.close()
    assert again["escalation_policy_id"] == "PGLOBEP"  # the policy was updated in place, not made again
    assert (plan.policy_id, plan.levels[0].escalation_delay_in_minutes) == ("PGLOBEP", 10)
    (hank,) = plan.levels[0].users
    assert (hank.name, [(r.urgency, m.type, m.country_code) for r, m in hank.rules_for("high")]) == (
        "Hank", [("high", "sms_contact_method", 33)])


async def test_services_a_handshake_makes_follow_the_accounts_default_policy():
    now = datetime.now(UTC)
    store = Store(":memory:", inline=True)
    await store.open()
    try:
        await seed.seed_sandbox(store, None, now)
        (made,) = await store.services.connect(account_id="PACME00", vendor_key="demo-monitor",
                                               integration_name="Demo Monitor", new_names=["Monitor alerts"],
                                               existing_ids=[], now=now)
        service = await store.services.get("PACME00", made["service_id"])
        plan = await store.people.service_plan(made["service_id"], now)
    finally:
        await store.close()
    assert service["escalation_policy_id"] == seed_people.POLICY
    assert [u.name for u in plan.levels[0].users] == ["Dana Demo"]
