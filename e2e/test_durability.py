"""Durability: `kill -9` the sandbox in the middle of a stream of 5,000 events and start it again.

Every event that was answered 2xx is in the journal with its effect on incidents; nothing is half-written
(an incident without its alert or log entry, a journal row without its effect, a broken database)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from fake_pagerduty.server_process import ServerProcess

pytestmark = pytest.mark.e2e

SAMPLE_KEY = "e93facc04764012d7bfb002500d5d1a6"
EVENTS = 5_000
KILL_AFTER = 2_000  # answered events before the kill
WORKERS = 16


def sandbox(directory: Path) -> ServerProcess:
    """The sandbox on a free port (kept for its restarts)."""
    return ServerProcess(
        "sandbox", ["-m", "fake_pagerduty", "serve", "--port", "{port}", "--db", str(directory / "sandbox.db")],
        log_path=directory / "sandbox.log", ready_path="/login",
    )


def event(seq: int) -> dict:
    """A stream mixing new incidents, deduplication and acknowledge/resolve on 50 recurring keys. Each body is
    unique (`client` carries the sequence number) so the journal row of every request can be found."""
    kind = seq % 5
    if kind in (0, 1):
        key, action = f"unique-{seq}", "trigger"
    else:
        key, action = f"recurring-{seq % 50}", ("trigger", "acknowledge", "resolve")[kind - 2]
    body = {"routing_key": SAMPLE_KEY, "event_action": action, "dedup_key": key, "client": f"seq-{seq}"}
    if action == "trigger":
        body["payload"] = {"summary": f"{key} is down", "source": "durability", "severity": "error"}
    return body


def stream(url: str, killed: threading.Event, answered_enough: threading.Event) -> tuple[dict[int, int], list[threading.Thread]]:
    """Send the events; returns {seq: status} for every request that got an answer."""
    return send_from_threads(url, [event(seq) for seq in range(EVENTS)], WORKERS, KILL_AFTER, killed,
                             answered_enough)


def send_from_threads(url: str, bodies: list[dict], workers: int, enough: int, killed: threading.Event,
                      answered_enough: threading.Event) -> tuple[dict[int, int], list[threading.Thread]]:
    """Post `bodies` to /v2/enqueue in order from `workers` threads, each with its own connection, until all
    are sent or `killed` is set; returns ({index: status} for every request answered, the threads), once
    `enough` were answered (`answered_enough` is set then). (Threads, not asyncio: e2e runs in the same session
    as Playwright's sync API.)"""
    answers: dict[int, int] = {}
    queue = list(range(len(bodies)))
    queue.reverse()
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not killed.is_set():
                with lock:
                    if not queue:
                        return
                    seq = queue.pop()
                try:
                    response = client.post("/v2/enqueue", json=bodies[seq])
                except httpx.HTTPError:
                    continue  # no answer: it may or may not have been applied
                with lock:
                    answers[seq] = response.status_code
                    if len(answers) >= enough:
                        answered_enough.set()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    answered_enough.wait(60)
    return answers, threads


def replay(actions: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The incidents PagerDuty's rules make of the journal, applied in its order: {key: [status, …]}."""
    incidents: dict[str, list[str]] = {}
    open_key: dict[str, int] = {}
    for key, action in actions:
        statuses = incidents.setdefault(key, [])
        if action == "trigger":
            if key not in open_key:
                statuses.append("triggered")
                open_key[key] = len(statuses) - 1
        elif key in open_key:
            statuses[open_key[key]] = "acknowledged" if action == "acknowledge" else "resolved"
            if action == "resolve":
                del open_key[key]
    return {key: statuses for key, statuses in incidents.items() if statuses}


def test_kill_9_mid_stream_loses_no_answered_event_and_leaves_nothing_half_written(tmp_path):
    server = sandbox(tmp_path).start()
    try:
        killed, answered_enough = threading.Event(), threading.Event()
        answers, threads = stream(server.url, killed, answered_enough)
        assert answered_enough.is_set(), "the stream stalled before the kill"
        server.kill()  # kill -9, mid-stream: requests are in flight
        killed.set()
        for thread in threads:
            thread.join()

        assert len(answers) >= KILL_AFTER
        assert set(answers.values()) == {202}, "every answer before the kill was a success"

        server.start()  # the same database, after a crash
        with sqlite3.connect(tmp_path / "sandbox.db") as db:
            db.row_factory = sqlite3.Row
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
            journal = db.execute(
                "SELECT id, json_extract(raw_body, '$.client') AS client, dedup_key, action, outcome, incident_id,"
                " alert_id FROM events ORDER BY id").fetchall()
            incidents = db.execute("SELECT id, incident_key, status FROM incidents ORDER BY incident_number").fetchall()
            alerts = {row["id"]: row for row in db.execute("SELECT id, incident_id, status FROM alerts")}
            logged = {row[0] for row in db.execute("SELECT event_id FROM log_entries WHERE event_id IS NOT NULL")}
    finally:
        server.stop()

    # Every answered event is in the journal (and nothing the client never sent is).
    journaled = {int(row["client"].removeprefix("seq-")) for row in journal}
    assert set(answers) <= journaled
    assert len(journaled) == len(journal), "each request journaled once"
    assert len(journal) < EVENTS, "the kill really happened mid-stream"

    # Each journal row's effect is there, entire: an incident for each `created`, its alert, a log entry.
    created = [row for row in journal if row["outcome"] == "created"]
    assert len(created) == len(incidents)
    assert {row["incident_id"] for row in created} == {incident["id"] for incident in incidents}
    for row in journal:
        if row["outcome"] in ("created", "deduplicated", "acknowledged", "resolved"):
            assert row["id"] in logged, f"journal row {row['id']} has no log entry"
            assert alerts[row["alert_id"]]["incident_id"] == row["incident_id"]
        else:
            assert row["outcome"] == "dropped", dict(row)
            assert row["id"] not in logged

    # And the incidents are exactly what the journal's events, applied in order, make.
    expected = replay([(row["dedup_key"], row["action"]) for row in journal])
    actual: dict[str, list[str]] = {}
    for incident in incidents:
        actual.setdefault(incident["incident_key"], []).append(incident["status"])
    assert actual == expected
    for alert in alerts.values():
        status = next(i["status"] for i in incidents if i["id"] == alert["incident_id"])
        assert (alert["status"] == "resolved") == (status == "resolved")
