"""Helpers shared by the sandbox controls tests."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import SAMPLE_KEY


async def trigger(client: httpx.AsyncClient, dedup_key: str = "disk-full", summary: str = "Disk full on web-1",
                  routing_key: str = SAMPLE_KEY) -> httpx.Response:
    return await client.post("/v2/enqueue", json={
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": "web-1", "severity": "critical"},
    })


async def act(client: httpx.AsyncClient, action: str, dedup_key: str = "disk-full") -> httpx.Response:
    return await client.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": action,
                                                   "dedup_key": dedup_key})


async def parked(signal, count: int = 1) -> None:
    """Until `count` long-polls are parked on the signal (so the next event is one they must wake for)."""
    async with asyncio.timeout(10):
        while signal.waiting < count:  # noqa: ASYNC110 - the app runs in this loop; each sleep(0) lets it park
            await asyncio.sleep(0)
