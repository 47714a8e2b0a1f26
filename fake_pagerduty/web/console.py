"""The incident console: incidents (live), one incident, services, one journal event.

Every page is scoped to the signed-in person's account; another account's ids are 404 pages. Acknowledge and
Resolve are POST forms with the session's CSRF token; they are logged with the person's user reference and
published to `app.state.changes` (live pages and webhooks).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from fake_pagerduty.domain import alert_view, incident_actions, notes
from fake_pagerduty.domain.callbacks import safe_next
from fake_pagerduty.errors import PageError
from fake_pagerduty.web import console_text, sessions

PAGE_SIZE = 50
FILTERS = {
    "all": None,
    "open": ("triggered", "acknowledged"),
    "triggered": ("triggered",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
}


def _render(request: Request, template: str, context: dict, status: int = 200, headers: dict | None = None):
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status,
                                                        headers=headers)


def _not_found(what: str) -> PageError:
    return PageError(404, f"{what} not found", f"This account has no such {what.lower()}.")


async def home(request: Request) -> Response:
    return RedirectResponse("/incidents", status_code=302)


# ---- incidents -------------------------------------------------------------------------------------------


def _listing(request: Request) -> tuple[str, int | None]:
    status = request.query_params.get("status", "all")
    if status not in FILTERS:
        status = "all"
    before = request.query_params.get("before", "")
    return status, int(before) if before.isdigit() and len(before) < 12 else None


async def _rows(request: Request, session: dict, status: str, before: int | None) -> tuple[list[dict], int | None]:
    rows = await request.app.state.store.incidents.newest(
        session["account_id"], statuses=FILTERS[status], before=before, limit=PAGE_SIZE + 1
    )
    older = rows[PAGE_SIZE - 1]["incident_number"] if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], older


def _here(status: str, before: int | None) -> str:
    query = {"status": status} | ({"before": str(before)} if before is not None else {})
    return "/incidents?" + urlencode(query)


async def incidents(request: Request) -> Response:
    session = sessions.require(request)
    status, before = _listing(request)
    version = request.app.state.live.version(session["account_id"])  # before reading, so no change is missed
    rows, older = await _rows(request, session, status, before)
    live_query = urlencode({"status": status} | ({"before": str(before)} if before is not None else {}))
    return _render(request, "incidents.html", {
        "nav": "incidents", "incidents": rows, "status": status, "filters": list(FILTERS), "before": before,
        "older": older, "version": version, "live_url": f"/incidents/live?{live_query}",
        "here": _here(status, before),
    })


async def incidents_live(request: Request) -> Response:
    """The rows of the incidents table, for the page's poller: 204 when the account has not changed."""
    session = sessions.current(request)
    if session is None:
        return Response(status_code=401)
    status, before = _listing(request)
    version = request.app.state.live.version(session["account_id"])
    if request.query_params.get("v") == version:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    rows, _ = await _rows(request, session, status, before)
    return _render(request, "_incident_rows.html", {"incidents": rows, "here": _here(status, before)},
                   headers={"X-Console-Version": version, "Cache-Control": "no-store"})


async def incident_detail(request: Request) -> Response:
    session = sessions.require(request)
    store = request.app.state.store
    version = request.app.state.live.version(session["account_id"])  # before reading, so no change is missed
    incident = await store.incidents.get(session["account_id"], request.path_params["incident_id"])
    if incident is None:
        raise _not_found("Incident")
    alerts = []
    for alert in await store.incidents.alerts(incident["id"]):
        body = alert["body"] if isinstance(alert["body"], dict) else {}
        alerts.append({
            **alert,
            "rows": alert_view.detail_rows(body.get("details")),
            "links": alert_view.links(alert_view.contexts(body, "link")),
            "images": alert_view.images(alert_view.contexts(body, "image")),
            "source": alert_view.source_link(body.get("client"), body.get("client_url")),
            "payload": body.get("payload") if isinstance(body.get("payload"), dict) else {},
        })
    names = {i["id"]: i["name"] for i in await store.services.integrations_with_vendor(incident["service_id"]) if i.get("name")}
    timeline = [
        {**entry, "label": console_text.label(entry), "who": console_text.who(entry, names)}
        for entry in await store.incidents.log_entries(incident["id"])
    ]
    first = {kind: next((e["created_at"] for e in timeline if e["type"] == kind), None)
             for kind in ("acknowledge_log_entry", "resolve_log_entry")}
    deliveries = _deliveries(await store.webhooks.deliveries_for_incident(incident["id"]))
    return _render(request, "incident.html", {
        "nav": "incidents", "incident": incident, "alerts": alerts, "timeline": timeline, "deliveries": deliveries,
        "acknowledged_at": first["acknowledge_log_entry"], "resolved_at": first["resolve_log_entry"],
        "here": f"/incidents/{incident['id']}", "version": version, "fingerprint": _fingerprint(incident),
        **console_text.people(incident), "notes": await store.notes.for_incident(incident["id"]),
        "notifications": await store.incidents.escalations.for_incident(incident["id"]),
    })


def _fingerprint(incident: dict) -> str:
    """What an open incident page shows that can change: it reloads when this does."""
    return f"{incident['status']}|{incident['updated_at']}"


async def incident_live(request: Request) -> Response:
    """For an open incident page: 204 while the account has not changed; else the incident's fingerprint."""
    session = sessions.current(request)
    if session is None:
        return Response(status_code=401)
    version = request.app.state.live.version(session["account_id"])
    if request.query_params.get("v") == version:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    incident = await request.app.state.store.incidents.get(session["account_id"], request.path_params["incident_id"])
    if incident is None:
        return Response(status_code=404)
    return JSONResponse({"version": version, "fingerprint": _fingerprint(incident)},
                        headers={"Cache-Control": "no-store"})


async def _change_status(request: Request, status: str) -> Response:
    session = sessions.require(request)
    form = await request.form()
    sessions.check_csrf(request, form)
    incident_id = request.path_params["incident_id"]
    user = {"id": session["user_id"], "name": session["user_name"]}
    try:
        changes = await request.app.state.store.incidents.change_status(
            session["account_id"], [incident_actions.StatusChange(incident_id, status)], user,
            request.app.state.clock.now(), channel="website",
        )
    except incident_actions.IncidentNotFound:
        raise _not_found("Incident") from None
    except incident_actions.IncidentAlreadyResolved:
        changes = []  # resolved meanwhile (another tab, the API, the monitor): nothing to do
    request.app.state.changes.publish(changes)
    back = form.get("next")
    return RedirectResponse(safe_next(back if isinstance(back, str) else None, f"/incidents/{incident_id}"),
                            status_code=303)


async def acknowledge(request: Request) -> Response:
    return await _change_status(request, "acknowledged")


async def add_note(request: Request) -> Response:
    """The incident page's note form: a note by the signed-in person (channel `website`)."""
    session = sessions.require(request)
    form = await request.form()
    sessions.check_csrf(request, form)
    state = request.app.state
    incident = await state.store.incidents.get(session["account_id"], request.path_params["incident_id"])
    if incident is None:
        raise _not_found("Incident")
    content = form.get("content")
    problem = notes.content_error(content)
    if problem is not None:
        raise PageError(400, "The note was not added", f"{problem}. Go back and try again.")
    user = {"id": session["user_id"], "name": session["user_name"]}
    try:
        _, changes = await state.store.notes.add(session["account_id"], incident["id"], user, content.strip(), "website",
                                                 state.clock.now())
    except notes.TooManyNotes:
        raise PageError(400, "Too many notes", "An incident holds at most 2,000 notes.") from None
    state.changes.publish(changes)
    return RedirectResponse(f"/incidents/{incident['id']}#notes", status_code=303)


async def resolve(request: Request) -> Response:
    return await _change_status(request, "resolved")


# ---- services --------------------------------------------------------------------------------------------


async def services(request: Request) -> Response:
    session = sessions.require(request)
    rows = await request.app.state.store.services.with_counts(session["account_id"])
    return _render(request, "services.html", {"nav": "services", "services": rows})


async def service_detail(request: Request) -> Response:
    session = sessions.require(request)
    store = request.app.state.store
    service = await store.services.get(session["account_id"], request.path_params["service_id"])
    if service is None:
        raise _not_found("Service")
    return _render(request, "service.html", {
        "nav": "services", "service": service,
        "integrations": await store.services.integrations_with_vendor(service["id"]),
        "incidents": await store.incidents.newest(session["account_id"], service_id=service["id"], limit=20),
        "events": await store.journal.for_service(service["id"], limit=20),
        "deliveries": _deliveries(await store.webhooks.deliveries_for_service(service["id"], limit=20)),
        "here": f"/services/{service['id']}",
    })


# ---- webhook deliveries ----------------------------------------------------------------------------------


def _deliveries(rows: list[dict]) -> list[dict]:
    """Webhook deliveries for a page: who they went to, and the body as indented JSON."""
    out = []
    for row in rows:
        target = row.get("target") or ""
        kind, _, name = target.partition(":")
        out.append({**row, "pretty_body": _pretty_body(row.get("body")),
                    "to": {"subscription": "Subscription", "partner_app": "Partner app"}.get(kind, kind),
                    "to_name": name})
    return out


# ---- the journal -----------------------------------------------------------------------------------------


def _pretty_body(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


async def journal_event(request: Request) -> Response:
    session = sessions.require(request)
    event = await request.app.state.store.journal.account_entry(session["account_id"], request.path_params["event_id"])
    if event is None:
        raise _not_found("Event")
    return _render(request, "event.html", {
        "nav": "services", "event": event, "raw": _pretty_body(event["raw_body"]),
        "response": _pretty_body(event["response_body"]),
    })
