"""Connect with OAuth: start (a POST with the CSRF token), PagerDuty's callback, the service chooser."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse

from demo_monitor.oauth_connect import error_reason
from demo_monitor.web.security import checked_form, session_id
from demo_monitor.web.templating import render


async def start(request: Request):
    await checked_form(request)
    url = await request.app.state.oauth.start(session_id(request))
    return RedirectResponse(url, status_code=303)


async def callback(request: Request):
    outcome, code = await request.app.state.oauth.callback(dict(request.query_params), session_id(request))
    if outcome == "authorized":
        return RedirectResponse("/integrations/pagerduty/oauth/service", status_code=303)
    # the reason goes back as RFC 6749's error code only; the page words it (nothing PagerDuty sent is echoed)
    return RedirectResponse("/integrations/pagerduty?" + urlencode({"result": f"oauth-{outcome}", "error": code}),
                            status_code=303)


async def service_page(request: Request):
    oauth = request.app.state.oauth
    if await oauth.pending() is None:
        return RedirectResponse("/integrations/pagerduty", status_code=303)
    return await render(request, "integration_oauth_service.html", {"services": await oauth.services()})


async def service_form(request: Request):
    form = await checked_form(request)
    await request.app.state.oauth.choose_service(form.get("service_id", ""), form.get("new_service_name", ""))
    await request.app.state.connection.publish_integration()
    return RedirectResponse("/integrations/pagerduty?result=connected", status_code=303)


def reason(code: str | None) -> str:
    return error_reason(code or "")
