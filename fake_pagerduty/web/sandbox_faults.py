"""The sandbox controls that shape what events meet: fault rules (`/_sandbox/faults`), PagerDuty's events rate
limit (`/_sandbox/rate-limits`) and the sandbox clock (`/_sandbox/clock`). Each lives in memory on `app.state`
(`faults`, `rate_limiter`, `clock`: what `sandbox_gate.py` and the handlers consult) and in SQLite, which the
app's lifespan reads back at start (`app.py`)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import ids
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.domain.faults import FaultRule, parse_rule
from fake_pagerduty.domain.rate_limits import parse_settings
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.web.sandbox_access import guarded
from fake_pagerduty.web.sandbox_api import clock_json, json_body

MAX_ADVANCE_SECONDS = 10 * 365 * 86400
RATE_LIMITS = "rate_limits"  # the sandbox settings rows these controls keep
CLOCK_OFFSET = "clock_offset_seconds"
_RULE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


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
    rule = _rule(await json_body(request), taken=taken, now=iso(state.clock.now()))
    await state.store.sandbox.add_fault_rule(rule)
    state.faults.add(rule)
    return JSONResponse({"fault": rule.to_dict()}, status_code=201)


@guarded
async def replace_faults(request: Request) -> Response:
    state = request.app.state
    doc = await json_body(request)
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
    changed = parse_settings(await json_body(request), state.rate_limiter.settings)
    if isinstance(changed, list):
        raise SandboxError.invalid(changed)
    await state.store.sandbox.put_setting(RATE_LIMITS, changed.to_dict())
    state.rate_limiter.configure(changed)
    return JSONResponse(changed.to_dict())


@guarded
async def get_clock(request: Request) -> Response:
    return JSONResponse(clock_json(request.app.state))


@guarded
async def advance_clock(request: Request) -> Response:
    state = request.app.state
    doc = await json_body(request)
    seconds = doc.get("advance_seconds") if isinstance(doc, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
        raise SandboxError.invalid([f"'advance_seconds' must be a number between 0 and {MAX_ADVANCE_SECONDS}"])
    offset = state.clock.offset.total_seconds() + seconds
    await state.store.sandbox.put_setting(CLOCK_OFFSET, offset)
    state.clock.reset(offset)
    changes = await state.store.incidents.apply_due_timeouts(state.clock.now())
    state.changes.publish(changes)
    return JSONResponse({**clock_json(state), "applied": [
        {"incident_id": change.incident_id, "event_type": change.event_type} for change in changes]})
