"""The sandbox's app factory: `create_app(settings)` returns a Starlette app; no module-level state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.templating import Jinja2Templates

from fake_pagerduty import seed, tls
from fake_pagerduty.changes import ChangeFeed
from fake_pagerduty.domain.clock import Clock
from fake_pagerduty.domain.faults import FaultBook
from fake_pagerduty.domain.rate_limits import RateLimitSettings, SlidingWindowLimiter, parse_settings
from fake_pagerduty.domain.throttle import FailureWindow
from fake_pagerduty.errors import handlers, unknown_host
from fake_pagerduty.exam_runner import ExamRunner
from fake_pagerduty.live import LiveVersions
from fake_pagerduty.routes import routes
from fake_pagerduty.settings import Settings
from fake_pagerduty.signals import Signal
from fake_pagerduty.store import Store
from fake_pagerduty.web import console_text, host_guard, sessions
from fake_pagerduty.web.events_hot_path import EventsHotPath
from fake_pagerduty.web.route_index import IndexedRouter
from fake_pagerduty.web.sandbox_faults import CLOCK_OFFSET, RATE_LIMITS
from fake_pagerduty.web.security_headers import SecurityHeaders
from fake_pagerduty.webhooks import Webhooks

PACKAGE_DIR = Path(__file__).parent
TIMEOUT_SWEEP_SECONDS = 1.0
log = logging.getLogger("fake_pagerduty")


async def _sweep_timeouts(app: Starlette) -> None:
    """Apply service acknowledgement and auto-resolve timeouts as they fall due."""
    state = app.state
    while True:
        await asyncio.sleep(TIMEOUT_SWEEP_SECONDS)
        try:
            state.changes.publish(await state.store.incidents.apply_due_timeouts(state.clock.now()))
        except Exception:  # keep sweeping; a failed sweep is retried on the next tick
            log.exception("timeout sweep failed")


async def _restore_controls(state: Any) -> None:
    """At start: bring back the fault rules, rate-limit setting and clock offset the sandbox controls kept in
    SQLite (web/sandbox_faults.py)."""
    state.faults.replace(await state.store.sandbox.fault_rules())
    saved = await state.store.sandbox.setting(RATE_LIMITS)
    limits = parse_settings(saved, RateLimitSettings()) if saved else RateLimitSettings()
    state.rate_limiter.configure(limits if isinstance(limits, RateLimitSettings) else RateLimitSettings())
    offset = await state.store.sandbox.setting(CLOCK_OFFSET)
    if isinstance(offset, int | float) and offset > 0:
        state.clock.reset(offset)


def banner(settings: Settings) -> str:
    base = settings.base_url
    return "\n".join(
        [
            f"fake-pagerduty listening on http://{settings.host}:{settings.port}",
            f"  sign in:         {base}/login  ({seed.SANDBOX_EMAIL} / {seed.SANDBOX_PASSWORD})",
            f"  REST API:        {base}/api  (Authorization: Token token={seed.SANDBOX_API_KEY})",
            f"  Events API v2:   {base}/v2/enqueue  (routing key {seed.SAMPLE_ROUTING_KEY})",
            f"  Events API v1:   {base}/generic/2010-04-15/create_event.json",
            *_https_lines(settings),
        ]
    )


def _https_lines(settings: Settings) -> list[str]:
    lines = []
    if settings.https_port:
        lines += [f"  HTTPS:           https://{settings.host}:{settings.https_port}  (trust {tls.ca_cert_path(settings)},"
                  " also at /_sandbox/ca.pem)"]
    if settings.strict:
        lines += ["  strict mode:     Events API requests are checked against PagerDuty's OpenAPI; see warnings"]
    return lines


def _strict_checker():
    from fake_pagerduty.domain.strict import StrictChecker  # jsonschema is loaded only in strict mode

    return StrictChecker.packaged()


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"),
                                context_processors=[sessions.template_context])
    console_text.install(templates.env)  # the console's filters, for every page
    return templates


def create_app(settings: Settings | None = None, *, announce: bool = False) -> Starlette:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = Store(settings.db_path, writer_process=settings.events_writer_process, inline=settings.sqlite_on_loop)
        await store.open()
        sweeper = webhooks = exams = None
        try:
            app.state.store = store
            await _restore_controls(app.state)  # first: a seed's `seed_day` is the day by the sandbox clock
            await seed.seed_sandbox(store, settings.seed_file, app.state.clock.now(),
                                    defaults=await store.sandbox.is_empty())  # a reset seeds the same way
            webhooks = app.state.webhooks = Webhooks(app.state)
            await webhooks.start()
            exams = app.state.exams = ExamRunner(app.state)  # integration exams run in the background
            await exams.start()
            sweeper = asyncio.create_task(_sweep_timeouts(app))
            if announce:
                print(banner(settings), flush=True)
            yield
        finally:
            if sweeper:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            if exams:
                await exams.stop()  # each exam still running ends `stopped`, its fault rules taken out
            if webhooks:
                await app.state.webhooks.stop()  # a fixture's reset may have started another
            await store.close()

    url_map = routes()
    served = host_guard.served_names(settings.host, settings.public_url, settings.allowed_hosts)
    app = Starlette(exception_handlers=handlers,
                    middleware=[Middleware(host_guard.HostGuard, names=served, reject=unknown_host),
                                Middleware(EventsHotPath, routes=url_map), Middleware(SecurityHeaders),
                                Middleware(sessions.SessionMiddleware)])
    app.router = IndexedRouter(url_map, lifespan=lifespan)  # Starlette's, with its exact paths indexed
    for name, value in memory_state(settings).items():
        setattr(app.state, name, value)
    return app


def memory_state(settings: Settings, *, reuse: Any = None) -> dict[str, Any]:
    """What a new app holds in memory (its lifespan adds the store and webhook delivery). The fixtures' reset
    (reset.py) puts a fresh set back, taking from `reuse` (an app's state) what never changes."""
    changes = ChangeFeed()
    return {
        "settings": settings,
        "clock": Clock(),
        "changes": changes,
        "journal_signal": Signal(),  # poked after every journaled events request (sandbox waits)
        "faults": FaultBook(),  # sandbox fault rules in force (kept in SQLite too)
        "rate_limiter": SlidingWindowLimiter(),  # PagerDuty's events rate limit, off until turned on
        "templates": reuse.templates if reuse is not None else _templates(),
        "live": LiveVersions(changes),
        # failed sign-ins per email, and per client address (everyone on a laptop shares 127.0.0.1): web/auth.py
        "login_failures": FailureWindow(limit=10, window_seconds=300),
        "login_failures_by_address": FailureWindow(limit=30, window_seconds=300),
        # Events API checks (--strict)
        "strict": reuse.strict if reuse is not None else _strict_checker() if settings.strict else None,
    }
