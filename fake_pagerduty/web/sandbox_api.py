"""The sandbox controls, `/_sandbox/…`: what a partner developer cannot get from real PagerDuty.

Reset, a state dump, the events journal (with long-poll waits), fault injection, PagerDuty's rate limit, the
sandbox clock and partner app registration. JSON in, JSON out; errors are `{"error": {"message", "code",
"errors"?}}` with `code` equal to the HTTP status. Documented in README.md ("Sandbox controls") and in
`fake_pagerduty/openapi/sandbox.json` (served at `/_sandbox/openapi.json`).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty import reset as sandbox_reset
from fake_pagerduty import seed
from fake_pagerduty.domain import ids, lifecycle
from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.domain.faults import FaultRule, parse_rule
from fake_pagerduty.domain.partner_apps import merge_partner_app
from fake_pagerduty.domain.rate_limits import RateLimitSettings, parse_settings
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.store import JournalQuery
from fake_pagerduty.web.journal_view import journal_event

STATE_LIMIT = 1000
JOURNAL_DEFAULT_LIMIT = 100
JOURNAL_MAX_LIMIT = 1000
WAIT_DEFAULT_SECONDS = 10.0
WAIT_MAX_SECONDS = 60.0
MAX_ADVANCE_SECONDS = 10 * 365 * 86400
RATE_LIMITS = "rate_limits"
CLOCK_OFFSET = "clock_offset_seconds"
_RULE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Handler = Callable[[Request], Awaitable[Response]]


# ---- plumbing -------------------------------------------------------------------------------------------


def _authorized(request: Request) -> bool:
    settings = request.app.state.settings
    token = settings.sandbox_token
    if not token:
        return not settings.sandbox_token_required  # off loopback without a token: closed
    sent = request.headers.get("x-sandbox-token", "")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        sent = value.strip()
    return hmac.compare_digest(sent.encode(), token.encode())


def _cross_origin(request: Request) -> bool:
    """A browser request sent by another site's page (a form or fetch aimed at this sandbox). Browsers always
    send `Origin` on such requests; clients like httpx or curl send none."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    allowed = {request.headers.get("host", "")}
    public = request.app.state.settings.public_url
    if public:
        allowed.add(urlsplit(public).netloc)
    return urlsplit(origin).netloc not in allowed


def guarded(handler: Handler) -> Handler:
    """Sandbox controls need the sandbox token when one is set, and always off loopback; browsers may call
    them only from the sandbox's own pages. (Pages of a rebound name never get here: web/host_guard.py.)"""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        if _cross_origin(request):
            raise SandboxError(403, "Cross-origin requests to the sandbox controls are refused")
        if not _authorized(request):
            raise SandboxError.unauthorized()
        return await handler(request)

    return wrapper


async def _json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise SandboxError.invalid(["the request needs a JSON body"])
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        raise SandboxError.invalid(["the body is not valid JSON"]) from None


def _number(request: Request, name: str, default: float, low: float, high: float, *, whole: bool) -> Any:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not (low <= value <= high):
        kind = "a whole number" if whole else "a number"
        raise SandboxError.invalid([f"'{name}' must be {kind} between {low:g} and {high:g}"])
    return value


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "").lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SandboxError.invalid([f"'{name}' must be true or false"])


def _list(request: Request, name: str) -> tuple[str, ...]:
    """A filter that takes several values: repeated (`?outcome=a&outcome=b`) or comma-separated."""
    values = []
    for item in request.query_params.getlist(name):
        values.extend(part.strip() for part in item.split(",") if part.strip())
    return tuple(values)


def _clock(state: Any) -> dict:
    return {"now": iso(state.clock.now()), "offset_seconds": state.clock.offset.total_seconds()}


async def restore(state: Any) -> None:
    """At start: bring back the fault rules, rate-limit setting and clock offset kept in SQLite."""
    state.faults.replace(await state.store.sandbox.fault_rules())
    saved = await state.store.sandbox.setting(RATE_LIMITS)
    limits = parse_settings(saved, RateLimitSettings()) if saved else RateLimitSettings()
    state.rate_limiter.configure(limits if isinstance(limits, RateLimitSettings) else RateLimitSettings())
    offset = await state.store.sandbox.setting(CLOCK_OFFSET)
    if isinstance(offset, int | float) and offset > 0:
        state.clock.reset(offset)


# ---- reset and state ------------------------------------------------------------------------------------


@guarded
async def reset(request: Request) -> Response:
    state = request.app.state
    full = _flag(request, "full")
    try:
        deleted = await sandbox_reset.reset(state, full=full)
    except seed.SeedError as exc:
        raise SandboxError(409, "The sandbox was wiped but its seed could not be applied", [str(exc)]) from None
    return JSONResponse({"status": "reset", "full": full, "deleted": deleted,
                         "last_event_id": await state.store.journal.last_id()})


@guarded
async def state_dump(request: Request) -> Response:
    state = request.app.state
    limit = _number(request, "limit", STATE_LIMIT, 1, STATE_LIMIT, whole=True)
    snap = await state.store.sandbox.snapshot(limit=limit)
    incident_count, change_count = snap.pop("incident_count"), snap.pop("change_event_count")
    delivery_count = snap["webhooks"].pop("delivery_count")
    return JSONResponse({
        "generated_at": iso(state.clock.now()),
        "clock": _clock(state),
        "limits": {"incidents": limit, "change_events": limit, "webhook_deliveries": limit,
                   "note": "incidents, change events and webhook deliveries are the newest ones, up to the limit"},
        "truncated": {"incidents": incident_count > len(snap["incidents"]),
                      "change_events": change_count > len(snap["change_events"]),
                      "webhook_deliveries": delivery_count > len(snap["webhooks"]["deliveries"])},
        "totals": {"incidents": incident_count, "change_events": change_count, "webhook_deliveries": delivery_count},
        **snap,
        "faults": [rule.to_dict() for rule in state.faults.rules()],
        "rate_limits": state.rate_limiter.settings.to_dict(),
    })


# ---- the journal ----------------------------------------------------------------------------------------


def _journal_query(request: Request) -> JournalQuery:
    params = request.query_params
    since_id = since_time = None
    since = params.get("since", "").strip()
    if since:
        if since.isdigit():
            since_id = int(since)
        elif (moment := parse_iso(since)) is not None:
            since_time = iso(moment)
        else:
            raise SandboxError.invalid(["'since' must be a journal id or an ISO 8601 time"])
    after = params.get("after_id", "").strip()
    if after and not after.isdigit():
        raise SandboxError.invalid(["'after_id' must be a journal id (a whole number)"])
    return JournalQuery(
        routing_key=params.get("routing_key") or None,
        dedup_key=params.get("dedup_key") or None,
        outcomes=_list(request, "outcome"),
        apis=_list(request, "api"),
        incident_id=params.get("incident_id") or None,
        fault_id=params.get("fault_id") or None,
        since_id=since_id,
        since_time=since_time,
        after_id=int(after) if after else None,
    )


@guarded
async def events(request: Request) -> Response:
    store = request.app.state.store
    query = _journal_query(request)
    limit = _number(request, "limit", JOURNAL_DEFAULT_LIMIT, 1, JOURNAL_MAX_LIMIT, whole=True)
    offset = _number(request, "offset", 0, 0, 10**9, whole=True)
    order = request.query_params.get("order", "desc").lower()
    if order not in ("asc", "desc"):
        raise SandboxError.invalid(["'order' must be asc or desc"])
    rows, total, last_id = await store.journal.page(query, limit=limit, offset=offset, newest_first=order == "desc")
    found = [journal_event(row) for row in rows]
    return JSONResponse({"events": found, "limit": limit, "offset": offset, "more": offset + len(found) < total,
                         "total": total, "last_event_id": last_id})


def _timeout(request: Request) -> float:
    return _number(request, "timeout", WAIT_DEFAULT_SECONDS, 0, WAIT_MAX_SECONDS, whole=False)


async def _wait_for(check: Callable[[], Awaitable[Any]], wake: Callable[[], asyncio.Future],
                    patience: float, what: str) -> Any:
    """Return `check()` as soon as it finds something; wake up only when `wake()`'s future is set."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        waiter = wake()  # before the check: a change between check and await still wakes us
        try:
            found = await check()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SandboxError(408, f"Timed out waiting for a matching {what}")
            try:
                await asyncio.wait_for(asyncio.shield(waiter), remaining)
            except TimeoutError:
                pass
        finally:
            waiter.cancel()


@guarded
async def wait_for_event(request: Request) -> Response:
    state = request.app.state
    query = _journal_query(request)
    async def first_match() -> dict | None:
        row = await state.store.journal.first_match(query)
        return journal_event(row) if row else None

    found = await _wait_for(first_match, state.journal_signal.waiter,
                            _timeout(request), "event")
    return JSONResponse({"event": found})


@guarded
async def wait_for_incident(request: Request) -> Response:
    state = request.app.state
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in lifecycle.INCIDENT_STATUSES:
        raise SandboxError.invalid(["'status' must be one of: triggered acknowledged resolved"])
    number = _number(request, "incident_number", 0, 1, 10**12, whole=True) or None
    filters = {"status": status, "incident_key": params.get("incident_key") or None,
               "service_id": params.get("service_id") or None, "incident_number": number}

    def wake() -> asyncio.Future:
        """Incidents change through events (the journal) and everything that publishes to `changes`."""
        future = asyncio.get_running_loop().create_future()

        def poke(*_: Any) -> None:
            if not future.done():
                future.set_result(None)

        journal = state.journal_signal.waiter()
        journal.add_done_callback(poke)
        stop_listening = state.changes.listen(poke)
        future.add_done_callback(lambda _: (stop_listening(), journal.cancel()))
        return future

    found = await _wait_for(lambda: state.store.incidents.find_newest(**filters), wake, _timeout(request),
                            "incident")
    return JSONResponse({"incident": found})


# ---- faults ---------------------------------------------------------------------------------------------


def _rule(doc: Any, *, taken: set[str], now: str, where: str = "") -> FaultRule:
    rule_id = doc.get("id") if isinstance(doc, dict) else None
    problems = []
    if rule_id is None:
        rule_id = "F" + ids.short_id()[1:]
        while rule_id in taken:
            rule_id = "F" + ids.short_id()[1:]
    elif not (isinstance(rule_id, str) and _RULE_ID.match(rule_id)):
        problems.append("'id' must be 1 to 64 letters, digits, '.', '_' or '-'")
    elif rule_id in taken:
        raise SandboxError(409, f"A fault rule with id {rule_id!r} already exists")
    rule = parse_rule(doc, id=rule_id or "", created_at=now)
    if isinstance(rule, list):
        problems.extend(rule)
    if problems:
        raise SandboxError.invalid([where + p for p in problems], "Invalid fault rule")
    taken.add(rule.id)
    return rule


@guarded
async def list_faults(request: Request) -> Response:
    return JSONResponse({"faults": [rule.to_dict() for rule in request.app.state.faults.rules()]})


@guarded
async def add_fault(request: Request) -> Response:
    state = request.app.state
    taken = {rule.id for rule in state.faults.rules()}
    rule = _rule(await _json_body(request), taken=taken, now=iso(state.clock.now()))
    await state.store.sandbox.add_fault_rule(rule)
    state.faults.add(rule)
    return JSONResponse({"fault": rule.to_dict()}, status_code=201)


@guarded
async def replace_faults(request: Request) -> Response:
    state = request.app.state
    doc = await _json_body(request)
    items = doc.get("faults") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise SandboxError.invalid(["the body must be {\"faults\": [rule, …]} or a list of rules"],
                                   "Invalid fault rule")
    taken: set[str] = set()
    now = iso(state.clock.now())
    rules = [_rule(item, taken=taken, now=now, where=f"faults[{i}]: ") for i, item in enumerate(items)]
    await state.store.sandbox.replace_fault_rules(rules)
    state.faults.replace(rules)
    return JSONResponse({"faults": [rule.to_dict() for rule in rules]})


@guarded
async def clear_faults(request: Request) -> Response:
    state = request.app.state
    count = len(state.faults.rules())
    await state.store.sandbox.replace_fault_rules([])
    state.faults.clear()
    return JSONResponse({"deleted": count})


def _fault(request: Request) -> FaultRule:
    rule_id = request.path_params["fault_id"]
    rule = request.app.state.faults.get(rule_id)
    if rule is None:
        raise SandboxError.not_found(f"No fault rule with id {rule_id!r}")
    return rule


@guarded
async def get_fault(request: Request) -> Response:
    return JSONResponse({"fault": _fault(request).to_dict()})


@guarded
async def delete_fault(request: Request) -> Response:
    state = request.app.state
    rule = _fault(request)
    await state.store.sandbox.delete_fault_rule(rule.id)
    state.faults.remove(rule.id)
    return JSONResponse({"deleted": 1})


# ---- rate limits and the clock ----------------------------------------------------------------------------


@guarded
async def get_rate_limits(request: Request) -> Response:
    return JSONResponse(request.app.state.rate_limiter.settings.to_dict())


@guarded
async def put_rate_limits(request: Request) -> Response:
    state = request.app.state
    changed = parse_settings(await _json_body(request), state.rate_limiter.settings)
    if isinstance(changed, list):
        raise SandboxError.invalid(changed)
    await state.store.sandbox.put_setting(RATE_LIMITS, changed.to_dict())
    state.rate_limiter.configure(changed)
    return JSONResponse(changed.to_dict())


@guarded
async def get_clock(request: Request) -> Response:
    return JSONResponse(_clock(request.app.state))


@guarded
async def advance_clock(request: Request) -> Response:
    state = request.app.state
    doc = await _json_body(request)
    seconds = doc.get("advance_seconds") if isinstance(doc, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
        raise SandboxError.invalid([f"'advance_seconds' must be a number between 0 and {MAX_ADVANCE_SECONDS}"])
    offset = state.clock.offset.total_seconds() + seconds
    await state.store.sandbox.put_setting(CLOCK_OFFSET, offset)
    state.clock.reset(offset)
    changes = await state.store.incidents.apply_due_timeouts(state.clock.now())
    state.changes.publish(changes)
    return JSONResponse({**_clock(state), "applied": [
        {"incident_id": change.incident_id, "event_type": change.event_type} for change in changes]})


# ---- partner apps -----------------------------------------------------------------------------------------


@guarded
async def list_partner_apps(request: Request) -> Response:
    return JSONResponse({"partner_apps": await request.app.state.store.partner_apps.all()})


@guarded
async def get_partner_app(request: Request) -> Response:
    vendor_key = request.path_params["vendor_key"]
    app = await request.app.state.store.partner_apps.get(vendor_key)
    if app is None:
        raise SandboxError.not_found(f"No partner app with vendor key {vendor_key!r}")
    return JSONResponse({"partner_app": app})


@guarded
async def put_partner_app(request: Request) -> Response:
    state = request.app.state
    vendor_key = request.path_params["vendor_key"]
    current = await state.store.partner_apps.get(vendor_key)
    merged = merge_partner_app(vendor_key, await _json_body(request), current, new_app_id=ids.short_id(),
                               default_origins=seed.LOOPBACK_ORIGINS)
    if isinstance(merged, list):
        raise SandboxError.invalid(merged, "Invalid partner app")
    holder = await state.store.partner_apps.by_app_id(merged["app_id"])
    if holder is not None and holder["vendor_key"] != vendor_key:
        raise SandboxError(409, f"Partner app {holder['vendor_key']!r} already has app id {merged['app_id']!r}")
    await state.store.partner_apps.upsert(vendor_key=vendor_key, now=state.clock.now(), **merged)
    return JSONResponse({"partner_app": await state.store.partner_apps.get(vendor_key)},
                        status_code=200 if current else 201)


@guarded
async def delete_partner_app(request: Request) -> Response:
    vendor_key = request.path_params["vendor_key"]
    if not await request.app.state.store.partner_apps.delete(vendor_key):
        raise SandboxError.not_found(f"No partner app with vendor key {vendor_key!r}")
    return JSONResponse({"deleted": 1})


# ---- documents ----------------------------------------------------------------------------------------------


async def openapi(request: Request) -> Response:
    text = (resources.files("fake_pagerduty") / "openapi" / "sandbox.json").read_text(encoding="utf-8")
    return Response(text, media_type="application/json")


async def page(request: Request) -> Response:
    """The Sandbox page for people: live journal and the controls, driving this JSON API with fetch."""
    settings = request.app.state.settings
    return request.app.state.templates.TemplateResponse(
        request, "sandbox.html", {"token_required": bool(settings.sandbox_token) or settings.sandbox_token_required}
    )
