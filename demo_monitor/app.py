"""create_app(settings) -> Starlette. The lifespan opens the store, restores state, and runs the simulator and
the outbox worker as background tasks (unless settings.autostart is off: tests then drive them by hand)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from demo_monitor.broadcast import Broadcaster
from demo_monitor.connection import Connection
from demo_monitor.monitor import Monitor
from demo_monitor.oauth_connect import OAuthConnect
from demo_monitor.pagerduty import Backoff, OutboxWorker
from demo_monitor.routes import routes
from demo_monitor.settings import Settings
from demo_monitor.store import Store
from demo_monitor.web.errors import exception_handlers, unknown_host
from demo_monitor.web.security import SessionMiddleware
from fake_pagerduty.web import host_guard  # app-agnostic, shared with the sandbox
from fake_pagerduty.web.security_headers import SecurityHeaders
from fake_pagerduty.web.security_headers import headers as security_headers


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: the monitor's pages show PagerDuty's Connect button image from there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def create_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    backoff: Callable[[int], float] | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The monitor app. `transport` replaces the network for PagerDuty calls (tests pass the sandbox app in
    an httpx.ASGITransport or a MockTransport); `backoff(attempts) -> seconds` replaces the retry delays."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        store = await Store.open(settings.db_path)
        client = httpx.AsyncClient(transport=transport, timeout=settings.http_timeout_seconds)
        broadcaster = Broadcaster()
        worker = OutboxWorker(
            store,
            client,
            backoff=backoff or Backoff(settings.retry_base_seconds, settings.retry_cap_seconds),
            clock=clock,
            cap=settings.retry_cap_seconds,
        )
        connection = Connection(settings, store, broadcaster, clock=clock)
        monitor = Monitor(settings, store, worker, broadcaster, connection, clock=clock)
        connection.on_alert_change = monitor.alert_changed
        connection.oauth = OAuthConnect(settings, store, client, clock=clock)
        worker.on_change = monitor.on_delivery_change
        await monitor.load()
        app.state.settings = settings
        app.state.store = store
        app.state.monitor = monitor
        app.state.connection = connection
        app.state.oauth = connection.oauth
        app.state.worker = worker
        app.state.broadcaster = broadcaster
        app.state.secret_key = await store.secret_key()
        tasks: list[asyncio.Task] = []
        if settings.autostart:
            tasks.append(asyncio.create_task(monitor.run(), name="demo-monitor-simulator"))
            tasks.append(asyncio.create_task(worker.run(), name="demo-monitor-outbox"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await monitor.close()
            await client.aclose()
            await store.close()

    served = host_guard.served_names(settings.host, settings.public_url, settings.allowed_hosts)
    return Starlette(
        routes=routes(),
        middleware=[
            Middleware(host_guard.HostGuard, names=served, reject=unknown_host),
            Middleware(SecurityHeaders, headers=security_headers(images=_origin(settings.pagerduty_base))),
            Middleware(SessionMiddleware),
        ],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
