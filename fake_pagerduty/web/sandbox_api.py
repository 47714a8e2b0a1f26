"""The sandbox controls, `/_sandbox/…`: what a partner developer cannot get from real PagerDuty.

This module: reset, the state dump, the Sandbox page and its OpenAPI document, and the request parsing every
control shares. The rest, by surface: `sandbox_journal.py` (the events journal and long-poll waits),
`sandbox_faults.py` (fault injection, PagerDuty's rate limit, the sandbox clock), `sandbox_partner_apps.py`
(partner app registration); who may call them, `sandbox_access.py`. JSON in, JSON out; errors are
`{"error": {"message", "code", "errors"?}}` with `code` equal to the HTTP status. Documented in README.md
("Sandbox controls") and in `fake_pagerduty/openapi/sandbox.json` (served at `/_sandbox/openapi.json`).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty import reset as sandbox_reset
from fake_pagerduty import seed
from fake_pagerduty.domain.clock import iso
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.web.sandbox_access import guarded, token_required

STATE_LIMIT = 1000


# ---- what every control's request parsing shares ----------------------------------------------------------


async def json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise SandboxError.invalid(["the request needs a JSON body"])
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        raise SandboxError.invalid(["the body is not valid JSON"]) from None


def number(request: Request, name: str, default: float, low: float, high: float, *, whole: bool) -> Any:
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


def paging(request: Request, default_limit: int, max_limit: int) -> tuple[int, int]:
    """`limit` and `offset` of a sandbox list (a 400 naming the parameter when out of range)."""
    return (number(request, "limit", default_limit, 1, max_limit, whole=True),
            number(request, "offset", 0, 0, 10**9, whole=True))


def page_json(key: str, rows: list, limit: int, offset: int, total: int, **extra: Any) -> dict:
    """A sandbox list's answer: the rows under `key`, the paging, and whether more follow."""
    return {key: rows, "limit": limit, "offset": offset, "more": offset + len(rows) < total, "total": total,
            **extra}


def flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "").lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SandboxError.invalid([f"'{name}' must be true or false"])


def listed(request: Request, name: str) -> tuple[str, ...]:
    """A filter that takes several values: repeated (`?outcome=a&outcome=b`) or comma-separated."""
    values = []
    for item in request.query_params.getlist(name):
        values.extend(part.strip() for part in item.split(",") if part.strip())
    return tuple(values)


def clock_json(state: Any) -> dict:
    return {"now": iso(state.clock.now()), "offset_seconds": state.clock.offset.total_seconds()}


# ---- reset and state ------------------------------------------------------------------------------------


@guarded
async def reset(request: Request) -> Response:
    state = request.app.state
    full = flag(request, "full")
    try:
        deleted = await sandbox_reset.reset(state, full=full)
    except seed.SeedError as exc:
        raise SandboxError(409, "The sandbox was wiped but its seed could not be applied", [str(exc)]) from None
    return JSONResponse({"status": "reset", "full": full, "deleted": deleted,
                         "last_event_id": await state.store.journal.last_id()})


@guarded
async def state_dump(request: Request) -> Response:
    state = request.app.state
    limit = number(request, "limit", STATE_LIMIT, 1, STATE_LIMIT, whole=True)
    snap = await state.store.sandbox.snapshot(limit=limit)
    incident_count, change_count = snap.pop("incident_count"), snap.pop("change_event_count")
    delivery_count = snap["webhooks"].pop("delivery_count")
    return JSONResponse({
        "generated_at": iso(state.clock.now()),
        "clock": clock_json(state),
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


# ---- documents ----------------------------------------------------------------------------------------------


async def openapi(request: Request) -> Response:
    text = (resources.files("fake_pagerduty") / "openapi" / "sandbox.json").read_text(encoding="utf-8")
    return Response(text, media_type="application/json")


async def page(request: Request) -> Response:
    """The Sandbox page for people: live journal and the controls, driving this JSON API with fetch. The OAuth
    apps (never their secrets) are in the page itself unless the controls need the sandbox token; then the page's
    script fetches them with it."""
    locked = token_required(request.app.state.settings)
    oauth_apps = [] if locked else await request.app.state.store.oauth.apps()
    return request.app.state.templates.TemplateResponse(
        request, "sandbox.html", {"token_required": locked, "oauth_apps": oauth_apps}
    )
