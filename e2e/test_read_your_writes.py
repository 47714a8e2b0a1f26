"""Read-your-writes against the real `fake-pagerduty serve` (uvloop, the events writer process): 16 clients
each send an event and read it back at once through the journal, the journal wait, the REST API and
/_sandbox/state; over 2,000 events, no miss and every page consistent with its total — also
with both cores kept busy by other processes, as on a CI machine running suites in parallel. One file: on
pytest-xdist the two runs go one after the other (at once, the spinners would starve the other run too)."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys

import httpx
import pytest

from e2e.servers import run_async
from tests.fake_pagerduty.read_your_writes import run

EVENTS = 2000
CLIENTS = 16


class RoundRobin:
    """Requests spread over several `httpx.AsyncClient`s in turn, as `run` sends them (`get`, `post`). One client
    with a 64-connection pool spent two thirds of the test's CPU in httpcore choosing a connection (each request
    looks at every connection of the pool); 16 clients of 4 connections hold the same 64 connections for a
    quarter of that CPU, so the test's time goes to the server, not to the client's pool."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self._next = itertools.cycle(clients).__next__

    def get(self, *args, **kwargs):
        return self._next().get(*args, **kwargs)

    def post(self, *args, **kwargs):
        return self._next().post(*args, **kwargs)


def stress(url: str) -> None:
    """Run the stress against the sandbox at `url`; fails on any miss, inconsistent page or error."""
    async def main():
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60, limits=limits))
                       for _ in range(CLIENTS)]
            return await run(RoundRobin(clients), events=EVENTS, clients=CLIENTS)

    report = run_async(main)
    report.assert_clean(EVENTS)


BUSY_SECONDS = 120  # the spinners' own limit, should the test die without stopping them
SPIN = f"import time\nend = time.monotonic() + {BUSY_SECONDS}\nwhile time.monotonic() < end: pass"


@pytest.fixture
def both_cores_busy():
    """A process spinning on each core (a bare `python -c` loop) for as long as the test runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL)
                for _ in range(os.cpu_count() or 2)]
    yield
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


def test_16_clients_read_back_each_event_from_the_real_server(sandbox_server):
    stress(sandbox_server.url)


def test_16_clients_read_back_each_event_with_both_cores_busy(sandbox_server, both_cores_busy):
    stress(sandbox_server.url)
