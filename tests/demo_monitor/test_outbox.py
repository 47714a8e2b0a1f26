"""Delivery rules of the outbox worker, against a scripted fake Events API (httpx.MockTransport)."""

import json

import httpx
import pytest

from demo_monitor.pagerduty import Backoff, OutboxWorker
from demo_monitor.store import Store
from tests.demo_monitor.conftest import SERVICE_KEY, Clock, FakePagerDuty

URL = "http://pagerduty.test/generic/2010-04-15/create_event.json"
THROTTLE_V1 = {"status": "throttle exceeded",
               "message": "Requests for this service are arriving too quickly. Please retry later."}


def row(alert_id: str, event_type: str) -> dict:
    body = {"service_key": SERVICE_KEY, "event_type": event_type, "incident_key": alert_id}
    if event_type == "trigger":
        body["description"] = f"Server {alert_id} running low on memory"
    return {"alert_id": alert_id, "incident_key": alert_id, "event_type": event_type, "api_version": 1,
            "url": URL, "body": body, "created_at": "t"}


async def add_alert(store: Store, alert_id: str, *events: str) -> None:
    from demo_monitor.domain.alerts import new_alert_from_rule
    from demo_monitor.domain.rules import Rule

    rule = Rule(1, "memory_usage", ">", 90, "critical", 2)
    await store.create_alert(lambda n: new_alert_from_rule(alert_id, n, "www15", rule, 98, "t"),
                             lambda alert: [row(alert_id, e) for e in events])


@pytest.fixture
async def store(tmp_path):
    s = await Store.open(str(tmp_path / "outbox.db"))
    yield s
    await s.close()


def worker_for(store, fake: FakePagerDuty, clock: Clock, backoff=lambda n: 2.0 ** n) -> OutboxWorker:
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return OutboxWorker(store, client, backoff=backoff, clock=clock)


def sent(fake: FakePagerDuty) -> list[tuple[str, str]]:
    return [(r["body"]["incident_key"], r["body"]["event_type"]) for r in fake.requests]


async def statuses(store: Store) -> list[tuple[str, str, int]]:
    return [(r["incident_key"], r["status"], r["attempts"]) for r in await store.list_outbox()]


async def test_events_are_sent_in_order_and_marked_sent(store, fake_pd, clock):
    await add_alert(store, "a1", "trigger", "acknowledge", "resolve")
    worker = worker_for(store, fake_pd, clock)
    assert await worker.run_once() is None
    assert sent(fake_pd) == [("a1", "trigger"), ("a1", "acknowledge"), ("a1", "resolve")]
    assert await statuses(store) == [("a1", "sent", 1)] * 3


async def test_a_throttled_event_is_retried_with_backoff_and_holds_back_later_events_of_its_key_only(
        store, fake_pd, clock):
    await add_alert(store, "a1", "trigger", "resolve")
    await add_alert(store, "a2", "trigger")
    fake_pd.script = [httpx.Response(403, json=THROTTLE_V1)]
    worker = worker_for(store, fake_pd, clock)
    delay = await worker.run_once()
    # a1's trigger was throttled; its resolve waits; a2 went through
    assert sent(fake_pd) == [("a1", "trigger"), ("a2", "trigger")]
    assert delay == 2.0  # backoff(1)
    rows = await store.list_outbox()
    assert (rows[0]["status"], rows[0]["attempts"]) == ("retrying", 1)
    assert "throttle exceeded" in rows[0]["last_error"]
    assert rows[1]["status"] == "queued"
    # not due yet: nothing is sent
    assert await worker.run_once() == 2.0
    assert len(fake_pd.requests) == 2
    clock.advance(2)
    assert await worker.run_once() is None
    assert sent(fake_pd)[2:] == [("a1", "trigger"), ("a1", "resolve")]
    assert await statuses(store) == [("a1", "sent", 2), ("a1", "sent", 1), ("a2", "sent", 1)]


@pytest.mark.parametrize("failure", [
    httpx.Response(429, json={"status": "throttle exceeded", "message": "slow down"}),
    httpx.Response(500, text="oops"),
    httpx.Response(502, text="<html>bad gateway</html>"),
    httpx.ConnectError("connection refused"),
    httpx.ReadTimeout("timed out"),
])
async def test_retryable_failures_are_retried_until_sent(store, fake_pd, clock, failure):
    await add_alert(store, "a1", "trigger")
    fake_pd.script = [failure, failure]
    worker = worker_for(store, fake_pd, clock, backoff=lambda n: 1.0)
    await worker.run_once()
    assert (await store.list_outbox())[0]["status"] == "retrying"
    clock.advance(1)
    await worker.run_once()
    assert (await store.list_outbox())[0]["attempts"] == 2
    clock.advance(1)
    await worker.run_once()
    assert await statuses(store) == [("a1", "sent", 3)]


async def test_an_invalid_event_fails_with_the_reason_and_is_not_retried(store, fake_pd, clock):
    await add_alert(store, "a1", "trigger", "resolve")
    fake_pd.script = [httpx.Response(400, json={"status": "invalid event", "message": "Event object is invalid",
                                                "errors": ["service_key is invalid"]})]
    worker = worker_for(store, fake_pd, clock)
    assert await worker.run_once() is None
    rows = await store.list_outbox()
    assert (rows[0]["status"], rows[0]["last_error"]) == ("failed", "HTTP 400: service_key is invalid")
    assert rows[1]["status"] == "sent"  # a failed event does not block the key for ever
    clock.advance(100)
    await worker.run_once()
    assert len(fake_pd.requests) == 2


async def test_retry_after_is_honoured(store, fake_pd, clock):
    await add_alert(store, "a1", "trigger")
    fake_pd.script = [httpx.Response(429, headers={"Retry-After": "7"}, json={"status": "throttle exceeded"})]
    worker = worker_for(store, fake_pd, clock, backoff=lambda n: 1.0)
    assert await worker.run_once() == 7.0


async def test_pending_events_survive_a_restart(tmp_path, fake_pd, clock):
    path = str(tmp_path / "restart.db")
    store = await Store.open(path)
    await add_alert(store, "a1", "trigger", "resolve")
    fake_pd.script = [httpx.ConnectError("refused")]
    await worker_for(store, fake_pd, clock).run_once()
    await store.close()

    reopened = await Store.open(path)
    try:
        clock.advance(60)
        await worker_for(reopened, fake_pd, clock).run_once()
        assert await statuses(reopened) == [("a1", "sent", 2), ("a1", "sent", 1)]
        assert sent(fake_pd)[-2:] == [("a1", "trigger"), ("a1", "resolve")]
        assert json.loads((await reopened.list_outbox())[0]["body"])["service_key"] == SERVICE_KEY
    finally:
        await reopened.close()


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    low = Backoff(base=0.5, cap=30, rng=lambda: 0.0)
    high = Backoff(base=0.5, cap=30, rng=lambda: 1.0)
    assert [high(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [low(n) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    assert high(20) == 30.0


class Crash(BaseException):
    """The process dying on the spot (kill -9): nothing after it runs, no handler sees it."""


def die(row: dict) -> None:
    raise Crash(row["event_type"])


async def test_a_crash_between_the_send_and_its_mark_sends_it_again_on_the_same_row(tmp_path, fake_pd, clock):
    path = str(tmp_path / "crash.db")
    store = await Store.open(path)
    await add_alert(store, "a1", "trigger", "resolve")
    worker = worker_for(store, fake_pd, clock)
    worker.after_send = die  # PagerDuty answered 2xx; the monitor dies before recording it
    with pytest.raises(Crash):
        await worker.run_once()
    await store.close()
    assert sent(fake_pd) == [("a1", "trigger")]

    reopened = await Store.open(path)
    try:
        await worker_for(reopened, fake_pd, clock).run_once()
        # at least once: the trigger again, then (order per key) its resolve; one row per event, never a new one
        assert sent(fake_pd) == [("a1", "trigger"), ("a1", "trigger"), ("a1", "resolve")]
        rows = await reopened.list_outbox()
        assert [(r["event_type"], r["status"], r["attempts"], r["interrupted"], r["attempt_started_at"])
                for r in rows] == [("trigger", "sent", 2, 1, None), ("resolve", "sent", 1, 0, None)]
    finally:
        await reopened.close()


async def test_an_answered_attempt_is_not_counted_as_cut_short(store, fake_pd, clock):
    await add_alert(store, "a1", "trigger")
    fake_pd.script = [httpx.ConnectError("refused")]
    worker = worker_for(store, fake_pd, clock, backoff=lambda n: 1.0)
    await worker.run_once()
    clock.advance(1)
    await worker.run_once()
    rows = await store.list_outbox()
    assert [(r["status"], r["attempts"], r["interrupted"]) for r in rows] == [("sent", 2, 0)]
