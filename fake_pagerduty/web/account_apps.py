"""The console's "Authorized apps" (`/account/apps`): the OAuth apps holding live tokens of the signed-in person,
each with a Revoke button (a POST form with the session's CSRF token) that ends every token of that app for
this person."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fake_pagerduty.domain import oauth
from fake_pagerduty.errors import PageError
from fake_pagerduty.web import sessions


async def apps_page(request: Request) -> Response:
    session = sessions.require(request)
    store = request.app.state.store
    apps = await store.oauth.authorized_apps(session["account_id"], session["user_id"],
                                             request.app.state.clock.now())
    for app in apps:
        app["scope_words"] = [oauth.scope_words(scope) for scope in app["scopes"]]
    revoked_id = request.query_params.get("revoked")
    revoked = await store.oauth.app(revoked_id) if revoked_id else None
    return request.app.state.templates.TemplateResponse(
        request, "account_apps.html", {"nav": "account", "apps": apps, "revoked": revoked})


async def revoke_app(request: Request) -> Response:
    session = sessions.require(request)
    form = await request.form()
    sessions.check_csrf(request, form)
    client_id = form.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 255:
        raise PageError(400, "Which app?", "The form named no OAuth app to revoke.")
    await request.app.state.store.oauth.revoke_user_app(session["account_id"], session["user_id"], client_id)
    return RedirectResponse("/account/apps?" + urlencode({"revoked": client_id}), status_code=303)
