"""A partner's long suite with the in-process fixture (one app, a reset between tests) must not leave a WAL
of tens of megabytes in the temp folder: the reset, on the events connection (which never checkpoints a
batch's COMMIT), copies the WAL into the database once it is large (store/wal.py, `RESET_AUTOCHECKPOINT`),
so the next batch writes it again from its beginning. Here the background checkpointer is kept asleep, so
only the resets can keep the WAL small: without them it grew ~200 KB a test (~24 MB over these 120)."""

from __future__ import annotations

import os

from fake_pagerduty.reset import SandboxApp
from fake_pagerduty.settings import Settings
from fake_pagerduty.store import wal
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.rest_helpers import trigger

BASE = "http://sandbox.test"
ROUNDS = 120
MB = 1_000_000


async def test_a_long_suite_of_resets_and_triggers_keeps_the_wal_file_small(tmp_path, monkeypatch):
    monkeypatch.setattr(wal, "CHECKPOINT_SECONDS", 3600.0)  # only the resets checkpoint here
    settings = Settings(db_path=str(tmp_path / "sandbox.db"), public_url=BASE, sqlite_on_loop=True)
    wal_file = tmp_path / "sandbox.db-wal"
    largest = 0
    async with SandboxApp(settings) as sandbox:
        for n in range(ROUNDS):
            await sandbox.reset()
            async with sandbox.client(BASE) as client:
                await trigger(client, f"loop-{n}")
                waited = await client.get("/_sandbox/events/wait", params={"dedup_key": f"loop-{n}"})
                assert waited.json()["event"]["outcome"] == "created"
                listed = await client.get("/api/incidents", headers=REST_HEADERS)
                [incident] = listed.json()["incidents"]  # nothing lost, nothing left from the test before
                assert (incident["incident_key"], incident["incident_number"]) == (f"loop-{n}", 1)
            largest = max(largest, os.path.getsize(wal_file))
        conn = sandbox.app.state.store.events._events_conn
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # a batch's COMMIT never checkpoints
    assert largest < 8 * MB, f"the WAL reached {largest / MB:.1f} MB over {ROUNDS} tests"
