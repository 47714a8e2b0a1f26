"""Outbound v3 webhooks: incident changes become durable delivery rows, and one worker sends them.

Every incident change a webhook may be sent for is written to `webhook_changes` in the same transaction as the
change itself (see the store). The writer task here, woken by `app.state.changes` and at start, turns those
rows into signed delivery rows and deletes them, in one short transaction: so a change committed before a
crash still gets its deliveries after the restart, exactly once. The delivery worker sends due rows with
`httpx.AsyncClient`, retries failures with exponential backoff (`Settings.webhook_backoff_seconds`, doubling,
up to `Settings.webhook_max_attempts`), keeps the order of events per incident and target, and picks pending
rows up again after a restart. A crash between a send and its being marked delivered sends it again, with the
same `X-Webhook-Id` (at least once, as PagerDuty's own deliveries are; receivers deduplicate on that id).

Hooks for tests: `app.state.webhook_transport` (an httpx transport, e.g. `httpx.MockTransport` or an
`httpx.ASGITransport` to a partner app; read on every request, so it can be set before or after the lifespan
starts), `app.state.webhooks.wake()`, and `await app.state.webhooks.wait_until(check)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from fake_pagerduty.domain import ids, rest_objects
from fake_pagerduty.domain import webhooks as rules
from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.domain.incident_change import IncidentChange
from fake_pagerduty.webhook_guard import OwnAddressGuard

log = logging.getLogger("fake_pagerduty.webhooks")
T = TypeVar("T")
IDLE_RECHECK_SECONDS = 1.0  # re-read the schedule at least this often (the sandbox clock can jump forward)
BATCH = 20
SHUTDOWN_DRAIN_SECONDS = 5.0
CHANGES_PER_BATCH = 200


class StateTransport(httpx.AsyncBaseTransport):
    """Sends through `state.webhook_transport` when one is set (tests may set or swap it at any time),
    else over the network. Webhook deliveries use it, and the exam's webhook probes (exam_runner.py)."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._network: httpx.AsyncHTTPTransport | None = None  # made on first use: its TLS setup costs ~40 ms

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = getattr(self._state, "webhook_transport", None)
        if transport is None:
            if self._network is None:
                self._network = httpx.AsyncHTTPTransport()
            transport = self._network
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._network is not None:
            await self._network.aclose()


async def _cancelled(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Webhooks:
    def __init__(self, state: Any) -> None:
        self._state = state
        self._changes_waiting = asyncio.Event()
        self._wake = asyncio.Event()
        self._progress = 0
        self._progressed = asyncio.Condition()
        self._tasks: list[asyncio.Task] = []
        self._unlisten: Callable[[], None] | None = None
        self._guard = OwnAddressGuard(state)  # never a delivery to the sandbox's own address and port
        self._had_work = False  # a target found, a delivery queued or due: see `idle`
        self._passes = 0  # the writer's and the worker's passes under way
        self._awake = asyncio.Event()  # cleared while held (`hold`)
        self._awake.set()

    # ---- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._unlisten = self._state.changes.listen(self._on_changes)
        self._changes_waiting.set()  # changes committed before a stop or a crash
        self._tasks = [
            asyncio.create_task(self._write_deliveries(), name="webhook-writer"),
            asyncio.create_task(self._deliver(), name="webhook-worker"),
        ]

    async def stop(self) -> None:
        if self._unlisten:
            self._unlisten()
            self._unlisten = None
        if not self._tasks:
            return
        writer, worker = self._tasks
        self._tasks = []
        await _cancelled(writer)  # first: its pass in hand must not run beside the last one (deliveries twice)
        with contextlib.suppress(TimeoutError):  # what is left waits in `webhook_changes` for the next start
            await asyncio.wait_for(self._make_deliveries(), SHUTDOWN_DRAIN_SECONDS)
        await _cancelled(worker)

    def idle(self) -> bool:
        """True while running, asleep (no pass under way, no delivery asked for) and, since it started, never
        having found a webhook target, queued a delivery or had one due: nothing is being sent or waits to be.
        The fixtures' reset keeps such a one (`hold`, the tables put back, `resume`) instead of stopping it and
        starting another, which would look at the tables again for nothing."""
        return bool(self._tasks) and not self._had_work and not self._passes and not self._wake.is_set()

    def hold(self) -> None:
        """No pass starts, and no change is heard, until `resume` (a pass already asked for waits till then)."""
        self._awake.clear()
        if self._unlisten:
            self._unlisten()
            self._unlisten = None

    def resume(self) -> None:
        """Listen to `state.changes` as it is now (the reset puts a new change feed in place), and go on."""
        self.hold()
        self._unlisten = self._state.changes.listen(self._on_changes)
        self._awake.set()

    def wake(self) -> None:
        """Make the worker look for due deliveries now (after new rows, or after the clock moved)."""
        self._wake.set()

    async def wait_until(self, check: Callable[[], Awaitable[T]]) -> T:
        """Wait until `await check()` is truthy, re-checking each time the writer or the worker made progress;
        returns its value. Callers bound the wait with `asyncio.timeout()` if they need to."""
        while True:
            seen = self._progress
            result = await check()
            if result:
                return result
            async with self._progressed:
                await self._progressed.wait_for(lambda seen=seen: self._progress != seen)

    async def _made_progress(self) -> None:
        async with self._progressed:
            self._progress += 1
            self._progressed.notify_all()

    # ---- recorded changes -> delivery rows ---------------------------------------------------------------

    def _on_changes(self, changes: list[IncidentChange]) -> None:
        if not self._state.store.webhooks.known_without_targets():
            self._changes_waiting.set()

    async def _write_deliveries(self) -> None:
        while True:
            await self._changes_waiting.wait()
            await self._awake.wait()
            self._changes_waiting.clear()
            self._passes += 1
            try:
                await self._make_deliveries()
            except Exception:  # the rows stay: tried again on the next change, or the next start
                log.exception("could not queue webhook deliveries")
            finally:
                self._passes -= 1
            await self._made_progress()

    async def _make_deliveries(self) -> None:
        """Turn every recorded change into delivery rows, in order, a batch per transaction."""
        store = self._state.store
        # Whether any target exists is remembered until the next write (`known_without_targets`): while none
        # does, changes no longer wake this writer at all (events write no webhook_changes rows then).
        if await store.webhooks.any_targets():
            self._had_work = True
        while pending := await store.webhooks.pending_changes(CHANGES_PER_BATCH):
            self._had_work = True
            changes = [change for _, change in pending]
            targets = await store.webhooks.targets([c.incident_id for c in changes])
            deliveries = []
            for change in changes:
                wanted = [t for t in targets.get(change.incident_id, ()) if rules.takes(t, change.event_type)]
                if wanted:
                    deliveries.extend(await self._deliveries_for(change, wanted))
            await store.webhooks.add_deliveries(deliveries, self._state.clock.now(), [n for n, _ in pending])
            if deliveries:
                self.wake()

    async def _deliveries_for(self, change: IncidentChange, targets: list[dict]) -> list[dict]:
        store = self._state.store
        context = await store.webhooks.event_context(
            change.incident_id, rules.LOG_ENTRY_TYPE[change.event_type],
            first=change.event_type == "incident.triggered",
        )
        if context is None:
            return []
        incident = context["incident"]
        service_id = incident["service_id"]
        base_url = self._state.settings.base_url
        entry = context["log_entry"]
        agent = entry["agent"] if entry else json.loads(incident.get("last_status_change_by") or "null")
        # The incident as the event left it, even if it has changed again since.
        row = {**incident, "status": rules.STATUS_AFTER.get(change.event_type, incident["status"])}
        counts = await store.incidents.alert_counts([incident["id"]])
        shown = rest_objects.incident(base_url, row, counts.get(incident["id"]))  # as GET /incidents/{id} shows it
        first = (await store.incidents.first_trigger_log_entries([incident["id"]])).get(incident["id"])
        policy_id = shown["escalation_policy"]["id"]
        team = (await store.services.policy_teams([policy_id])).get(policy_id)
        shown.update(rest_objects.incident_extras(base_url, first, team))
        event_id = ids.uuid()
        body = rules.event_body(
            event_id=event_id,
            event_type=change.event_type,
            occurred_at=entry["created_at"] if entry else incident["updated_at"],
            agent=rest_objects.agent_reference(base_url, agent, service_id),
            client=rules.client_of(entry["channel"] if entry else None),
            data=rules.event_data(shown),
        )
        deliveries = []
        for target in targets:
            webhook_id = ids.uuid()
            deliveries.append(
                {
                    "webhook_id": webhook_id,
                    "event_id": event_id,
                    "event_type": change.event_type,
                    "account_id": change.account_id,
                    "service_id": service_id,
                    "incident_id": change.incident_id,
                    "target": target["target"],
                    "subscription_id": target["subscription_id"],
                    "vendor_key": target["vendor_key"],
                    "url": target["url"],
                    "headers": rules.delivery_headers(
                        body=body, secret=target["secret"], webhook_id=webhook_id,
                        subscription_id=target["label"], custom_headers=target["custom_headers"],
                    ),
                    "body": body.decode("utf-8"),
                }
            )
        return deliveries

    async def ping(self, subscription: dict) -> None:
        """Queue a `pagey.ping` test event to one subscription (`POST /webhook_subscriptions/{id}/ping`)."""
        self._had_work = True
        now = self._state.clock.now()
        event_id, webhook_id = ids.uuid(), ids.uuid()
        body = rules.ping_body(event_id=event_id, occurred_at=iso(now))
        await self._state.store.webhooks.add_deliveries(
            [{
                "webhook_id": webhook_id,
                "event_id": event_id,
                "event_type": "pagey.ping",
                "account_id": subscription["account_id"],
                "service_id": None,  # about no service and no incident: ordered only among the target's pings
                "incident_id": "",
                "target": f"subscription:{subscription['id']}",
                "subscription_id": subscription["id"],
                "vendor_key": None,
                "url": subscription["url"],
                "headers": rules.delivery_headers(
                    body=body, secret=subscription["secret"], webhook_id=webhook_id,
                    subscription_id=subscription["id"], custom_headers=json.loads(subscription["custom_headers"]),
                ),
                "body": body.decode("utf-8"),
            }],
            now,
        )
        self.wake()

    # ---- the delivery worker -----------------------------------------------------------------------------

    async def _deliver(self) -> None:
        settings = self._state.settings
        async with httpx.AsyncClient(
            transport=StateTransport(self._state), timeout=settings.webhook_timeout_seconds, trust_env=False,
            follow_redirects=False,
        ) as client:
            while True:
                await self._awake.wait()
                self._wake.clear()
                batch: list[dict] = []
                self._passes += 1
                try:
                    batch = await self._state.store.webhooks.due_deliveries(self._state.clock.now(), BATCH)
                    self._had_work = self._had_work or bool(batch)
                    await asyncio.gather(*(self._attempt(client, d) for d in batch))
                    delay = None if batch else await self._delay()
                    self._had_work = self._had_work or delay is not None
                except Exception:  # the store failed: try again shortly
                    log.exception("webhook delivery pass failed")
                    delay = IDLE_RECHECK_SECONDS
                    self._had_work = True  # it looks again soon: not a sleeping worker
                finally:
                    self._passes -= 1
                await self._made_progress()
                if batch:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    async def _delay(self) -> float | None:
        """Seconds until the next pending delivery falls due (at most IDLE_RECHECK_SECONDS); None if none."""
        next_at = await self._state.store.webhooks.next_attempt_at()
        if next_at is None:
            return None
        due = parse_iso(next_at)
        wait = (due - self._state.clock.now()).total_seconds() if due else 0.0
        return min(max(wait, 0.0), IDLE_RECHECK_SECONDS)

    async def _attempt(self, client: httpx.AsyncClient, delivery: dict) -> None:
        settings = self._state.settings
        status_code: int | None = None
        error: str | None = None
        refused: str | None = None
        try:
            error = refused = await self._guard.refusal(delivery["url"])
            if refused is None:
                response = await client.post(
                    delivery["url"], content=delivery["body"].encode("utf-8"), headers=delivery["headers"]
                )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
        except Exception as exc:  # network errors, timeouts, bad URLs: all count as a failed attempt
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        now = self._state.clock.now()
        attempts = delivery["attempts"] + 1
        next_attempt_at = None
        if error is None:
            status = "delivered"
        elif refused or attempts >= settings.webhook_max_attempts:  # a refused URL stays refused: no retry
            status = "failed"
        else:
            status = "pending"
            next_attempt_at = rules.next_attempt_at(now, attempts, settings.webhook_backoff_seconds)
        await self._state.store.webhooks.record_attempt(
            delivery["id"], status=status, status_code=status_code, error=error,
            next_attempt_at=next_attempt_at, now=now,
        )
