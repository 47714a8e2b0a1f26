"""Waiting in the end-to-end suite. The servers themselves are `fake_pagerduty.server_process.ServerProcess`
(the helper the pytest plugin's sandbox uses too): free ports picked again when another process takes one, ready
when a URL answers, fail fast with the server's own log, stop the whole process group, restart on the same port;
conftest.py builds the sandbox and the monitor from it, wired to each other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx

T = TypeVar("T")


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """`asyncio.run(main())` on a thread of its own: the suite's main thread may already run Playwright's event
    loop (its sync API keeps one), where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main()).result()


def wait_for(condition: Callable[[], object], *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `condition` until it returns something truthy (returned), or raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
        except (httpx.HTTPError, OSError) as exc:
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)
