"""Events API handlers: v1 generic events, v2 alert events and change events.

Every request is journaled, whatever becomes of it. A 2xx leaves only after the event and its effect are
committed to SQLite. The handler reads the body, lets the sandbox's faults and rate limit have their say (they
need the keys, so only then does it parse the body first), decides what the body comes to (parsing, validation,
the answer: `domain/event_requests.py`) and has the events writer apply that, then answers. Deciding here keeps
that work off the events writer, the stage that limits the Events API's throughput (docs/benchmarks.md).

The three endpoints are the sandbox's hot path, so each is a bare ASGI app (`EventsEndpoint`) behind its
`Route` in routes.py: no Starlette Request or Response per event — the body is read from `receive` and the
answer sent with `send`. POSTs reach it straight from the app's first middleware (`events_hot_path.py`); other
methods still go through the router, which answers 405 with `Allow: POST`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fake_pagerduty.domain import event_requests, lifecycle
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.event_requests import CHANGE, V1, V2, Surface, parse_document
from fake_pagerduty.domain.events import MAX_BODY_BYTES
from fake_pagerduty.errors import EventsApiError
from fake_pagerduty.store import JournalEntry
from fake_pagerduty.web import sandbox_gate

strict_log = logging.getLogger("fake_pagerduty.strict")


class _BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (ASGI servers give names in lower case)."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    declared = _header(scope, b"content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_json(send: Send, status: int, body: str) -> None:
    """What Starlette's `Response(body, status, media_type="application/json")` sends, without the object."""
    data = body.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(data)).encode()), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})


async def _handle(scope: Scope, receive: Receive, send: Send, surface: Surface) -> None:
    state = scope["app"].state
    now = state.clock.now()
    content_type = _header(scope, b"content-type")
    entry = JournalEntry(
        received_at=iso(now), api=surface.api, method=scope["method"], path=scope["path"],
        content_type=None if content_type is None else content_type.decode("latin-1"), raw_body=b"",
        response_status=0, response_body="", action="change" if surface is CHANGE else None,
    )
    strict = state.strict  # a StrictChecker with --strict, else None: nothing more to do
    if strict is not None:
        entry.warnings = strict.content_type_warnings(entry.content_type)
    try:
        entry.raw_body = await _read_body(scope, receive)
    except _BodyTooLarge:
        await _refuse(state, send, entry, event_requests.refusal(EventsApiError.too_large(MAX_BODY_BYTES)))
        return
    except ClientDisconnect:
        await Response(status_code=400)(scope, receive, send)
        return
    arrived = None  # only where faults or the rate limit are in force: an exam's backoff check times its requests
    if strict is not None or sandbox_gate.active(state):  # they need the body's keys before anything is done
        arrived = time.time()
        try:
            doc = parse_document(entry.raw_body)
        except EventsApiError:
            doc = {}
        else:
            if strict is not None:
                entry.warnings += strict.body_warnings(surface.api, doc)
        entry.routing_key, entry.dedup_key, entry.action = event_requests.keys(surface, doc)
        answer = await sandbox_gate.intercept(state, receive, entry, arrived)  # faults and rate limit, journaled
        if answer is not None:
            _log_warnings(entry)
            await answer(scope, receive, send)
            return
    decision = event_requests.decide(surface, entry.raw_body)  # here: the events writer only applies it
    result = await state.store.events.apply(entry, decision, now)  # applied and journaled, committed
    if arrived is not None:
        sandbox_gate.timed(state, entry, result.journal_id, arrived)
    state.journal_signal.notify()
    state.changes.publish(result.changes)
    _log_warnings(entry)
    await _send_json(send, decision.status, decision.body)


async def _refuse(state: Any, send: Send, entry: JournalEntry, decision: event_requests.Decision) -> None:
    """A request refused before its body could be read: journaled, then answered."""
    entry.response_status, entry.response_body = decision.status, decision.body
    entry.outcome, entry.outcome_detail = lifecycle.REJECTED, decision.detail
    await state.store.events.record(entry)
    state.journal_signal.notify()
    _log_warnings(entry)
    await _send_json(send, decision.status, decision.body)


def _log_warnings(entry: JournalEntry) -> None:
    """Strict mode's warnings, on the console as well as in the journal."""
    for warning in entry.warnings:
        strict_log.warning("strict: %s %s (%s): %s", entry.method, entry.path, entry.dedup_key or "-", warning)


class EventsEndpoint:
    """One Events API endpoint as an ASGI app. Being an object rather than a function, Starlette's `Route`
    calls it with (scope, receive, send) as it is, after matching the path and method."""

    def __init__(self, surface: Surface) -> None:
        self.surface = surface

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _handle(scope, receive, send, self.surface)


create_event_v1 = EventsEndpoint(V1)
enqueue_v2 = EventsEndpoint(V2)
enqueue_change = EventsEndpoint(CHANGE)
