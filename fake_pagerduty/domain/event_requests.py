"""What an Events API request's body comes to, before anything is stored: strict JSON, the keys the journal
files it under, PagerDuty's validation, and the exact answer.

The Events API handler runs `decide` for every request it does not answer with a fault, and the events writer
applies what it decided (under `fake-pagerduty serve`, in a process of its own: the stage that limits, so this
work stays off it). An alert's body is made again from the request the journal keeps (`alert_body`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from fake_pagerduty.domain import ids
from fake_pagerduty.domain.events import AlertEvent, ChangeEvent, validate_change, validate_v1, validate_v2
from fake_pagerduty.errors import EventsApiError, compact_json

SUCCESS = {"status": "success", "message": "Event processed"}


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
class Surface:
    """What differs between the three endpoints: how keys are named, what success looks like."""

    api: str
    status: int
    routing_field: str
    dedup_field: str | None
    action_field: str | None
    validate: Callable[[dict], Any]
    echo_field: str | None


V1 = Surface("v1", 200, "service_key", "incident_key", "event_type", validate_v1, "incident_key")
V2 = Surface("v2", 202, "routing_key", "dedup_key", "event_action", validate_v2, "dedup_key")
CHANGE = Surface("change", 202, "routing_key", None, None, validate_change, None)


SURFACES = {surface.api: surface for surface in (V1, V2, CHANGE)}


def keys(surface: Surface, doc: dict) -> tuple[str | None, str | None, str | None]:
    """The journal's routing key, dedup key and action for a request (its raw values, cut to 255)."""
    return (_key(doc, surface.routing_field),
            _key(doc, surface.dedup_field) if surface.dedup_field else None,
            _key(doc, surface.action_field) if surface.action_field else "change")


@dataclass
class Decision:
    """The answer to give (`status`, `body`), the event to apply (None: refused, `detail` says why), and the
    keys to journal the request under."""

    status: int
    body: str
    event: AlertEvent | ChangeEvent | None = None
    detail: str = ""
    routing_key: str | None = None
    dedup_key: str | None = None
    action: str | None = None


def refusal(error: EventsApiError) -> Decision:
    detail = "; ".join(error.body["errors"])  # every Events API refusal names its problems
    return Decision(error.status, compact_json(error.body), detail=detail)


def decide(surface: Surface, raw_body: bytes) -> Decision:
    try:
        doc = parse_document(raw_body)
    except EventsApiError as exc:
        return _keyed(refusal(exc), surface, {})
    event = surface.validate(doc)
    if isinstance(event, list):
        return _keyed(refusal(EventsApiError.invalid(event)), surface, doc)
    decision = _keyed(Decision(surface.status, _SUCCESS_JSON, event), surface, doc)
    if isinstance(event, AlertEvent):
        if event.dedup_key is None:  # PagerDuty makes one up, and answers with it
            decision.event = event = event.with_dedup_key(ids.dedup_key())
        decision.dedup_key = event.dedup_key
        decision.body = success_body(surface.echo_field, event.dedup_key)
    return decision


_SUCCESS_JSON = compact_json(SUCCESS)


def success_body(echo_field: str, key: str) -> str:
    """`compact_json({**SUCCESS, echo_field: key})`, made as text: every event answers with it, and the dict and
    the encoder's pass over it cost ten times the key's own encoding."""
    return f'{_SUCCESS_JSON[:-1]},"{echo_field}":{encode_basestring(key)}}}'


def alert_body(api: str, raw_body: bytes, alert_key: str) -> dict:
    """The body of the alert a request opened (`AlertEvent.alert_body`), from the request as the journal keeps it:
    what `decide` made of it then, under the alert's key (the one PagerDuty made up, when the request had none).
    An alert does not store its body again; reads make it from here. {} for a request that opens no alert."""
    surface = SURFACES.get(api)
    try:
        event = surface.validate(parse_document(raw_body)) if surface else None
    except EventsApiError:
        event = None
    if not isinstance(event, AlertEvent):
        return {}
    return (event if event.dedup_key == alert_key else event.with_dedup_key(alert_key)).alert_body()


def _keyed(decision: Decision, surface: Surface, doc: dict) -> Decision:
    decision.routing_key, decision.dedup_key, decision.action = keys(surface, doc)
    return decision
