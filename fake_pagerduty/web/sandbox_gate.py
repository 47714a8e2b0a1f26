"""The sandbox controls' one hook in the Events API handlers: injected faults, then the rate limit.

`intercept(state, receive, entry, arrived)` runs after the body is read and its keys are picked out, before
validation and processing. It returns the response to send (a fault's answer, or PagerDuty's throttle error),
already journaled; or None to carry on (after any injected latency). `timed` gives an exam watching the key when a
request arrived and when it was answered.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import State
from starlette.responses import Response
from starlette.types import Receive

from fake_pagerduty.domain import lifecycle
from fake_pagerduty.domain.faults import FaultRule
from fake_pagerduty.errors import EventsApiError, compact_json, fault_body
from fake_pagerduty.store import JournalEntry

FAULT = "fault"  # the journal outcome of a request answered or cut by a fault rule
THROTTLED = "throttled"  # the journal detail of a request refused by the rate limit


class ConnectionCut(Exception):  # noqa: N818 - it names what happened, like ClientDisconnect
    """A fault rule cut the connection, but the server gives no socket to close (an in-process ASGI
    transport, as in tests): the client sees this exception instead of a dropped connection."""


def _transport(receive: object) -> object | None:
    """The socket transport behind uvicorn's ASGI `receive` (its request cycle holds it), if any."""
    owner = getattr(receive, "__self__", None)
    for _ in range(4):  # through a middleware's wrapped receive, if someone adds one
        if owner is None:
            return None
        transport = getattr(owner, "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            return transport
        inner = getattr(owner, "_receive", None) or getattr(owner, "receive", None)
        owner = getattr(inner, "__self__", None)
    return None


async def _cut_connection(receive: Receive) -> Response:
    transport = _transport(receive)
    if transport is None:
        raise ConnectionCut("the sandbox cut the connection (fault rule)")
    transport.abort()  # closes the socket now: the client gets no status line, no headers, nothing
    await asyncio.sleep(0)  # let the server notice, so it discards what follows
    return Response(status_code=500)  # never reaches the client: the connection is gone


def _fault_answer(rule: FaultRule, api: str) -> Response:
    if rule.body is None:
        text, media_type = fault_body(rule.status, api)
    elif isinstance(rule.body, str):
        text, media_type = rule.body, "text/plain"
    else:
        text, media_type = compact_json(rule.body), "application/json"
    return Response(text, status_code=rule.status, media_type=media_type)


async def _journal(state: State, entry: JournalEntry, arrived: float) -> None:
    journal_id = await state.store.events.record(entry)
    timed(state, entry, journal_id, arrived)
    state.journal_signal.notify()


def timed(state: State, entry: JournalEntry, journal_id: int, arrived: float) -> None:
    """The request journaled as `journal_id` is answered now: its times to an exam watching its key, whose backoff
    check measures a client's waits from one answer to its next request (`exam_runner.ExamRunner.timed`)."""
    exams = getattr(state, "exams", None)  # made by the app's lifespan
    if exams is not None:
        exams.timed(entry.routing_key, journal_id, arrived)


def active(state: State) -> bool:
    """Whether any fault rule or the rate limit is in force: only then does a request need its keys first."""
    return len(state.faults) > 0 or state.rate_limiter.settings.enabled


async def intercept(state: State, receive: Receive, entry: JournalEntry, arrived: float) -> Response | None:
    rule = state.faults.pick(entry.api, entry.path, entry.routing_key)
    if rule is not None:
        entry.fault_id = rule.id
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.disconnect or rule.status is not None:
            entry.outcome, entry.outcome_detail = FAULT, rule.describe()
            if rule.disconnect:
                entry.response_status, entry.response_body = 0, ""
                await _journal(state, entry, arrived)
                return await _cut_connection(receive)
            response = _fault_answer(rule, entry.api)
            entry.response_status, entry.response_body = response.status_code, response.body.decode("utf-8")
            await _journal(state, entry, arrived)
            return response
        entry.warnings.append(rule.describe())
    limiter = state.rate_limiter
    if entry.routing_key and limiter.settings.enabled and not limiter.allow(entry.routing_key,
                                                                           state.clock.now().timestamp()):
        error = EventsApiError.throttled(entry.api)
        entry.response_status, entry.response_body = error.status, compact_json(error.body)
        entry.outcome, entry.outcome_detail = lifecycle.REJECTED, THROTTLED
        await _journal(state, entry, arrived)
        return error.response()
    return None
