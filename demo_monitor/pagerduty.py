"""Delivery of events to PagerDuty through a durable outbox: one worker, order kept per incident key,
retries with exponential backoff and jitter on network errors, throttling (403/429) and 5xx.

Rows are written to the outbox (store.py) in the same transaction as the alert change that caused them; this
worker only reads the oldest pending row of each incident key, sends it, and records the outcome.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
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
    ) -> None:
        self.store = store
        self.client = client
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.on_change = on_change
        self.cap = cap
        self._wake = asyncio.Event()

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
        attempts = row["attempts"] + 1
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
            await self.store.mark_outbox(row["id"], status="sent", attempts=attempts, last_error=None,
                                         response=response_text, sent_at=utcnow_iso(self.clock))
        elif outcome == "failed":
            log.warning("event %s for %s failed: %s", row["event_type"], row["incident_key"], reason)
            await self.store.mark_outbox(row["id"], status="failed", attempts=attempts, last_error=reason,
                                         response=response_text)
        else:
            delay = self.backoff(attempts)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.cap))
            await self.store.mark_outbox(row["id"], status="retrying", attempts=attempts, last_error=reason,
                                         response=response_text, next_attempt_at=now + delay)
        if self.on_change is not None:
            result = self.on_change(row["alert_id"])
            if asyncio.iscoroutine(result):
                await result
