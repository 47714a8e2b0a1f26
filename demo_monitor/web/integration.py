"""The PagerDuty integration page, the Connect handshake (state token, callback) and disconnect."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse

from demo_monitor.exceptions import BadRequest
from demo_monitor.web import oauth
from demo_monitor.web.security import checked_form
from demo_monitor.web.templating import render

_MESSAGES = {
    "connected": "All set: alerts from this monitor now page the on-call person in PagerDuty.",
    "cancelled": "The PagerDuty integration was cancelled. The monitor is not connected.",
    # a new handshake cancelled while a connection exists: that connection stays, and the page says so
    "cancelled-connected": "Connecting again was cancelled. The monitor is still connected to the service below.",
    "disconnected": "Disconnected from PagerDuty. New alerts are no longer sent.",
    "saved": "Settings saved.",
    "oauth-denied": "Not connected: {reason} (access_denied).",
    "oauth-error": "Not connected: {reason} ({error}).",
}


async def page(request: Request):
    result = request.query_params.get("result")
    message = _MESSAGES.get(result or "")
    if result == "cancelled" and (await request.app.state.connection.integration_json())["connected"]:
        message = _MESSAGES["cancelled-connected"]
    if result in ("oauth-denied", "oauth-error"):
        error = request.query_params.get("error", "")
        shown = error if error.replace("_", "").isalpha() and len(error) <= 40 else "unknown"
        message = message.format(reason=oauth.reason(error), error=shown)
        if (await request.app.state.connection.integration_json())["connected"]:
            message = message.replace("Not connected: ", "Connecting with OAuth did not happen: ", 1) \
                + " The connection below is unchanged."
    return await render(request, "integration.html", {
        "result": result if result in _MESSAGES else None,
        "result_message": message,
        "pagerduty_url": request.app.state.settings.pagerduty_base,
        "oauth_pending": (await request.app.state.oauth.pending()) is not None,
    })


async def connect(request: Request):
    """Issue a single-use state and send the browser to PagerDuty's Connect page."""
    url = await request.app.state.connection.start_connect()
    return RedirectResponse(url, status_code=303)


async def callback(request: Request):
    outcome = await request.app.state.connection.connect_callback(dict(request.query_params))
    return RedirectResponse(f"/integrations/pagerduty?result={outcome}", status_code=303)


async def disconnect(request: Request):
    await checked_form(request)
    await request.app.state.connection.disconnect()
    return RedirectResponse("/integrations/pagerduty?result=disconnected", status_code=303)


async def settings_form(request: Request):
    form = await checked_form(request)
    try:
        version = int(form.get("events_api_version", ""))
    except ValueError:
        raise BadRequest("The Events API version must be 1 or 2.") from None
    await request.app.state.connection.set_events_api_version(version)
    return RedirectResponse("/integrations/pagerduty?result=saved", status_code=303)
