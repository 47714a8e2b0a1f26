"""Durability of the monitor's outbox: `kill -9` the monitor while events wait in its outbox (the sandbox is
down), start both again, and every event arrives exactly once, in order per incident key — the sandbox's
journal proves it."""

from __future__ import annotations

import sqlite3

import pytest

from e2e.conftest import SAMPLE_KEY, Stack, connect_directly, delivery
from e2e.servers import wait_for

pytestmark = pytest.mark.e2e

FAULTY = 6  # servers given a memory fault; half of them recover before the kill


def outbox(stack: Stack) -> dict[str, list[dict]]:
    """The monitor's events per incident key, in the order they were queued."""
    return {alert["incident_key"]: sorted(alert["events"], key=lambda e: (e["created_at"], e["event_type"] != "trigger"))
            for alert in stack.alerts()}


def test_kill_9_the_monitor_with_a_backlog_every_event_arrives_once_in_order(stack, tmp_path):
    connect_directly(stack)
    stack.sandbox.stop()  # nothing can be delivered: the outbox fills

    servers = [server["name"] for server in stack.monitor_json("/api/servers")["servers"]][:FAULTY]
    for name in servers:
        stack.set_fault(name, "memory_usage", 98)
    for name in servers:
        stack.wait_for_alert(name, lambda a: (delivery(a, "trigger") or {}).get("attempts", 0) >= 1,
                             "a failed trigger delivery")
    for name in servers[: FAULTY // 2]:
        stack.clear_fault(name)
    for name in servers[: FAULTY // 2]:
        stack.wait_for_alert(name, lambda a: delivery(a, "resolve") is not None, "a resolve queued behind it")

    backlog = outbox(stack)
    assert sum(len(events) for events in backlog.values()) >= FAULTY + FAULTY // 2
    assert all(event["status"] != "sent" for events in backlog.values() for event in events)

    stack.monitor.kill()  # kill -9, backlog in the outbox
    stack.sandbox.start()
    stack.monitor.start()  # same port, same database

    def drained():
        events = outbox(stack)
        done = all(e["status"] == "sent" for queued in events.values() for e in queued)
        return events if done and set(backlog) <= set(events) else None

    delivered = wait_for(drained, timeout=60, interval=0.3, what="the outbox drained after the restart")

    with sqlite3.connect(tmp_path / "sandbox.db") as db:
        journal = db.execute("SELECT dedup_key, action, response_status FROM events WHERE routing_key = ?"
                             " ORDER BY id", (SAMPLE_KEY,)).fetchall()
    assert all(200 <= status < 300 for _, _, status in journal), journal
    received: dict[str, list[str]] = {}
    for key, action, _ in journal:
        received.setdefault(key, []).append(action)
    for key, events in backlog.items():
        # Exactly once each, in the order the monitor queued them (what was queued before the kill included).
        sent = [e["event_type"] for e in delivered[key]]
        assert sent[: len(events)] == [e["event_type"] for e in events]
        assert received[key] == sent, (key, received.get(key), sent)
    assert set(received) == set(delivered)
