"""The WAL under a steady stream of events: it starts again from its beginning while events keep coming,
and it is truncated once they stop (it grew by ~150 MB a second at full load before)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

import pytest

from fake_pagerduty import store
from fake_pagerduty.settings import Settings
from tests.conftest import SAMPLE_KEY

V2 = "/v2/enqueue"
INTERVAL = 0.05  # seconds between the checkpointer's rounds, instead of a second


@pytest.fixture(params=["thread", "process"])
def sandbox_settings(request, tmp_path, monkeypatch) -> Settings:  # conftest's sandbox_app and sandbox use it
    monkeypatch.setattr(store, "CHECKPOINT_SECONDS", INTERVAL)
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test",
                    events_writer_process=request.param == "process")


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
        sandbox, sandbox_settings):
    sent, restarts, biggest, first = 0, set(), 0, None
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
        while len(restarts) < 4 and time.monotonic() < deadline:  # events never stop coming meanwhile
            await asyncio.sleep(INTERVAL / 5)
            sequence, size = wal_header(sandbox_settings)
            first = sequence if first is None else first
            restarts.add(sequence)
            biggest = max(biggest, size)
    finally:
        stop.set()
        await asyncio.gather(*clients)
    assert len(restarts) >= 4, f"the WAL never started again in 20 s of events ({sent} events, {biggest} bytes)"

    for _ in range(int(30 / INTERVAL)):  # a quiet interval, then the checkpointer's next round truncates it
        if not wal_header(sandbox_settings)[1]:
            break
        await asyncio.sleep(INTERVAL)
    assert wal_header(sandbox_settings)[1] == 0, "the WAL was not truncated once events stopped"
    with sqlite3.connect(sandbox_settings.db_path) as db:
        (incidents,) = db.execute("SELECT COUNT(*) FROM incidents WHERE incident_key LIKE 'stream-%'").fetchone()
    assert incidents == sent  # every event answered is there, WAL restarts and truncation notwithstanding
