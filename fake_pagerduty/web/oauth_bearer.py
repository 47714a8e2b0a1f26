"""OAuth access tokens on the REST API (`Authorization: Bearer <access token>`, contract section 8).

A token the sandbox issued acts for its account, as its user (user tokens) or as the app (app tokens). An
expired or revoked one is PagerDuty's 401; one without the endpoint's scope (`domain/rest_scopes.py`, read
from PagerDuty's REST spec; classic `read` tokens may only read) is 403 "Token missing required scopes".
A Bearer value that is no OAuth token is left to the API key lookup (`rest_common.account`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from fake_pagerduty.domain import oauth, rest_scopes
from fake_pagerduty.errors import RestError

API_PREFIX = "/api"


def spec_path(request: Request) -> str | None:
    """The route's path as PagerDuty's spec writes it (`/incidents/{id}`)."""
    endpoint = request.scope.get("endpoint")
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.endpoint is endpoint and request.method in (route.methods or ()):
            return route.path.removeprefix(API_PREFIX)
    return None


async def account(request: Request, value: str) -> dict | None:
    """The account an OAuth access token acts for (None: not an OAuth token). Raises 401 or 403."""
    state = request.app.state
    token = await state.store.oauth.token(oauth.token_hash(value))
    if token is None:
        return None
    if token["kind"] != "access" or token["revoked"] or oauth.expired(token["expires_at"], state.clock.now()):
        raise RestError.unauthorized()
    found = await state.store.accounts.by_id(token["account_id"])
    if found is None:
        raise RestError.unauthorized()
    path = spec_path(request)
    needed = rest_scopes.required(request.method, path) if path else None
    if needed and not oauth.grants(token["scopes"].split(), needed):
        raise RestError.missing_scopes(needed)
    request.state.oauth_token = token
    return found


async def user(request: Request, account: dict) -> dict | None:
    """The user a user token acts as (None for app tokens and API keys)."""
    token = getattr(request.state, "oauth_token", None)
    if token is None or token["user_id"] is None:
        return None
    found = await request.app.state.store.accounts.user_by_id(account["id"], token["user_id"])
    if found is None:
        raise RestError.unauthorized()
    return found
