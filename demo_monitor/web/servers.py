"""A server's page: live charts of every metric with threshold lines, and Break / Recover buttons."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse

from demo_monitor.domain.fleet import BREAK_VALUES, METRICS
from demo_monitor.exceptions import BadRequest
from demo_monitor.web import fleet_view
from demo_monitor.web.security import checked_form
from demo_monitor.web.templating import render


async def server_page(request: Request):
    monitor = request.app.state.monitor
    name = request.path_params["name"]
    server = fleet_view.server_json(monitor.fleet, monitor.rules, name)
    alerts = await monitor.alerts_json(server=name, limit=20)
    return await render(request, "server.html", {
        "server": server,
        "metrics": METRICS,
        "break_values": BREAK_VALUES,
        "history": monitor.fleet.history(name),
        "thresholds": fleet_view.thresholds(monitor.rules),
        "alerts": alerts,
        "message": request.query_params.get("message"),
    })


async def fault_form(request: Request):
    form = await checked_form(request)
    monitor = request.app.state.monitor
    name = monitor.fleet.server(request.path_params["name"]).name
    metric = form.get("metric")
    action = form.get("action")
    if action == "break":
        raw = form.get("value") or ""
        value = None
        if raw.strip():
            try:
                value = float(raw)
            except ValueError:
                raise BadRequest("The value must be a number.") from None
        result = await monitor.set_fault(name, metric, value)
        message = f"Breaking {result['metric']} on {name}: driving it to {result['value']:g}."
    elif action == "recover":
        await monitor.clear_fault(name, metric or None)
        message = f"{name} is recovering."
    else:
        raise BadRequest("Choose Break or Recover.")
    return RedirectResponse(f"/servers/{quote(name)}?message={quote(message)}", status_code=303)
