"""The JSON API: servers and faults, alerts, rules, the integration."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from demo_monitor import json_body
from demo_monitor.exceptions import BadRequest, NotFound
from demo_monitor.web import fleet_view
from demo_monitor.web.errors import UnsupportedMediaType

MAX_BODY = 64 * 1024


async def _json_body(request: Request, *, required: bool = True) -> dict:
    body = await request.body()
    if not body.strip():
        if required:
            raise BadRequest('Send a JSON object, e.g. {"metric": "memory_usage", "value": 98}.')
        return {}
    if len(body) > MAX_BODY:
        raise BadRequest("The body is too large.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        # browsers cannot send application/json across origins without asking first: this is our CSRF guard
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        data = json_body.parse(body)
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


async def servers(request: Request):
    monitor = request.app.state.monitor
    return JSONResponse({"servers": fleet_view.servers_json(monitor.fleet, monitor.rules)})


async def server(request: Request):
    monitor = request.app.state.monitor
    return JSONResponse(fleet_view.server_json(monitor.fleet, monitor.rules, request.path_params["name"]))


async def server_history(request: Request):
    monitor = request.app.state.monitor
    name = monitor.fleet.server(request.path_params["name"]).name
    return JSONResponse({"server": name, "history": monitor.fleet.history(name),
                         "thresholds": fleet_view.thresholds(monitor.rules)})


async def fault(request: Request):
    monitor = request.app.state.monitor
    name = monitor.fleet.server(request.path_params["name"]).name
    if request.method == "POST":
        data = await _json_body(request)
        return JSONResponse(await monitor.set_fault(name, data.get("metric"), data.get("value")))
    data = await _json_body(request, required=False)
    metric = data.get("metric", request.query_params.get("metric"))
    return JSONResponse(await monitor.clear_fault(name, metric))


async def alerts(request: Request):
    monitor = request.app.state.monitor
    items = await monitor.alerts_json(state=request.query_params.get("state") or None, limit=500)
    return JSONResponse({"alerts": items})


async def alert(request: Request):
    _, data, _ = await request.app.state.monitor.alert_json_by_id(request.path_params["alert_id"])
    return JSONResponse(data)


async def alert_action(request: Request):
    action = request.path_params["action"]
    if action not in ("acknowledge", "resolve"):
        raise NotFound("There is no such action.")
    monitor = request.app.state.monitor
    await monitor.alert_json_by_id(request.path_params["alert_id"])  # an unknown alert is a 404, whatever the body
    # a state change: even without a body it must come as application/json (no cross-site form posts)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("Send the request as application/json.")
    data = await _json_body(request, required=False)
    who = data.get("by") if isinstance(data.get("by"), str) and data.get("by") else "API user"
    updated = await monitor.act_on_alert(request.path_params["alert_id"], action, who=who[:100])
    _, body, _ = await monitor.alert_json_by_id(updated.id)
    return JSONResponse(body)


async def rules(request: Request):
    return JSONResponse({"rules": [r.as_json() for r in request.app.state.monitor.rules]})


async def integration(request: Request):
    return JSONResponse(await request.app.state.connection.integration_json())


async def health(request: Request):
    return JSONResponse({"status": "ok"})
