"""The integration exam, run in the app's background (issue 20): `POST /_sandbox/exam` starts one, this runs it.

For one routing key, the runner puts the seeded schedule's fault rules in force one at a time (each on the key's
next requests, `domain/exam.py`), waits until the sender got an event through again before the next one, and
stamps every journal row of the key as it appears (woken by the journal signal: the waits between a failure
and its retry, to within the few milliseconds a wake-up takes). Meanwhile it probes the partner app's webhook URL, if there is one, with a
genuine delivery, a forged one and a replayed one. When the schedule is done and every faulted event got
through (or the time is up), it grades the lot (`domain/exam.py`, `domain/report_checks.py`) and keeps the
result in the `exams` table. Progress is kept there too, so `GET /_sandbox/exam/{id}` works after a reload.

An exam stopped by the app's shutdown or a reset ends as `stopped`, its fault rules taken out; one left
`running` by a crash is marked `stopped` at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

import httpx

from fake_pagerduty.domain import exam as rules
from fake_pagerduty.domain import ids, report_checks, report_terms
from fake_pagerduty.domain import webhooks as webhook_rules
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.faults import parse_rule
from fake_pagerduty.webhook_guard import OwnAddressGuard
from fake_pagerduty.webhooks import StateTransport

log = logging.getLogger("fake_pagerduty.exam")
MAX_GRACE_SECONDS = 30.0  # after the schedule: how long faulted events may still take to get through
MAX_QUIET_SECONDS = 10.0
TICK_SECONDS = 0.5  # re-read the journal at least this often (a signal missed costs no more than this)
STOPPED = "stopped"
STOPPED_NOTE = "the exam was stopped (the sandbox stopped or was reset)"


def _rule_id(exam_id: str, number: int) -> str:
    """The fault rule of the exam's step `number` (its journal entries carry this fault_id)."""
    return f"exam-{exam_id}-{number}"


def grace_seconds(duration: float) -> float:
    return min(duration, MAX_GRACE_SECONDS)


def quiet_seconds(duration: float) -> float:
    """After the schedule, a sender silent this long is not going to send the events it lost."""
    return min(MAX_QUIET_SECONDS, max(1.0, duration / 2))


class _Watch:
    """The key's journal rows since the exam began, each stamped with when its request arrived and when its answer
    went: as the Events API handler timed it (`times`, from `ExamRunner.timed`), else when the row was first seen.
    A wait between two attempts is then the client's own, from one answer to the next request, without the
    sandbox's work on the first (which a loaded machine makes long: a client retrying at once looked patient)."""

    def __init__(self, state: Any, routing_key: str, since_id: int) -> None:
        self._state = state
        self.key = routing_key
        self.last_id = since_id
        self.rows: list[dict] = []
        self.times: dict[int, tuple[float, float]] = {}  # journal id -> (arrived, answered), epoch seconds
        self.stamps: dict[int, tuple[float, float | None]] = {}
        self.last_seen = asyncio.get_running_loop().time()  # loop time of the newest row's arrival

    async def refresh(self) -> None:
        now = time.time()  # woken by the row's journaling: before the read, which may wait for a reader
        rows = await self._state.store.exams.journal_rows(self.key, self.last_id)
        if rows:
            self.last_seen = asyncio.get_running_loop().time()
        for row in rows:
            self.stamps[row["id"]] = self.times.pop(row["id"], (now, None))
            self.rows.append(row)
            self.last_id = row["id"]

    def sent(self) -> list[report_terms.Sent]:
        return [report_terms.Sent.from_row(row, *self.stamps.get(row["id"], (None, None))) for row in self.rows]

    async def until(self, check, deadline: float) -> bool:
        """Wait until `check()` is true (re-checked on each new journal row), or the loop time `deadline`."""
        loop = asyncio.get_running_loop()
        while True:
            waiter = self._state.journal_signal.waiter()
            try:
                await self.refresh()
                if check():
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(waiter), min(remaining, TICK_SECONDS))
            finally:
                waiter.cancel()


class ExamRunner:
    def __init__(self, state: Any) -> None:
        self._state = state
        self._tasks: dict[str, asyncio.Task] = {}
        self._watches: dict[str, _Watch] = {}  # routing key -> the running exam's watch

    # ---- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """At the app's start: an exam a crash left running is over (its fault rules go)."""
        for exam in await self._state.store.exams.running():
            await self._end(exam["id"], exam["progress"], "the sandbox stopped before the exam ended")

    async def stop(self) -> None:
        """Stop every exam still running (the app's shutdown, a reset): each ends `stopped`."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for exam in await self._state.store.exams.running():  # cancelled before it ever ran
            await self._end(exam["id"], exam["progress"], STOPPED_NOTE)

    def timed(self, routing_key: str | None, journal_id: int, arrived: float) -> None:
        """The Events API handler answered a request journaled as `journal_id` that arrived at `arrived` (epoch
        seconds): kept, now as its answer's time, when an exam watches its key."""
        watch = self._watches.get(routing_key) if routing_key else None
        if watch is not None:
            watch.times[journal_id] = (arrived, time.time())

    async def wait(self, exam_id: str) -> None:
        """Until the exam ends (tests)."""
        task = self._tasks.get(exam_id)
        if task is not None:
            await asyncio.shield(task)

    # ---- starting one --------------------------------------------------------------------------------------

    async def running_for(self, routing_key: str) -> str | None:
        """The id of the exam running for this key, if one is (two at once would share their faults)."""
        return next((exam["id"] for exam in await self._state.store.exams.running()
                     if exam["routing_key"] == routing_key), None)

    async def begin(self, request: dict) -> dict:
        state = self._state
        exam_id = "E" + ids.short_id()[1:]
        steps = rules.plan(request["seed"], request["latency_ms"])
        progress = {"phase": "running", "step": 0, "steps": [{**s.to_dict(), "hits": []} for s in steps],
                    "note": "waiting for the client's next event", "webhooks": None}
        since_id = await state.store.journal.last_id()
        await state.store.exams.add(id=exam_id, routing_key=request["routing_key"],
                                    vendor_key=request["vendor_key"], seed=request["seed"],
                                    duration_seconds=request["duration_seconds"], started_at=iso(state.clock.now()),
                                    since_id=since_id, progress=progress)
        exam = await state.store.exams.get(exam_id)
        await self._put_in_force(exam, progress, 1)  # before the answer: the key's next request meets it
        exam["progress"] = progress
        task = asyncio.create_task(self._run(exam), name=f"exam-{exam_id}")
        self._tasks[exam_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(exam_id, None))
        return exam

    # ---- running one ---------------------------------------------------------------------------------------

    async def _run(self, exam: dict) -> None:
        progress = exam["progress"]
        try:
            await self._examine(exam, progress)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._end(exam["id"], progress, STOPPED_NOTE)
            raise
        except Exception as exc:
            log.exception("exam %s failed", exam["id"])
            with contextlib.suppress(Exception):
                await self._end(exam["id"], progress, f"the exam could not go on: {type(exc).__name__}")
        finally:
            self._watches.pop(exam["routing_key"], None)  # one exam per key at a time (`running_for`)

    async def _end(self, exam_id: str, progress: dict, why: str) -> None:
        state = self._state
        await self._remove_rules(exam_id)
        await state.store.exams.finish(exam_id, status=STOPPED, finished_at=iso(state.clock.now()),
                                       progress={**progress, "phase": STOPPED, "note": why}, result=None)

    async def _remove_rules(self, exam_id: str) -> None:
        for rule in self._state.faults.rules():
            if rule.id.startswith(f"exam-{exam_id}-"):
                await self._remove_rule(rule.id)

    async def _remove_rule(self, rule_id: str) -> None:
        """The fault rule out of the table and out of force (gone already if someone cleared the faults)."""
        await self._state.store.sandbox.delete_fault_rule(rule_id)
        self._state.faults.remove(rule_id)

    async def _examine(self, exam: dict, progress: dict) -> None:
        state = self._state
        loop = asyncio.get_running_loop()
        window_end = loop.time() + exam["duration_seconds"]
        watch = self._watches[exam["routing_key"]] = _Watch(state, exam["routing_key"], exam["since_id"])
        webhooks = asyncio.create_task(self._probe_webhooks(exam, progress))
        try:
            fired = await self._schedule(exam, progress, watch, window_end)
            progress.update(phase="settling", note="waiting for the events that met a fault to get through")
            await state.store.exams.progress(exam["id"], progress)

            quiet = quiet_seconds(exam["duration_seconds"])

            def settled() -> bool:
                return (all(f.delivered for f in rules.faulted(fired, watch.sent()))
                        or loop.time() - watch.last_seen >= quiet)

            await watch.until(settled, max(window_end, loop.time()) + grace_seconds(exam["duration_seconds"]))
            probes, why_not = await webhooks
        finally:
            webhooks.cancel()
            await self._remove_rules(exam["id"])
        await watch.refresh()
        sent = watch.sent()
        timeout = state.settings.webhook_timeout_seconds
        latency = next((s["rule"]["latency_ms"] for s in progress["steps"] if s["kind"] == "latency"),
                       rules.LATENCY_MS)
        groups = (("events", rules.grade_events(fired, sent, latency_ms=latency)),
                  ("webhooks", rules.grade_webhooks(probes, why_not=why_not, timeout=timeout)),
                  ("report", report_checks.report(sent, strict=state.strict is not None, resolved_at=await
                                                  state.store.exams.resolved_at([s.incident_id for s in sent]))))
        checks = [{**check.to_dict(), "group": group} for group, found in groups for check in found]
        result = {"status": report_terms.overall(checks), "checks": checks, "journal_ids": [s.id for s in sent]}
        ended = rules.exam_status(checks)
        progress.update(phase="done", note=rules.NOT_GRADED_NOTE if ended == "not_graded" else "graded")
        await state.store.exams.finish(exam["id"], status=ended,
                                       finished_at=iso(state.clock.now()), progress=progress, result=result)

    async def _schedule(self, exam: dict, progress: dict, watch: _Watch,
                        window_end: float) -> list[tuple[str, list[int]]]:
        """Each step's fault in force in turn; returns (kind, journal ids its rule answered) for those that fired."""
        state = self._state
        fired: list[tuple[str, list[int]]] = []
        for number, step in enumerate(progress["steps"], start=1):
            rule_id = _rule_id(exam["id"], number)
            if number > 1:  # the first was put in force before the exam was answered (begin)
                await self._put_in_force(exam, progress, number)

            def hits(rule_id: str = rule_id) -> list[int]:
                return [row["id"] for row in watch.rows if row["fault_id"] == rule_id]

            complete = await watch.until(lambda count=step["count"]: len(hits()) >= count, window_end)
            await self._remove_rule(rule_id)
            step["hits"] = hits()
            if step["hits"]:
                fired.append((step["kind"], step["hits"]))
            if not complete:
                break
            last = step["hits"][-1]
            recovered = await watch.until(
                lambda last=last: any(row["id"] >= last and 200 <= row["response_status"] < 300
                                      for row in watch.rows), window_end)
            await state.store.exams.progress(exam["id"], progress)
            if not recovered:
                break
        return fired

    async def _put_in_force(self, exam: dict, progress: dict, number: int) -> None:
        """Step `number`'s fault rule in force for the exam's key (and the progress saying so)."""
        state = self._state
        step = progress["steps"][number - 1]
        rule = parse_rule({**step["rule"], "routing_key": exam["routing_key"]}, id=_rule_id(exam["id"], number),
                          created_at=iso(state.clock.now()))
        assert not isinstance(rule, list), rule  # the schedule's own rules are valid
        await state.store.sandbox.add_fault_rule(rule)
        state.faults.add(rule)
        progress.update(step=number, note=f"fault in force: {step['rule']['label'].removeprefix('exam: ')}")
        await state.store.exams.progress(exam["id"], progress)

    # ---- the webhook probes --------------------------------------------------------------------------------

    async def _probe_webhooks(self, exam: dict, progress: dict) -> tuple[dict | None, str]:
        state = self._state
        target = await state.store.exams.webhook_target(exam["routing_key"], exam["vendor_key"])
        if target is None:
            return None, "No partner app with a webhook URL goes with this routing key (give vendor_key)."
        if not target["webhook_url"]:
            return None, f"The partner app {target['vendor_key']!r} has no webhook URL."
        url, secret = target["webhook_url"], target["webhook_secret"] or ""
        if await OwnAddressGuard(state).refusal(url):
            return None, f"The webhook URL {url} is the sandbox's own address."
        now = state.clock.now()
        stale = min(now, now - state.clock.offset) - timedelta(seconds=rules.WEBHOOK_STALE_SECONDS)
        timeout = state.settings.webhook_timeout_seconds
        probes: dict[str, dict] = {}
        async with httpx.AsyncClient(transport=StateTransport(state), timeout=timeout, trust_env=False,
                                     follow_redirects=False) as client:
            for probe, occurred_at, key in (("genuine", now, secret), ("forged", now, secret + "-forged"),
                                            ("replayed", stale, secret)):
                body = webhook_rules.ping_body(event_id=ids.uuid(), occurred_at=iso(occurred_at))
                headers = webhook_rules.delivery_headers(body=body, secret=key, webhook_id=ids.uuid(),
                                                         subscription_id=target["app_id"])
                started = time.monotonic()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    probes[probe] = {"status": response.status_code, "seconds": time.monotonic() - started,
                                     "error": None}
                except httpx.HTTPError as exc:
                    probes[probe] = {"status": None, "seconds": time.monotonic() - started,
                                     "error": f"{type(exc).__name__}: {exc}".rstrip(": ")}
        progress["webhooks"] = {"url": url, "probes": probes}
        return probes, ""
