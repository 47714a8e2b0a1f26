"""Webhooks as durable as events: `kill -9` the sandbox during a stream of acknowledges with a subscription,
start it again, and every committed incident change has its delivery — one delivery row each, sent to the
receiver (a resend after the crash carries the same X-Webhook-Id, which receivers deduplicate on)."""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from e2e.conftest import REST_HEADERS, SAMPLE_KEY
from e2e.servers import wait_for
from e2e.test_durability import sandbox, send_from_threads
from fake_pagerduty.server_process import ServerProcess

pytestmark = pytest.mark.e2e

INCIDENTS = 300
KILL_AFTER = 120  # acknowledges answered before the kill
WORKERS = 8


class Receiver:
    """A webhook receiver on 127.0.0.1 that stays up throughout: records (X-Webhook-Id, event id, type,
    incident id) of every delivery and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str, str]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    received.append((self.headers["X-Webhook-Id"], body["event"]["id"],
                                     body["event"]["event_type"], body["event"]["data"]["id"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/pagerduty"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_kill_9_during_acknowledges_every_committed_change_is_delivered_once(tmp_path):
    with Receiver() as receiver:
        server: ServerProcess = sandbox(tmp_path).start()
        try:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                created = client.post("/api/webhook_subscriptions", headers=REST_HEADERS, json={"webhook_subscription": {
                    "type": "webhook_subscription",
                    "delivery_method": {"type": "http_delivery_method", "url": receiver.url},
                    "events": ["incident.triggered", "incident.acknowledged"],
                    "filter": {"type": "account_reference", "id": "PACME00"}}})
                assert created.status_code == 200, created.text
                keys = [f"durable-{n}" for n in range(INCIDENTS)]
                for key in keys:
                    assert client.post("/v2/enqueue", json={
                        "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": key,
                        "payload": {"summary": f"{key} is down", "source": "web-01", "severity": "error"}},
                    ).status_code == 202

            killed, enough = threading.Event(), threading.Event()
            acknowledges = [{"routing_key": SAMPLE_KEY, "event_action": "acknowledge", "dedup_key": key} for key in keys]
            answered, threads = send_from_threads(server.url, acknowledges, WORKERS, KILL_AFTER, killed, enough)
            answers = {keys[n]: status for n, status in answered.items()}
            assert enough.is_set(), "the stream stalled before the kill"
            server.kill()  # kill -9 mid-stream, deliveries in flight
            killed.set()
            for thread in threads:
                thread.join()
            assert set(answers.values()) == {202}
            assert len(answers) < INCIDENTS, "the kill really happened mid-stream"

            server.start()  # the same database and port, after a crash
            db_path = tmp_path / "sandbox.db"

            def settled() -> bool:
                with sqlite3.connect(db_path) as db:
                    (left,) = db.execute("SELECT (SELECT COUNT(*) FROM webhook_changes)"
                                         " + (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending')"
                                         ).fetchone()
                return left == 0

            wait_for(settled, timeout=60, what="every webhook change delivered")
        finally:
            server.stop()

    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        incidents = {row["incident_key"]: row for row in db.execute("SELECT id, incident_key, status FROM incidents")}
        deliveries = db.execute("SELECT webhook_id, event_id, event_type, incident_id, status FROM webhook_deliveries"
                                ).fetchall()

    # Every acknowledge answered 202 was committed ...
    for key in answers:
        assert incidents[key]["status"] == "acknowledged", key
    # ... and every committed change has exactly one delivery row, delivered.
    by_change: dict[tuple[str, str], list] = {}
    for row in deliveries:
        by_change.setdefault((row["incident_id"], row["event_type"]), []).append(row)
    for key, incident in incidents.items():
        expected = ["incident.triggered"] + (["incident.acknowledged"] if incident["status"] == "acknowledged" else [])
        for event_type in expected:
            rows = by_change.get((incident["id"], event_type), [])
            assert len(rows) == 1, f"{key}: {len(rows)} {event_type} deliveries"
            assert rows[0]["status"] == "delivered"
    assert len(deliveries) == sum(len(rows) for rows in by_change.values())
    assert {k[1] for k in by_change} <= {"incident.triggered", "incident.acknowledged"}
    assert sum(1 for i in incidents.values() if i["status"] == "acknowledged") == len(
        [k for k in by_change if k[1] == "incident.acknowledged"])

    # The receiver got every delivery; a repeat is the same delivery again (same X-Webhook-Id and event id).
    sent = {row["webhook_id"]: (row["event_id"], row["event_type"], row["incident_id"]) for row in deliveries}
    got: dict[str, set] = {}
    for webhook_id, event_id, event_type, incident_id in receiver.received:
        got.setdefault(webhook_id, set()).add((event_id, event_type, incident_id))
    assert set(got) == set(sent)
    for webhook_id, seen in got.items():
        assert seen == {sent[webhook_id]}
