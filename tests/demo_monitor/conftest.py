"""Fixtures for the monitor: the app in-process (lifespan entered, no background tasks), driven tick by tick."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette

from demo_monitor.app import create_app
from demo_monitor.settings import Settings

SERVICE_KEY = "e93facc04764012d7bfb002500d5d1a6"
PD_URL = "http://pagerduty.test"


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def monitor_settings(tmp_path) -> Settings:
    return Settings(
        db_path=str(tmp_path / "monitor.db"),
        pagerduty_url=PD_URL,
        public_url="http://monitor.test",
        autostart=False,
        fleet_size=24,
        # the legacy v1 path, whose exact bodies most tests here check; the default (v2, with the alert's
        # severity) is tested in test_default_events.py
        events_api_version=1,
    )


class FakePagerDuty:
    """An httpx.MockTransport handler that answers like the Events API and records what it got."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list = []  # responses (or exceptions) to give before answering normally

    def __call__(self, request: httpx.Request) -> httpx.Response:
        import json

        if request.method != "POST":  # PagerDuty has nothing else here (e.g. no sandbox controls)
            return httpx.Response(404, json={"error": "not found"})
        body = json.loads(request.content)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            self.requests.append({"path": request.url.path, "body": body, "answered": step.status_code})
            return step
        self.requests.append({"path": request.url.path, "body": body, "answered": 200})
        if request.url.path.endswith("/v2/enqueue"):
            return httpx.Response(202, json={"status": "success", "message": "Event processed",
                                             "dedup_key": body.get("dedup_key")})
        return httpx.Response(200, json={"status": "success", "message": "Event processed",
                                         "incident_key": body.get("incident_key")})


@pytest.fixture
def fake_pd() -> FakePagerDuty:
    return FakePagerDuty()


@pytest.fixture
def make_app(monitor_settings, clock, fake_pd) -> Callable[..., Starlette]:
    def make(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
        return create_app(
            settings or monitor_settings,
            transport=transport or httpx.MockTransport(fake_pd),
            backoff=lambda attempts: 2.0 ** attempts,
            clock=clock,
        )

    return make


@pytest.fixture
async def app(make_app) -> AsyncIterator[Starlette]:
    application = make_app()
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor.test") as c:
        yield c


async def csrf(client: httpx.AsyncClient, path: str = "/") -> str:
    page = await client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def connect(app: Starlette, service_key: str = SERVICE_KEY) -> None:
    """Store a connection as the Connect callback would."""
    await app.state.store.save_integration("acme", service_key, "Demo Monitor service", "2026-11-26T00:00:00Z")


async def ticks(app: Starlette, n: int, clock: Clock | None = None) -> None:
    for _ in range(n):
        if clock is not None:
            clock.advance(1)
        await app.state.monitor.tick()


async def break_www15(app: Starlette, clock: Clock | None = None) -> dict:
    """Fault memory on www15, tick until the alert opens, return its JSON."""
    await app.state.monitor.set_fault("www15", "memory_usage", 98)
    await ticks(app, 5, clock)
    alerts = await app.state.monitor.alerts_json(open_only=True)
    assert [a["server"] for a in alerts] == ["www15"]
    return alerts[0]
