"""Events API handlers: v1 generic events, v2 alert events and change events.

Every request is journaled, whatever becomes of it. A 2xx leaves only after the event and its effect are
committed to SQLite.

The three endpoints are the sandbox's hot path, so each is a bare ASGI app (`EventsEndpoint`) behind its
`Route` in routes.py: no Starlette Request or Response per event — the body is read from `receive` and the
answer sent with `send`. POSTs reach it straight from the app's first middleware (`events_hot_path.py`); other
methods still go through the router, which answers 405 with `Allow: POST`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fake_pagerduty.domain import ids, lifecycle
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.events import MAX_BODY_BYTES, AlertEvent, validate_change, validate_v1, validate_v2
from fake_pagerduty.errors import EventsApiError, compact_json
from fake_pagerduty.store import JournalEntry
from fake_pagerduty.web import sandbox_gate

SUCCESS = {"status": "success", "message": "Event processed"}
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite)  # made once, used per event


def parse_document(raw: bytes) -> dict:
    """Strict JSON: UTF-8, no NaN/Infinity, an object at the top. Raises EventsApiError otherwise."""
    try:
        doc = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise EventsApiError.unrecognized() from None
    if not isinstance(doc, dict):
        raise EventsApiError.unrecognized()
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(doc):
        raise EventsApiError.unrecognized()  # "\ud800" alone is not text: it could be neither stored nor echoed
    return doc


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodable(doc: Any) -> bool:
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


def _key(doc: dict, name: str) -> str | None:
    value = doc.get(name)
    return value[:255] if isinstance(value, str) else None


@dataclass(frozen=True)
class _Surface:
    """What differs between the three endpoints: how keys are named, what success looks like."""

    api: str
    status: int
    routing_field: str
    dedup_field: str | None
    action_field: str | None
    validate: Callable[[dict], Any]
    echo_field: str | None


V1 = _Surface("v1", 200, "service_key", "incident_key", "event_type", validate_v1, "incident_key")
V2 = _Surface("v2", 202, "routing_key", "dedup_key", "event_action", validate_v2, "dedup_key")
CHANGE = _Surface("change", 202, "routing_key", None, None, validate_change, None)


async def _handle(scope: Scope, receive: Receive, send: Send, surface: _Surface) -> None:
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
        try:
            entry.raw_body = await _read_body(scope, receive)
        except _BodyTooLarge:
            raise EventsApiError.too_large(MAX_BODY_BYTES) from None
        try:
            doc, unparsable = parse_document(entry.raw_body), None
        except EventsApiError as exc:
            doc, unparsable = {}, exc
        if strict is not None and unparsable is None:
            entry.warnings += strict.body_warnings(surface.api, doc)
        entry.routing_key = _key(doc, surface.routing_field)
        if surface.dedup_field:
            entry.dedup_key = _key(doc, surface.dedup_field)
        if surface.action_field:
            entry.action = _key(doc, surface.action_field)
        answer = await sandbox_gate.intercept(state, receive, entry)  # sandbox faults and rate limit, journaled
        if answer is not None:
            _log_warnings(entry)
            await answer(scope, receive, send)
            return
        if unparsable:
            raise unparsable
        event = surface.validate(doc)
        if isinstance(event, list):
            raise EventsApiError.invalid(event)
    except EventsApiError as exc:
        entry.response_status, entry.response_body = exc.status, compact_json(exc.body)
        entry.outcome = lifecycle.REJECTED
        entry.outcome_detail = "; ".join(exc.body.get("errors", [])) or exc.body.get("message", "")
        await state.store.record_request(entry)
        state.journal_signal.notify()
        _log_warnings(entry)
        await _send_json(send, exc.status, entry.response_body)
        return
    except ClientDisconnect:
        await Response(status_code=400)(scope, receive, send)
        return

    body = dict(SUCCESS)
    if isinstance(event, AlertEvent):
        if event.dedup_key is None:
            event = event.with_dedup_key(ids.dedup_key())
        entry.dedup_key = event.dedup_key
        body[surface.echo_field] = event.dedup_key
        entry.response_status, entry.response_body = surface.status, compact_json(body)
        result = await state.store.apply_alert_event(event, entry, now)
    else:
        entry.response_status, entry.response_body = surface.status, compact_json(body)
        result = await state.store.apply_change_event(event, entry, now)
    state.journal_signal.notify()
    state.changes.publish(result.changes)
    _log_warnings(entry)
    await _send_json(send, surface.status, entry.response_body)


def _log_warnings(entry: JournalEntry) -> None:
    """Strict mode's warnings, on the console as well as in the journal."""
    for warning in entry.warnings:
        strict_log.warning("strict: %s %s (%s): %s", entry.method, entry.path, entry.dedup_key or "-", warning)


class EventsEndpoint:
    """One Events API endpoint as an ASGI app. Being an object rather than a function, Starlette's `Route`
    calls it with (scope, receive, send) as it is, after matching the path and method."""

    def __init__(self, surface: _Surface) -> None:
        self.surface = surface

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _handle(scope, receive, send, self.surface)


create_event_v1 = EventsEndpoint(V1)
enqueue_v2 = EventsEndpoint(V2)
enqueue_change = EventsEndpoint(CHANGE)
