"""Resetting the sandbox: one place for `POST /_sandbox/reset[?full=true]` and for the pytest fixtures, which
start one app and reset it between tests instead of building an app per test.

- `reset(state)`: activity goes (journal, incidents, …, fault rules, rate limit, clock offset); seeded things
  that are missing come back; everything else stays.
- `reset(state, full=True)`: every table back to the seeded rows, and the in-memory controls back to new (fault
  rules, rate limit, clock, failed sign-ins per email and per address). Journal ids keep counting. The seeded
  rows are kept after the first full reset and put back in one statement batch (`store.sandbox.restore_rows`),
  so a full reset costs about as much as a partial one.
- `SandboxApp.reset()` (the fixtures): a full reset, and then the app exactly as a new one: ids from 1, every
  in-memory piece of `app.state` new (clock, faults, rate limiter, change feed, live versions, journal signal,
  failed sign-ins), webhook delivery restarted (or kept, if it never had anything to do: it is then as a new
  one would be), and whatever a test put on `app.state` gone.
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.applications import Starlette

from fake_pagerduty import seed, seed_people
from fake_pagerduty.domain.rate_limits import RateLimitSettings

SEEDED_ROWS = "seeded_rows"  # app.state attribute: (seed file contents, Store.seeded_rows())


def _seed_source(settings: Any) -> bytes | object | None:
    """What the seeded rows were made from besides the default seed: the seed file's contents (re-read at each
    reset, as the slow path does, so an edited file is applied)."""
    if not settings.seed_file:
        return None
    try:
        return settings.seed_file.read_bytes()
    except OSError:
        return object()  # never equal: the slow path reads it again and says what is wrong


async def _seed(state: Any, *, missing_only: bool) -> None:
    """What the app's start does too (`seed.seed_sandbox`): the default seed, then the seed file."""
    await seed.seed_sandbox(state.store, state.settings.seed_file, state.clock.now(), missing_only=missing_only)


async def _back_to_seeded(state: Any, *, restart_ids: bool, count: bool) -> dict[str, int]:
    """Every table back to the seeded rows; the first time (or after the seed file changed) by wiping and
    seeding, which also keeps the seeded rows for the next time."""
    store = state.store
    # Seeded schedules start on the seeding day (seed_people.py): kept rows from another day are made again.
    source = (_seed_source(state.settings), seed_people.seed_day(state.clock.now()))
    kept = getattr(state, SEEDED_ROWS, None)
    if kept is not None and kept[0] == source:
        return await store.sandbox.restore_rows(kept[1], restart_ids=restart_ids, count=count)
    setattr(state, SEEDED_ROWS, None)
    deleted = await store.sandbox.reset(full=True)
    await _seed(state, missing_only=False)  # raises seed.SeedError: the tables stay wiped, as before
    rows = await store.sandbox.seeded_rows()
    setattr(state, SEEDED_ROWS, (source, rows))
    if restart_ids:
        await store.sandbox.restore_rows(rows, restart_ids=True)
    return deleted


def _reset_controls(state: Any, *, full: bool) -> None:
    state.faults.clear()
    state.rate_limiter.configure(RateLimitSettings())
    state.clock.reset()
    if full:  # failed sign-ins are forgotten, per email and per address
        from fake_pagerduty.app import memory_state

        fresh = memory_state(state.settings, reuse=state)
        state.login_failures = fresh["login_failures"]
        state.login_failures_by_address = fresh["login_failures_by_address"]


async def reset(state: Any, *, full: bool = False) -> dict[str, int]:
    """`POST /_sandbox/reset[?full=true]`. Returns how many rows each wiped table held. Raises
    `seed.SeedError` when the seed file cannot be applied (the sandbox is wiped all the same)."""
    await state.exams.stop()  # an exam running ends `stopped`: what it watched is being wiped
    _reset_controls(state, full=full)
    try:
        if full:
            return await _back_to_seeded(state, restart_ids=False, count=True)
        deleted = await state.store.sandbox.reset(full=False)
        await _seed(state, missing_only=True)
        return deleted
    finally:  # live pages open meanwhile (the console, the phone) show the wiped incidents no more
        state.live.start_again()


class SandboxApp:
    """A sandbox app whose lifespan is entered once and that is reset as new between tests:

        async with SandboxApp(settings) as sandbox:
            await sandbox.reset()           # before each test
            async with sandbox.client() as client: ...
    """

    def __init__(self, settings: Any) -> None:
        from fake_pagerduty.app import create_app

        self.settings = settings
        self.app: Starlette = create_app(settings)
        self._stack = contextlib.AsyncExitStack()
        self._started: dict[str, Any] = {}

    async def __aenter__(self) -> SandboxApp:
        await self._stack.enter_async_context(self.app.router.lifespan_context(self.app))
        self._started = dict(self.app.state._state)  # what the lifespan left: the store, webhook delivery
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._stack.aclose()

    async def reset(self) -> None:
        """Back to what a new app would be: database, ids, in-memory state, webhook delivery."""
        from fake_pagerduty.app import memory_state
        from fake_pagerduty.webhooks import Webhooks

        state = self.app.state
        await state.exams.stop()
        webhooks = state.webhooks
        # Webhook delivery that never had anything to do (no target, no delivery: most tests) is kept, held
        # while the tables are put back; any other is stopped first (it makes its last deliveries: nothing
        # writes while the tables are replaced) and a new one started after.
        kept = isinstance(webhooks, Webhooks) and webhooks.idle()
        if kept:
            webhooks.hold()
        else:
            await webhooks.stop()
        try:
            state.clock.reset()  # seeded schedules start on the seeding day (the rest is made new below)
            await _back_to_seeded(state, restart_ids=True, count=False)
        finally:
            seeded = getattr(state, SEEDED_ROWS, None)
            values = state._state
            values.clear()  # drops whatever a test set (webhook_transport, …)
            values.update(self._started)  # puts back anything a test replaced
            values.update(memory_state(self.settings, reuse=state))
            values[SEEDED_ROWS] = seeded
            if kept:
                state.webhooks = webhooks
                webhooks.resume()  # on the new change feed
            else:
                state.webhooks = Webhooks(state)  # the lifespan stops app.state.webhooks, whichever it is by then
                await state.webhooks.start()

    def client(self, base_url: str = "http://fake-pagerduty.test", **kwargs: Any):
        """An httpx.AsyncClient bound to the app in-process (`.app` is the app)."""
        import httpx

        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url, **kwargs)
        client.app = self.app
        return client
