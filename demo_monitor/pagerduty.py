"""Delivery of events to PagerDuty through a durable outbox: one worker, order kept per incident key,
retries with exponential backoff and jitter on network errors, throttling (403/429) and 5xx.

Rows are written to the outbox (store.py) in the same transaction as the alert change that caused them; this
worker only reads the oldest pending row of each incident key, sends it, and records the outcome.

What the outbox guarantees:

- **At least once.** Every event queued is sent until PagerDuty answers it: a 2xx marks it `sent`, a 4xx other
  than 403/408/429 marks it `failed` (PagerDuty will never take that body; the reason is kept), anything else is
  retried with backoff, for as long as it takes. Queued rows are in SQLite, so they survive the monitor being
  stopped, killed (kill -9) or restarted at any point; a restart carries on where the last process stopped.
- **In order per incident key** (the v1 `incident_key`, the v2 `dedup_key`: the alert's id). Only the oldest
  pending row of a key is ever sent, so an alert's acknowledge or resolve never overtakes its trigger, even
  across retries and restarts. Different keys do not wait for each other.
- **Not exactly once.** A row is marked sent only after PagerDuty's answer, so a crash between the send and
  its being marked sent sends the event again after the restart. Before each send the row records that an
  attempt is in flight (`attempt_started_at`); a row found with that mark still set is counted as an
  interrupted attempt (`interrupted`, and in `attempts`), and the alert's page shows one delivery sent N times,
  never two deliveries.

Why a repeat is harmless (as PagerDuty does it, and as the sandbox's journal records it): a trigger with the
same dedup key as an open alert is deduplicated into it (outcome `deduplicated`: no second incident, no
second page; the incident's log lists the repeat); an acknowledge repeated on an acknowledged incident is
`acknowledged` again, its status and status time unchanged (the log lists it too); a resolve repeated finds no
open alert and is dropped with a 2xx (`dropped`: nothing changes).
The one case where a repeat matters: a trigger re-sent after someone resolved its incident in PagerDuty during
the monitor's downtime opens a new incident, as any trigger on a resolved key does.

`DEMO_MONITOR_CRASH_AFTER_SEND` is a test hook (off unless set; see crash_after_send_from_env).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from demo_monitor.domain.events import classify_response
from demo_monitor.store import Store

log = logging.getLogger("demo_monitor.pagerduty")


def utcnow_iso(clock: Callable[[], float] = time.time) -> str:
    return datetime.fromtimestamp(clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Backoff:
    """Exponential backoff with jitter: attempt n waits between half and all of min(cap, base·2ⁿ⁻¹)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: Callable[[], float] = random.random) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng

    def __call__(self, attempts: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** max(attempts - 1, 0)))
        return ceiling / 2 + self.rng() * ceiling / 2


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


CRASH_AFTER_SEND_ENV = "DEMO_MONITOR_CRASH_AFTER_SEND"


def crash_after_send_from_env() -> Callable[[dict], None] | None:
    """A test hook, never on by default: DEMO_MONITOR_CRASH_AFTER_SEND=trigger (or acknowledge, resolve, any)
    makes the process kill itself with SIGKILL right after PagerDuty accepted such an event and before the
    outbox records it: kill -9 at the one moment a test cannot time from outside."""
    wanted = os.environ.get(CRASH_AFTER_SEND_ENV, "").strip()
    if not wanted:
        return None

    def crash(row: dict) -> None:
        if wanted in ("any", row["event_type"]):
            log.critical("%s=%s: killing the monitor after sending %s for %s, before marking it sent",
                         CRASH_AFTER_SEND_ENV, wanted, row["event_type"], row["incident_key"])
            os.kill(os.getpid(), signal.SIGKILL)

    return crash


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        *,
        backoff: Callable[[int], float] | None = None,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[str], object] | None = None,
        cap: float = 30.0,
        after_send: Callable[[dict], object] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.on_change = on_change
        self.cap = cap
        self._wake = asyncio.Event()
        # called with the row after PagerDuty accepted it, before it is marked sent (tests: a crash right there)
        self.after_send = after_send if after_send is not None else crash_after_send_from_env()

    def wake(self) -> None:
        """Something was queued: look at the outbox now instead of at the next retry time."""
        self._wake.set()

    async def run_once(self) -> float | None:
        """Send every row that is due, oldest first per incident key, each at most once.

        Returns the seconds until the next pending row is due, or None if nothing is pending.
        """
        attempted: set[int] = set()
        while True:
            now = self.clock()
            due = [r for r in await self.store.outbox_heads() if r["next_attempt_at"] <= now and r["id"] not in attempted]
            if not due:
                break
            for row in due:
                attempted.add(row["id"])
                await self._deliver(row)
        heads = await self.store.outbox_heads()
        if not heads:
            return None
        return max(0.0, min(r["next_attempt_at"] for r in heads) - self.clock())

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the worker alive whatever happens; the row stays pending
                log.exception("outbox worker failed; retrying shortly")
                delay = 1.0
            timeout = 5.0 if delay is None else min(delay, 5.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass

    async def _deliver(self, row: dict) -> None:
        # an attempt still marked in flight was cut short by a crash: its answer, if any, was never recorded
        cut_short = 1 if row["attempt_started_at"] else 0
        attempts = row["attempts"] + cut_short + 1
        if cut_short:
            log.warning("sending %s for %s again: the monitor stopped before the last attempt's answer was recorded",
                        row["event_type"], row["incident_key"])
        await self.store.mark_outbox(row["id"], attempts=attempts - 1, interrupted=row["interrupted"] + cut_short,
                                     attempt_started_at=utcnow_iso(self.clock))
        retry_after = None
        response_text = None
        try:
            response = await self.client.post(
                row["url"], content=row["body"].encode(), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            outcome, reason = "retry", f"network error: {type(exc).__name__}: {exc}".rstrip(": ")
        else:
            response_text = response.text[:2000]
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                body = None
            outcome, reason = classify_response(response.status_code, body)
            retry_after = _retry_after(response)
        now = self.clock()
        if outcome == "sent":
            if self.after_send is not None:
                self.after_send(row)
            await self.store.mark_outbox(row["id"], status="sent", attempts=attempts, last_error=None,
                                         response=response_text, sent_at=utcnow_iso(self.clock),
                                         attempt_started_at=None)
        elif outcome == "failed":
            log.warning("event %s for %s failed: %s", row["event_type"], row["incident_key"], reason)
            await self.store.mark_outbox(row["id"], status="failed", attempts=attempts, last_error=reason,
                                         response=response_text, attempt_started_at=None)
        else:
            delay = self.backoff(attempts)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.cap))
            await self.store.mark_outbox(row["id"], status="retrying", attempts=attempts, last_error=reason,
                                         response=response_text, next_attempt_at=now + delay,
                                         attempt_started_at=None)
        if self.on_change is not None:
            result = self.on_change(row["alert_id"])
            if asyncio.iscoroutine(result):
                await result
