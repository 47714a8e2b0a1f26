"""The dashboard: fleet overview, live charts, open alerts, connection status, scenario panel."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse

from demo_monitor.domain.scenarios import SCENARIOS
from demo_monitor.exceptions import BadRequest
from demo_monitor.web import fleet_view
from demo_monitor.web.security import checked_form
from demo_monitor.web.templating import render


async def home(request: Request):
    monitor = request.app.state.monitor
    servers = fleet_view.servers_json(monitor.fleet, monitor.rules)
    featured = "www15" if "www15" in monitor.fleet.servers else (servers[0]["name"] if servers else None)
    counts = {"ok": 0, "warning": 0, "error": 0, "critical": 0, "info": 0}
    for server in servers:
        counts[server["status"]] = counts.get(server["status"], 0) + 1
    return await render(request, "dashboard.html", {
        "servers": servers,
        "counts": counts,
        "featured": featured,
        "history": monitor.fleet.history(featured) if featured else {},
        "thresholds": fleet_view.thresholds(monitor.rules),
        "open_alerts": await monitor.active_alerts_json(check=True),
        "scenarios": SCENARIOS,
        "scenario_running": monitor.scenario_name,
        "message": request.query_params.get("message"),
    })


async def scenario(request: Request):
    form = await checked_form(request)
    monitor = request.app.state.monitor
    action = form.get("action", "play")
    if action == "stop":
        await monitor.stop_scenario()
        for server, metric in (("www15", "memory_usage"),):
            if server in monitor.fleet.servers:
                await monitor.clear_fault(server, metric)
        return RedirectResponse("/?message=" + quote("Scenario stopped; www15 is recovering."), status_code=303)
    name = form.get("scenario")
    if not isinstance(name, str) or name not in SCENARIOS:
        raise BadRequest("Choose a scenario to play.")
    result = await monitor.play_scenario(name)
    return RedirectResponse("/?message=" + quote(f"Playing “{result['title']}”."), status_code=303)
