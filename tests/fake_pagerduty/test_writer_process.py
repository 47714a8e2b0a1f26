"""The events writer process (`fake-pagerduty serve`), what the events connection remembers between batches,
and the WAL under a steady stream, in either mode."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import sqlite3
import struct
import time

import httpx
import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.cli import build_parser, settings_from_args
from fake_pagerduty.settings import Settings
from fake_pagerduty.store import events_writer, wal
from fake_pagerduty.store.writer_process import WriterChannel
from tests.conftest import REST_HEADERS, SAMPLE_KEY

V2 = "/v2/enqueue"


def trigger(key: str, severity: str = "critical") -> dict:
    return {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": key,
            "payload": {"summary": f"{key} is down", "source": "web-01", "severity": severity}}


def query(settings: Settings, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture(params=["thread", "process"])
def sandbox_settings(request, tmp_path) -> Settings:  # conftest's sandbox_app and sandbox use it
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                    events_writer_process=request.param == "process")


def test_serve_writes_events_in_a_process_of_their_own():
    served = settings_from_args(build_parser().parse_args(["serve"]))
    assert (served.events_writer_process, served.sqlite_on_loop) == (True, False)  # many clients: threads
    one_client = settings_from_args(build_parser().parse_args(["serve", "--sqlite-on-loop"]))  # the plugin's
    assert (one_client.events_writer_process, one_client.sqlite_on_loop) == (False, True)
    assert Settings().events_writer_process is False  # in-process apps (tests, the pytest plugin) use a thread


async def test_a_change_by_another_connection_reaches_the_next_event(sandbox, sandbox_settings):
    """The events connection remembers integrations and incident numbers between batches; a commit by any
    other connection (here: another process's sqlite3, and the sandbox's own reset) makes it look again."""
    assert (await sandbox.post(V2, json=trigger("first", "info"))).status_code == 202
    with sqlite3.connect(sandbox_settings.db_path) as db:
        db.execute("UPDATE services SET urgency_rule = 'high'")
    assert (await sandbox.post(V2, json=trigger("second", "info"))).status_code == 202
    assert query(sandbox_settings, "SELECT incident_key, urgency, incident_number FROM incidents ORDER BY incident_number") == [
        ("first", "low", 1), ("second", "high", 2)]

    assert (await sandbox.post("/_sandbox/reset")).status_code == 200
    assert (await sandbox.post(V2, json=trigger("after reset"))).status_code == 202
    assert query(sandbox_settings, "SELECT incident_key, incident_number FROM incidents") == [("after reset", 1)]

    with sqlite3.connect(sandbox_settings.db_path) as db:
        db.execute("DELETE FROM integrations WHERE integration_key = ?", (SAMPLE_KEY,))
    assert (await sandbox.post(V2, json=trigger("gone"))).status_code == 202  # PagerDuty accepts, then drops
    assert query(sandbox_settings, "SELECT outcome FROM events ORDER BY id DESC LIMIT 1") == [("dropped",)]


async def test_rest_changes_and_events_interleave(sandbox, sandbox_settings):
    """A REST acknowledge (the other writer connection) between two triggers: numbering and dedup hold."""
    await sandbox.post(V2, json=trigger("a"))
    incident_id = query(sandbox_settings, "SELECT id FROM incidents")[0][0]
    answer = await sandbox.put(f"/api/incidents/{incident_id}", headers={**REST_HEADERS, "From": "demo@acme.test"},
                              json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    assert answer.status_code == 200, answer.text
    await asyncio.gather(*(sandbox.post(V2, json=trigger(key)) for key in ("a", "b", "a", "c")))
    assert query(sandbox_settings, "SELECT incident_key, status, incident_number FROM incidents ORDER BY incident_number") == [
        ("a", "acknowledged", 1), ("b", "triggered", 2), ("c", "triggered", 3)]


@pytest.mark.parametrize("sandbox_settings", ["process"], indirect=True)
async def test_a_killed_writer_process_is_replaced_and_events_go_on(sandbox_app, sandbox, sandbox_settings):
    store = sandbox_app.state.store
    assert (await sandbox.post(V2, json=trigger("before"))).status_code == 202
    first = store.events._writer_process.pid
    os.kill(first, signal.SIGKILL)
    async with asyncio.timeout(10):
        while store.events._writer_process is None or store.events._writer_process.pid == first:  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)
    answers = await asyncio.gather(*(sandbox.post(V2, json=trigger(f"after-{n}")) for n in range(20)))
    assert [a.status_code for a in answers] == [202] * 20
    assert query(sandbox_settings, "SELECT COUNT(*) FROM incidents") == [(21,)]


@pytest.mark.parametrize("sandbox_settings", ["process"], indirect=True)
async def test_a_writer_process_that_keeps_dying_hands_the_events_to_a_thread(sandbox_app, sandbox, sandbox_settings):
    """Killed again as soon as it is replaced, more times than it may be: events are then written on a thread
    of the server and still answered 202 — never a 500 for every event until a restart."""
    writer_store = sandbox_app.state.store
    killed = None
    for _ in range(events_writer.MAX_WRITER_RESTARTS + 1):
        async with asyncio.timeout(10):
            while writer_store.events._writer_process is None or writer_store.events._writer_process.pid == killed:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        killed = writer_store.events._writer_process.pid
        os.kill(killed, signal.SIGKILL)
    async with asyncio.timeout(10):
        while writer_store.events._use_writer_process:  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)
    answers = await asyncio.gather(*(sandbox.post(V2, json=trigger(f"on-thread-{n}")) for n in range(20)))
    assert [a.status_code for a in answers] == [202] * 20
    assert query(sandbox_settings, "SELECT COUNT(*) FROM incidents WHERE incident_key LIKE 'on-thread-%'") == [(20,)]


def test_the_channel_takes_messages_in_any_pieces_and_of_any_size():
    """What arrives from the writer process is framed as multiprocessing frames it, in pieces as the socket
    gives them: byte by byte, several in one read, one of 3 MB."""
    got = []
    channel = WriterChannel(got.append, lambda: None)
    messages = [[(True, 1)], [(False, "no")] * 3, [(True, "x" * 3_000_000)], None]
    stream = b"".join(_frame(m) for m in messages)
    for start in range(0, 200):
        channel.data_received(stream[start:start + 1])
    channel.data_received(stream[200:])
    assert got == messages


def _frame(value) -> bytes:
    data = pickle.dumps(value)
    return struct.pack("!i", len(data)) + data


@pytest.mark.parametrize("sandbox_settings", ["process"], indirect=True)
async def test_the_writer_process_ends_with_the_store(sandbox_settings):
    app = create_app(sandbox_settings)
    async with app.router.lifespan_context(app):
        process = app.state.store.events._writer_process._process
        assert process.poll() is None
    assert process.returncode == 0


async def test_faults_and_the_rate_limit_still_go_first(sandbox, sandbox_settings):
    """With a fault rule or the rate limit on, the handler parses the body itself for its keys; the writer
    then decides as always. Both modes answer and journal alike."""
    rule = await sandbox.post("/_sandbox/faults", json={"match": {"routing_key": SAMPLE_KEY}, "status": 503,
                                                        "count": 1})
    assert rule.status_code == 201, rule.text
    cut = await sandbox.post(V2, json=trigger("broken"))
    assert cut.status_code == 503
    assert (await sandbox.post(V2, json=trigger("broken"))).status_code == 202  # the rule fired its one time
    assert (await sandbox.put("/_sandbox/rate-limits", json={"enabled": True, "limit": 1})).status_code == 200
    assert (await sandbox.post(V2, json={"routing_key": SAMPLE_KEY})).status_code == 400  # counted, refused
    throttled = await sandbox.post(V2, json=trigger("late"))
    assert throttled.status_code == 429
    assert query(sandbox_settings, "SELECT dedup_key, outcome, response_status FROM events ORDER BY id") == [
        ("broken", "fault", 503), ("broken", "created", 202), (None, "rejected", 400), ("late", "rejected", 429)]


@pytest.mark.parametrize("mode", ["thread", "process"])
async def test_strict_mode_warns_in_both_modes(tmp_path, mode):
    settings = Settings(db_path=str(tmp_path / "sandbox.db"), strict=True, events_writer_process=mode == "process")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
            body = trigger("strict")
            body["payload"]["severity"] = "error"
            body["unexpected"] = True
            answer = await c.post(V2, json=body)
    assert answer.status_code == 202
    [(warnings, dedup_key)] = query(settings, "SELECT warnings, dedup_key FROM events")
    assert dedup_key == "strict" and "unexpected" in warnings


CHECKPOINT_INTERVAL = 0.05  # seconds between the checkpointer's rounds in the WAL test, instead of a second


@pytest.fixture
def fast_checkpoints(monkeypatch) -> None:  # requested before `sandbox`, so in force from the app's start
    monkeypatch.setattr(wal, "CHECKPOINT_SECONDS", CHECKPOINT_INTERVAL)


def wal_header(settings: Settings) -> tuple[int, int]:
    """(checkpoint sequence, file size): SQLite adds one to the sequence each time it starts the WAL again."""
    path = settings.db_path + "-wal"
    try:
        with open(path, "rb") as wal:
            head = wal.read(16)
        size = os.path.getsize(path)
    except FileNotFoundError:
        return -1, 0
    return (int.from_bytes(head[12:16], "big") if len(head) == 16 else -1), size


async def test_the_wal_starts_again_while_events_keep_coming_and_is_truncated_when_they_stop(
        fast_checkpoints, sandbox, sandbox_settings):
    """It grew by ~150 MB a second at full load before: a steady stream never let a checkpoint catch up."""
    sent, sequences, biggest = 0, set(), 0
    stop = asyncio.Event()

    async def client(n: int) -> None:
        nonlocal sent
        while not stop.is_set():
            event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": f"stream-{n}-{sent}",
                     "payload": {"summary": "disk full", "source": "web-01", "severity": "error"}}
            answer = await sandbox.post(V2, json=event)
            assert answer.status_code == 202, answer.text
            sent += 1

    clients = [asyncio.create_task(client(n)) for n in range(16)]
    deadline = time.monotonic() + 20
    try:
        while len(sequences) < 5 and time.monotonic() < deadline:  # events never stop coming meanwhile
            await asyncio.sleep(CHECKPOINT_INTERVAL / 5)
            sequence, size = wal_header(sandbox_settings)
            if sequence >= 0:
                sequences.add(sequence)
            biggest = max(biggest, size)
    finally:
        stop.set()
        await asyncio.gather(*clients)
    assert len(sequences) >= 5, f"the WAL started again {len(sequences) - 1} times in 20 s of events ({sent} events," \
        f" {biggest} bytes)"

    for _ in range(int(30 / CHECKPOINT_INTERVAL)):  # a quiet interval, then the checkpointer's next round truncates it
        if not wal_header(sandbox_settings)[1]:
            break
        await asyncio.sleep(CHECKPOINT_INTERVAL)
    assert wal_header(sandbox_settings)[1] == 0, "the WAL was not truncated once events stopped"
    # every event answered is there, WAL restarts and truncation notwithstanding
    assert query(sandbox_settings, "SELECT COUNT(*) FROM incidents WHERE incident_key LIKE 'stream-%'") == [(sent,)]
