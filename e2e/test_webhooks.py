"""Outbound v3 webhooks over real HTTP: the sandbox, a real process, posts signed events to a receiver on a free
127.0.0.1 port, retries a receiver that fails, and sends what is pending after it restarts."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from e2e.conftest import REST_HEADERS, SAMPLE_KEY
from e2e.servers import wait_for

WAIT = 30  # seconds: a hang guard for conditions the sandbox brings about, not a timing assertion


class _Receive(BaseHTTPRequestHandler):
    """A partner's webhook endpoint: records every POST, answers with the scripted statuses, then 200."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            status = self.server.script.pop(0) if self.server.script else 200
            self.server.received.append({"path": self.path, "headers": self.headers, "body": body,
                                         "status": status})
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


class Receiver:
    """On a free port; with `listening=False` it holds the port (connections are refused) until `listen()`."""

    def __init__(self, listening: bool = True) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Receive, bind_and_activate=False)
        self.server.server_bind()
        self.server.lock = threading.Lock()
        self.server.received = []
        self.server.script = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        if listening:
            self.listen()

    def listen(self) -> None:
        self.server.server_activate()
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/pagerduty/webhooks"

    @property
    def received(self) -> list[dict]:
        with self.server.lock:
            return list(self.server.received)

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"]["event_type"] for r in self.received]

    def close(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def subscribe(sandbox_url: str, url: str) -> dict:
    body = {"webhook_subscription": {
        "type": "webhook_subscription",
        "delivery_method": {"type": "http_delivery_method", "url": url},
        "events": ["incident.triggered", "incident.acknowledged", "incident.resolved"],
        "filter": {"type": "service_reference", "id": "PWEBS00"},
    }}
    response = httpx.post(f"{sandbox_url}/api/webhook_subscriptions", json=body, headers=REST_HEADERS, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["webhook_subscription"]


def enqueue(sandbox_url: str, action: str, key: str) -> None:
    event = {"routing_key": SAMPLE_KEY, "event_action": action, "dedup_key": key}
    if action == "trigger":
        event["payload"] = {"summary": f"{key} is down", "source": "e2e", "severity": "critical"}
    response = httpx.post(f"{sandbox_url}/v2/enqueue", json=event, timeout=5)
    assert response.status_code == 202, response.text


def deliveries(sandbox_url: str) -> list[dict]:
    state = httpx.get(f"{sandbox_url}/_sandbox/state", timeout=5).json()
    return list(reversed(state["webhooks"]["deliveries"]))


def signed(request: dict, secret: str) -> bool:
    expected = "v1=" + hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
    return request["headers"].get("X-PagerDuty-Signature") == expected


def test_trigger_acknowledge_resolve_arrive_signed_and_in_order(sandbox_server, receiver):
    sub = subscribe(sandbox_server.url, receiver.url)
    secret = sub["delivery_method"]["secret"]
    enqueue(sandbox_server.url, "trigger", "e2e-web-1")
    wait_for(lambda: len(receiver.received) >= 1, timeout=WAIT, what="incident.triggered at the receiver")
    incident_id = json.loads(receiver.received[0]["body"])["event"]["data"]["id"]

    acked = httpx.put(f"{sandbox_server.url}/api/incidents/{incident_id}",
                      json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
                      headers={**REST_HEADERS, "From": "demo@acme.test"}, timeout=5)
    assert acked.status_code == 200, acked.text
    enqueue(sandbox_server.url, "resolve", "e2e-web-1")
    wait_for(lambda: len(receiver.received) >= 3, timeout=WAIT, what="three webhooks at the receiver")

    assert receiver.events() == ["incident.triggered", "incident.acknowledged", "incident.resolved"]
    for request in receiver.received:
        assert request["path"] == "/pagerduty/webhooks"
        assert signed(request, secret)
        assert request["headers"]["User-Agent"] == "PagerDuty-Webhook/V3.0"
        assert request["headers"]["X-Webhook-Subscription"] == sub["id"]
    bodies = [json.loads(r["body"])["event"] for r in receiver.received]
    assert [b["data"]["status"] for b in bodies] == ["triggered", "acknowledged", "resolved"]
    assert bodies[1]["agent"]["summary"] == "Dana Demo"

    def all_recorded() -> list[dict] | None:
        # the sandbox records a delivery after the receiver has answered: the third may still be on its way
        rows = deliveries(sandbox_server.url)
        return rows if len(rows) == 3 and all(d["status"] != "pending" for d in rows) else None

    rows = wait_for(all_recorded, timeout=WAIT, what="three deliveries recorded")
    assert [(d["event_type"], d["status"], d["attempts"]) for d in rows] == [
        ("incident.triggered", "delivered", 1), ("incident.acknowledged", "delivered", 1),
        ("incident.resolved", "delivered", 1)]


def test_a_failing_receiver_is_retried(sandbox_server, receiver):
    sub = subscribe(sandbox_server.url, receiver.url)
    receiver.server.script = [503]
    enqueue(sandbox_server.url, "trigger", "e2e-web-2")
    wait_for(lambda: len(receiver.received) >= 2, timeout=WAIT, what="a retry after the 503")
    first, second = receiver.received
    assert (first["status"], second["status"]) == (503, 200)
    assert first["body"] == second["body"] and signed(second, sub["delivery_method"]["secret"])
    assert first["headers"]["X-Webhook-Id"] == second["headers"]["X-Webhook-Id"]
    [row] = wait_for(lambda: [d for d in deliveries(sandbox_server.url) if d["status"] == "delivered"],
                     timeout=WAIT, what="the delivery recorded as delivered")
    assert (row["attempts"], row["last_status_code"]) == (2, 200)


def test_pending_deliveries_are_sent_after_the_sandbox_restarts(sandbox_server):
    late = Receiver(listening=False)  # its port held from now on, refusing connections until it listens
    try:
        sub = subscribe(sandbox_server.url, late.url)
        enqueue(sandbox_server.url, "trigger", "e2e-web-3")
        wait_for(lambda: [d for d in deliveries(sandbox_server.url) if d["attempts"] >= 1], timeout=WAIT,
                 what="a refused first attempt")
        sandbox_server.stop()
        late.listen()
        sandbox_server.start()
        wait_for(lambda: late.received, timeout=WAIT, what="the pending delivery after the restart")
        [request] = late.received
        assert json.loads(request["body"])["event"]["event_type"] == "incident.triggered"
        assert signed(request, sub["delivery_method"]["secret"])
        [row] = wait_for(lambda: [d for d in deliveries(sandbox_server.url) if d["status"] == "delivered"],
                         timeout=WAIT, what="the delivery recorded as delivered")
        assert row["attempts"] >= 2 and row["last_status_code"] == 200
    finally:
        late.close()
