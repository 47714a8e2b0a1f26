"""Integrations good and bad, for the report and exam tests: small Events API v2 clients over an in-process
sandbox, each with one habit (no retry, no backoff, retrying 400s, a new dedup key per event, never resolving)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from fake_pagerduty.web.sandbox_gate import ConnectionCut
from tests.conftest import SAMPLE_KEY


@dataclass
class Client:
    http: httpx.AsyncClient
    retry: bool = True
    backoff: Callable[[int], float] = lambda attempt: 0.1 * 2 ** (attempt - 1)
    retry_4xx: bool = False
    new_key_each_time: bool = False
    resolves: bool = True
    max_attempts: int = 8
    routing_key: str = SAMPLE_KEY
    sent: int = 0

    async def send(self, body: dict) -> httpx.Response | None:
        """Send until accepted, as this client's habits allow; None when it gave up without an answer."""
        attempt = 0
        response = None
        while True:
            attempt += 1
            self.sent += 1
            try:
                response = await self.http.post("/v2/enqueue", json=body)
                if response.status_code < 300:
                    return response
                if 400 <= response.status_code < 500 and response.status_code != 429 and not self.retry_4xx:
                    return response
            except (httpx.HTTPError, ConnectionCut):
                response = None
            if not self.retry or attempt >= self.max_attempts:
                return response
            await asyncio.sleep(self.backoff(attempt))

    def _key(self, n: int, action: str) -> str:
        return f"disk-{n}-{action}" if self.new_key_each_time else f"disk-{n}"

    async def problem(self, n: int) -> None:
        """A disk fills up on server n (trigger) and is cleaned up (resolve)."""
        await self.send({"routing_key": self.routing_key, "event_action": "trigger", "dedup_key": self._key(n, "t"),
                         "payload": {"summary": "Disk full on web-1", "source": "web-1", "severity": "error",
                                     "timestamp": "2026-01-01T00:00:00Z"} if self.new_key_each_time else
                         {"summary": f"Disk {n} full on web-{n}", "source": f"web-{n}", "severity": "error"}})
        if self.resolves:
            await self.send({"routing_key": self.routing_key, "event_action": "resolve",
                             "dedup_key": self._key(n, "r")})

    async def until(self, done: Callable[[], bool], problems: int = 40) -> None:
        """Problems one after another until `done()` (the exam ended) or `problems` of them."""
        for n in range(problems):
            if done():
                return
            await self.problem(n)
