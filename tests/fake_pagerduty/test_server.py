"""`--https-port`: two uvicorn servers share one app, whose lifespan runs once around both (no ports here)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from starlette.applications import Starlette

from fake_pagerduty.server import _run_together


class FakeServer:
    """Stands in for uvicorn.Server: serves until told to exit, or fails to bind."""

    def __init__(self, log: list[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail
        self.started = self.force_exit = False
        self._exit, self.serving = asyncio.Event(), asyncio.Event()

    @property
    def should_exit(self) -> bool:
        return self._exit.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exit.set()

    async def serve(self) -> None:
        self.log.append(f"{self.name} serving")
        self.serving.set()
        if self.fail:
            raise SystemExit(1)  # what uvicorn does when its port is taken
        self.started = True
        await self._exit.wait()
        self.log.append(f"{self.name} stopped")


def _app(log: list[str]) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app):
        log.append("startup")
        yield
        log.append("shutdown")

    return Starlette(lifespan=lifespan)


async def test_lifespan_runs_once_around_both_servers_and_a_stop_stops_both():
    log: list[str] = []
    http, https = FakeServer(log, "http"), FakeServer(log, "https")
    task = asyncio.create_task(_run_together(_app(log), [http, https]))
    await http.serving.wait()
    await https.serving.wait()
    http.should_exit = True  # e.g. SIGTERM handled by one of them
    assert await task == 0
    assert log[:3] == ["startup", "http serving", "https serving"]
    assert sorted(log[3:5]) == ["http stopped", "https stopped"]
    assert log[5:] == ["shutdown"]
    # the signal handlers it installed are gone again
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)


async def test_a_server_that_cannot_bind_stops_the_other_and_fails():
    log: list[str] = []
    http, https = FakeServer(log, "http"), FakeServer(log, "https", fail=True)
    assert await _run_together(_app(log), [http, https]) == 1
    assert log == ["startup", "http serving", "https serving", "http stopped", "shutdown"]
