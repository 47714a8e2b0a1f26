"""Test your PagerDuty integration against the local sandbox: copy this file into your repository.

    pip install pagerduty-connect-sandbox   # brings the `fake_pagerduty` pytest fixture
    pytest example_partner_test.py

The `fake_pagerduty` fixture starts one sandbox for the test session (HTTP and HTTPS on free 127.0.0.1
ports, a temporary database, strict mode on) and resets it before each test. Replace `PagerDutyEvents`
with your own client: point it at `fake_pagerduty.events_v2_url` in tests and at
`https://events.pagerduty.com/v2/enqueue` in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx


class PagerDutyEvents:
    """A partner's own small Events API v2 client: sends a trigger, retries on 429 and 5xx with backoff."""

    def __init__(self, url: str, routing_key: str, *, attempts: int = 4, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url, self.routing_key = url, routing_key
        self.attempts, self.backoff, self.sleep = attempts, backoff, sleep

    def trigger(self, summary: str, source: str, severity: str = "error", dedup_key: str | None = None) -> str:
        event = {"routing_key": self.routing_key, "event_action": "trigger",
                 "payload": {"summary": summary, "source": source, "severity": severity}}
        if dedup_key:
            event["dedup_key"] = dedup_key
        for attempt in range(1, self.attempts + 1):
            response = httpx.post(self.url, json=event, timeout=10.0)
            if response.status_code == 202:
                return response.json()["dedup_key"]
            retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable or attempt == self.attempts:
                response.raise_for_status()
                raise RuntimeError(f"PagerDuty answered {response.status_code}: {response.text}")
            self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")


def test_trigger_opens_an_incident(fake_pagerduty):
    client = PagerDutyEvents(fake_pagerduty.events_v2_url, fake_pagerduty.routing_key)

    dedup_key = client.trigger("Disk 95% full on db-1", source="db-1.example.com", severity="critical",
                               dedup_key="db-1/disk")

    event = fake_pagerduty.wait_for_event(dedup_key=dedup_key, timeout=5)
    assert event["outcome"] == "created"
    assert event["warnings"] == []  # strict mode: the event matches PagerDuty's published schema
    [incident] = fake_pagerduty.incidents()
    assert incident["title"] == "Disk 95% full on db-1"
    assert incident["status"] == "triggered"
    assert incident["urgency"] == "high"
    assert incident["incident_key"] == "db-1/disk"


def test_a_429_is_retried_and_the_incident_still_opens(fake_pagerduty):
    fake_pagerduty.add_fault(429, endpoint="v2", count=1)  # the next v2 event is throttled, as PagerDuty does
    waits: list[float] = []
    client = PagerDutyEvents(fake_pagerduty.events_v2_url, fake_pagerduty.routing_key, sleep=waits.append)

    dedup_key = client.trigger("Disk 95% full on db-1", source="db-1.example.com", dedup_key="db-1/disk")

    assert waits == [0.5]  # one backoff, then success
    journal = fake_pagerduty.events(dedup_key=dedup_key)  # newest first
    assert [(e["outcome"], e["response"]["status"]) for e in journal] == [("created", 202), ("fault", 429)]
    assert len(fake_pagerduty.incidents()) == 1
