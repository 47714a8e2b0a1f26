"""The harness itself: a real sandbox process answers PagerDuty's Events API on its port, and a server that
cannot start fails fast with its own log."""

from __future__ import annotations

import json

import httpx
import pytest

from fake_pagerduty.server_process import ServerFailed, ServerProcess

SAMPLE_KEY = "e93facc04764012d7bfb002500d5d1a6"


def test_sandbox_process_accepts_events_api_v1_and_v2(sandbox_server):
    v2 = httpx.post(f"{sandbox_server.url}/v2/enqueue", json={
        "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "e2e-harness-1",
        "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"},
    })
    assert v2.status_code == 202
    assert v2.json() == {"status": "success", "message": "Event processed", "dedup_key": "e2e-harness-1"}

    v1 = httpx.post(f"{sandbox_server.url}/generic/2010-04-15/create_event.json", json={
        "service_key": SAMPLE_KEY, "event_type": "acknowledge", "incident_key": "e2e-harness-1",
    })
    assert v1.status_code == 200
    assert v1.json() == {"status": "success", "message": "Event processed", "incident_key": "e2e-harness-1"}


def test_a_server_that_cannot_start_fails_fast_with_its_log(tmp_path):
    seed = tmp_path / "broken-seed.json"
    seed.write_text(json.dumps(["not", "an", "object"]))
    server = ServerProcess(
        "sandbox", ["-m", "fake_pagerduty", "serve", "--port", "{port}", "--db", str(tmp_path / "s.db"),
                    "--seed", str(seed)],
        log_path=tmp_path / "sandbox.log",
    )
    with pytest.raises(ServerFailed) as failure:
        server.start()
    message = str(failure.value)
    assert message.startswith("sandbox exited with code 2 before it came up (")
    assert "its log:\n" in message
    assert f"seed file {seed} must hold an object" in message
    assert not server.running
