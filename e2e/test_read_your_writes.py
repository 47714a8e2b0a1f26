"""Read-your-writes against the real `fake-pagerduty serve` (uvloop, the events writer process): 16 clients
each send an event and read it back at once through the journal, the journal wait, the REST API and
/_sandbox/state; over 2,000 events, no miss and every page consistent with its total — also with both cores
kept busy by other processes, as on a CI machine running suites in parallel."""

from __future__ import annotations

import multiprocessing
import os
import time

import httpx
import pytest

from e2e.servers import run_async
from tests.fake_pagerduty.read_your_writes import run

EVENTS = 2000
BUSY_SECONDS = 120  # the spinners' own limit, should the test die without stopping them


def _spin(until: float) -> None:
    while time.monotonic() < until:
        pass


@pytest.fixture
def both_cores_busy():
    spinners = [multiprocessing.get_context("spawn").Process(target=_spin, args=(time.monotonic() + BUSY_SECONDS,),
                                                               daemon=True)
                for _ in range(os.cpu_count() or 2)]
    for spinner in spinners:
        spinner.start()
    yield
    for spinner in spinners:
        spinner.kill()
        spinner.join()


def _stress(url: str) -> None:
    async def main():
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            return await run(client, events=EVENTS, clients=16)

    report = run_async(main)
    report.assert_clean(EVENTS)


def test_16_clients_read_back_each_event_from_the_real_server(sandbox_server):
    _stress(sandbox_server.url)


def test_16_clients_read_back_each_event_with_both_cores_busy(sandbox_server, both_cores_busy):
    _stress(sandbox_server.url)
