"""The on-call phone: `/responders/{user_id}`, a phone-sized page showing, live, the notifications a person
was sent (push and SMS, worded as PagerDuty words them), with Acknowledge and Resolve on each incident.

A demo device: nobody signs in. Its forms carry the browser's anonymous CSRF token (`sessions.browser_token`)
and act as that person — the log entries, `last_status_change_by` and the webhooks' agent name them, with
channel `mobile`. Live like the console's pages: the page asks every second whether the person's account
changed (`app.state.live`, no database read when nothing did) and swaps its feed when it did."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fake_pagerduty.domain import incident_actions
from fake_pagerduty.errors import PageError
from fake_pagerduty.web import sessions

STATUS_WORDS = {"triggered": "Triggered", "acknowledged": "Acknowledged", "resolved": "Resolved"}


def _not_found() -> PageError:
    return PageError(404, "No such responder", "This sandbox has no user with that id.")


async def _responder(request: Request) -> dict:
    user = await request.app.state.store.incidents.escalations.responder(request.path_params["user_id"])
    if user is None:
        raise _not_found()
    return user


def feed(rows: list[dict]) -> list[dict]:
    """Notifications (newest first) as the phone lists them: one card per incident, newest incident first,
    its notifications oldest first, with what the incident's status line says."""
    incidents: dict[str, dict] = {}
    for row in rows:
        card = incidents.get(row["incident_id"])
        if card is None:
            changed_by = json.loads(row["last_status_change_by"] or "null") or {}
            status = STATUS_WORDS.get(row["status"], row["status"])
            if row["status"] != "triggered" and changed_by.get("summary"):
                status += f" by {row.get('changed_by_integration') or changed_by['summary']}"
            card = incidents[row["incident_id"]] = {
                "id": row["incident_id"], "number": row["incident_number"], "title": row["title"],
                "status": row["status"], "status_text": status, "service_name": row["service_name"],
                "urgency": row["urgency"], "notifications": []}
        card["notifications"].insert(0, row)
    return list(incidents.values())


async def _context(request: Request, user: dict) -> dict:
    version = request.app.state.live.version(user["account_id"])  # before reading, so no change is missed
    rows = await request.app.state.store.incidents.escalations.for_user(user["id"])
    # the newest notification by its log entry's id, never used again (its `id`, a rowid, starts again after
    # a reset)
    return {"user": user, "incidents": feed(rows), "newest": rows[0]["log_entry_id"] if rows else "",
            "version": version, "here": f"/responders/{user['id']}"}


async def page(request: Request) -> Response:
    user = await _responder(request)
    context = await _context(request, user)
    return request.app.state.templates.TemplateResponse(request, "responder.html", context,
                                                        headers={"Cache-Control": "no-store"})


async def live(request: Request) -> Response:
    """The phone's feed when the account changed since version `v`; 204 while it has not."""
    user = await _responder(request)
    if request.query_params.get("v") == request.app.state.live.version(user["account_id"]):
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    context = await _context(request, user)
    return request.app.state.templates.TemplateResponse(
        request, "_responder_feed.html", context,
        headers={"X-Console-Version": context["version"], "Cache-Control": "no-store"})


async def _act(request: Request, status: str) -> Response:
    user = await _responder(request)
    form = await request.form()
    sessions.check_browser_csrf(request, form)
    incident_id = request.path_params["incident_id"]
    state = request.app.state
    try:
        changes = await state.store.incidents.change_status(
            user["account_id"], [incident_actions.StatusChange(incident_id, status)], user, state.clock.now(),
            channel="mobile")
    except incident_actions.IncidentNotFound:
        raise PageError(404, "Incident not found", "This person's account has no such incident.") from None
    except incident_actions.IncidentAlreadyResolved:
        changes = []  # resolved meanwhile (the console, the monitor, a teammate): nothing to do
    state.changes.publish(changes)
    return RedirectResponse(f"/responders/{user['id']}", status_code=303)


async def acknowledge(request: Request) -> Response:
    return await _act(request, incident_actions.ACKNOWLEDGED)


async def resolve(request: Request) -> Response:
    return await _act(request, incident_actions.RESOLVED)
