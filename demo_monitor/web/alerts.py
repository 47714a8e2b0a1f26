"""Alert pages: the list, one alert (the page PagerDuty's client_url points to), Acknowledge and Resolve."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse

from demo_monitor.domain.alerts import STATES
from demo_monitor.exceptions import NotFound
from demo_monitor.web.security import checked_form
from demo_monitor.web.templating import render


async def alerts_page(request: Request):
    monitor = request.app.state.monitor
    state = request.query_params.get("state")
    if state not in STATES:
        state = None
    alerts = await monitor.alerts_json(state=state, limit=300, check=True)
    return await render(request, "alerts.html", {"alerts": alerts, "state": state, "states": STATES})


async def alert_page(request: Request):
    monitor = request.app.state.monitor
    _, alert, _ = await monitor.alert_json_by_id(request.path_params["alert_id"], check=True)
    return await render(request, "alert.html", {"alert": alert, "message": request.query_params.get("message")})


async def action_form(request: Request):
    action = request.path_params["action"]
    if action not in ("acknowledge", "resolve"):
        raise NotFound("There is no such action.")
    await checked_form(request)
    alert = await request.app.state.monitor.act_on_alert(
        request.path_params["alert_id"], action, who="Demo Monitor user"
    )
    message = "Acknowledged." if action == "acknowledge" else "Resolved."
    return RedirectResponse(f"/alerts/{quote(alert.id)}?message={quote(message)}", status_code=303)
