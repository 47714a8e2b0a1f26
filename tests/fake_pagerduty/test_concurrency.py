"""Concurrent events: deduplication holds under a burst, racing actions end in a serial order's state,
and no "database is locked" (nor any other error) ever reaches a client.

Every test runs twice: events written on a thread of the server's process (in-process apps), and in the
writer process that `fake-pagerduty serve` uses."""

from __future__ import annotations

import asyncio
import random
import sqlite3

import pytest

from fake_pagerduty.domain.clock import iso
from fake_pagerduty.settings import Settings
from fake_pagerduty.store import JournalEntry
from tests.conftest import REST_HEADERS, SAMPLE_KEY

V1 = "/generic/2010-04-15/create_event.json"
V2 = "/v2/enqueue"
CHANGE = "/v2/change/enqueue"


@pytest.fixture(params=["thread", "process"])
def sandbox_settings(request, tmp_path) -> Settings:
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                    events_writer_process=request.param == "process")


def v2(action: str, key: str) -> dict:
    body = {"routing_key": SAMPLE_KEY, "event_action": action, "dedup_key": key}
    if action == "trigger":
        body["payload"] = {"summary": f"{key} is down", "source": "web-01", "severity": "critical"}
    return body


def query(settings, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql, params).fetchall()


async def test_200_concurrent_triggers_over_10_keys_open_exactly_10_incidents(sandbox, sandbox_settings):
    bodies = [v2("trigger", f"key-{i % 10}") for i in range(200)]
    random.Random(7).shuffle(bodies)
    answers = await asyncio.gather(*(sandbox.post(V2, json=body) for body in bodies))

    assert [a.status_code for a in answers] == [202] * 200
    assert {a.json()["dedup_key"] for a in answers} == {f"key-{i}" for i in range(10)}
    open_incidents = query(sandbox_settings, "SELECT incident_key FROM incidents WHERE status = 'triggered'")
    assert sorted(key for (key,) in open_incidents) == sorted(f"key-{i}" for i in range(10))
    assert query(sandbox_settings, "SELECT COUNT(*) FROM incidents") == [(10,)]
    assert query(sandbox_settings, "SELECT COUNT(*) FROM alerts WHERE status = 'triggered'") == [(10,)]
    assert query(sandbox_settings, "SELECT outcome, COUNT(*) FROM events GROUP BY outcome ORDER BY outcome") == [
        ("created", 10), ("deduplicated", 190)]
    # Incident numbers are 1..10 with no gap or duplicate.
    assert query(sandbox_settings, "SELECT incident_number FROM incidents ORDER BY 1") == [(n,) for n in range(1, 11)]


def serial_replay(actions: list[str]) -> tuple[list[str], list[str]]:
    """PagerDuty's rules applied one event at a time: (outcome of each event, final status of each incident)."""
    outcomes: list[str] = []
    statuses: list[str] = []  # one per incident, in creation order
    open_incident: int | None = None
    for action in actions:
        if action == "trigger":
            if open_incident is None:
                statuses.append("triggered")
                open_incident = len(statuses) - 1
                outcomes.append("created")
            else:
                outcomes.append("deduplicated")
        elif open_incident is None:
            outcomes.append("dropped")
        elif action == "acknowledge":
            statuses[open_incident] = "acknowledged"
            outcomes.append("acknowledged")
        else:
            statuses[open_incident] = "resolved"
            open_incident = None
            outcomes.append("resolved")
    return outcomes, statuses


async def test_racing_ack_resolve_trigger_on_one_key_ends_in_a_serial_orders_state(sandbox, sandbox_settings):
    rng = random.Random(11)
    for round_no in range(5):
        key = f"race-{round_no}"
        actions = ["trigger"] * 12 + ["acknowledge"] * 10 + ["resolve"] * 8
        rng.shuffle(actions)
        answers = await asyncio.gather(*(sandbox.post(V2, json=v2(action, key)) for action in actions))
        assert {a.status_code for a in answers} == {202}
        assert {a.json()["status"] for a in answers} == {"success"}

        # The journal's order is the order events took effect; replaying it serially must give the same
        # outcomes and the same incidents in the same states.
        journal = query(sandbox_settings, "SELECT action, outcome FROM events WHERE dedup_key = ? ORDER BY id", key)
        assert sorted(action for action, _ in journal) == sorted(actions)
        expected_outcomes, expected_statuses = serial_replay([action for action, _ in journal])
        assert [outcome for _, outcome in journal] == expected_outcomes
        statuses = query(sandbox_settings,
                         "SELECT status FROM incidents WHERE incident_key = ? ORDER BY incident_number", key)
        assert [status for (status,) in statuses] == expected_statuses
        # At most one open alert per key, whatever the interleaving.
        assert query(sandbox_settings, "SELECT COUNT(*) FROM alerts WHERE alert_key = ? AND status != 'resolved'",
                     key)[0][0] <= 1


async def test_no_client_ever_sees_a_database_error_under_mixed_concurrent_writes(sandbox, sandbox_app,
                                                                                   sandbox_settings):
    """Events on all three endpoints, rejected events, store transactions and the timeout sweep, all at once."""
    store, clock = sandbox_app.state.store, sandbox_app.state.clock

    async def sweep_timeouts() -> None:
        for _ in range(20):
            clock.advance(3600)  # past every acknowledgement timeout, soon past auto-resolve
            await store.incidents.apply_due_timeouts(clock.now())
            await asyncio.sleep(0)

    async def other_writes() -> None:
        for i in range(20):
            await store.services.upsert(id=f"PSVC{i:03d}", account_id="PACME00", name=f"Service {i}", now=clock.now())

    requests = []
    for i in range(300):
        key = f"mixed-{i % 7}"
        kind = i % 6
        if kind == 0:
            requests.append((V1, {"service_key": SAMPLE_KEY, "event_type": "trigger", "incident_key": key,
                                  "description": "v1 trigger"}))
        elif kind == 1:
            requests.append((CHANGE, {"routing_key": SAMPLE_KEY, "payload": {"summary": "deploy", "source": "ci"}}))
        elif kind == 2:
            requests.append((V2, {"routing_key": SAMPLE_KEY, "event_action": "explode"}))  # rejected, journaled
        else:
            requests.append((V2, v2(("trigger", "acknowledge", "resolve")[kind - 3], key)))
    answers, *_ = await asyncio.gather(
        asyncio.gather(*(sandbox.post(path, json=body) for path, body in requests)),
        sweep_timeouts(),
        other_writes(),
    )
    for (path, body), answer in zip(requests, answers, strict=True):
        expected = 400 if body.get("event_action") == "explode" else (200 if path == V1 else 202)
        assert answer.status_code == expected, answer.text
        assert "locked" not in answer.text.lower()
    assert query(sandbox_settings, "SELECT COUNT(*) FROM events") == [(300,)]
    assert query(sandbox_settings, "SELECT COUNT(*) FROM services WHERE name LIKE 'Service %'") == [(20,)]


@pytest.mark.parametrize("sandbox_settings", ["thread"], indirect=True)  # a local function cannot cross processes
async def test_a_write_that_fails_spoils_nothing_else_in_its_batch(sandbox_app, sandbox_settings):
    """Group commit applies queued events in one transaction, each in a savepoint: one failing write is
    rolled back alone and its caller hears of it; the others commit and are answered."""
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()

    def entry(n: int) -> JournalEntry:
        return JournalEntry(received_at=iso(now), api="v2", method="POST", path=V2, content_type="application/json",
                            raw_body=b"{}", response_status=400, response_body="{}", outcome="rejected",
                            outcome_detail=f"batch test {n}")

    def failing(conn):
        conn.execute("INSERT INTO events (received_at, api, method, path, response_status, response_body, outcome,"
                     " outcome_detail) VALUES ('x', 'v2', 'POST', '/v2/enqueue', 400, '{}', 'rejected', 'half')")
        raise RuntimeError("disk on fire")

    results = await asyncio.gather(
        store.events.record(entry(1)),
        store.events._submit(failing),
        store.events.record(entry(2)),
        return_exceptions=True,
    )
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], RuntimeError)
    assert query(sandbox_settings, "SELECT outcome_detail FROM events ORDER BY id") == [
        ("batch test 1",), ("batch test 2",)]


async def test_a_journal_write_that_fails_spoils_nothing_else_in_its_batch(sandbox_app, sandbox_settings):
    """The same in both modes, with a write the store itself makes: the failing one's error reaches its
    caller (across the process boundary too), the others in its batch commit."""
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()

    def entry(n: int, received_at: str | None) -> JournalEntry:
        return JournalEntry(received_at=received_at, api="v2", method="POST", path=V2,
                            content_type="application/json", raw_body=b"{}", response_status=400,
                            response_body="{}", outcome="rejected", outcome_detail=f"batch test {n}")

    results = await asyncio.gather(
        *(store.events.record(entry(n, None if n == 2 else iso(now))) for n in range(1, 5)),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert all(isinstance(results[n], int) for n in (0, 2, 3))
    assert query(sandbox_settings, "SELECT outcome_detail FROM events ORDER BY id") == [
        ("batch test 1",), ("batch test 3",), ("batch test 4",)]


async def test_rest_writes_get_their_turn_during_a_steady_stream_of_events(sandbox, sandbox_settings):
    """The events writer keeps the write lock while events keep coming, but not once another write waits:
    REST acknowledgements land while 16 clients never stop sending triggers."""
    assert (await sandbox.post(V2, json=v2("trigger", "to-acknowledge"))).status_code == 202
    (incident_id,) = query(sandbox_settings, "SELECT id FROM incidents WHERE incident_key = 'to-acknowledge'")[0]
    answered = 0
    flowing, stop = asyncio.Event(), asyncio.Event()

    async def client(n: int) -> None:
        nonlocal answered
        i = 0
        while not stop.is_set():
            i += 1
            assert (await sandbox.post(V2, json=v2("trigger", f"stream-{n}-{i}"))).status_code == 202
            answered += 1
            if answered >= 200:
                flowing.set()

    clients = [asyncio.create_task(client(n)) for n in range(16)]
    try:
        await flowing.wait()
        for status in ("acknowledged", "resolved"):
            answer = await asyncio.wait_for(sandbox.put(
                f"/api/incidents/{incident_id}", headers={**REST_HEADERS, "From": "demo@acme.test"},
                json={"incident": {"type": "incident_reference", "status": status}}), timeout=20)
            assert answer.status_code == 200, answer.text
            assert answer.json()["incident"]["status"] == status
    finally:
        stop.set()
        await asyncio.gather(*clients)
    assert query(sandbox_settings, "SELECT COUNT(*) FROM incidents WHERE incident_key LIKE 'stream-%'") == [(answered,)]
