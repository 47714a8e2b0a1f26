"""What every REST API handler shares: token auth, the `From` user, JSON bodies, pagination and listings.

`account(request)` reads `Authorization: Token token=<key>` or `Bearer <token>` and looks it up in the
account's API keys, or (Bearer) among OAuth access tokens (`oauth_bearer.py`: expiry, revocation, scopes); an
account only ever sees its own objects (another account's ids are 404, never 403). Writes that PagerDuty
attributes to a person need `From: <user email>` (`requester`), except with a user's OAuth token: its user.
"""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import JSONResponse

from fake_pagerduty.domain import rest_objects, rest_params, rest_query, time_zones
from fake_pagerduty.errors import RestError
from fake_pagerduty.web import oauth_bearer, rest_rate_limit

_TOKEN = re.compile(r'^\s*Token\s+token\s*=\s*"?([^"\s]+)"?\s*$', re.IGNORECASE)
_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)
MISSING_FROM = 'You must specify a user\'s email address in the "From" header to perform this action'
MISSING_FROM_CODE = 2016


async def account(request: Request) -> dict:
    header = request.headers.get("authorization", "")
    bearer = _BEARER.match(header)
    if bearer and (found := await oauth_bearer.account(request, bearer.group(1))):
        return _let_in(request, bearer.group(1), found)  # OAuth requests too: the same limit and checks
    match = _TOKEN.match(header) or bearer
    account = await request.app.state.store.accounts.for_api_key(match.group(1)) if match else None
    if account is None:
        raise RestError.unauthorized()
    return _let_in(request, match.group(1), account)


def _let_in(request: Request, key: str, account: dict) -> dict:
    """A request whose API key or token names `account`: counted against the key's rate limit, its query
    checked (`check_params`), the account kept for the handler (`request.state.account`)."""
    rest_rate_limit.check(request, key)
    check_params(request)
    request.state.account = account
    return account


def check_params(request: Request) -> None:
    """The one check of every `/api` request's query (`domain/rest_params.py`): a documented parameter the sandbox
    does not implement, or an `include[]` value the spec does not document, is PagerDuty's 400; the request's
    `include[]` values are kept in `request.state.include` for the handler (`includes`)."""
    path = oauth_bearer.spec_path(request)
    request.state.include = parsed(lambda query: rest_params.check(request.method, path, query), request) if path else ()


def includes(request: Request) -> tuple[str, ...]:
    """The `include[]` values of the request, as checked by `account`."""
    return getattr(request.state, "include", ())


async def requester(request: Request, account: dict) -> dict:
    """The user named by the `From` header, who PagerDuty records as having made the change (with a user's
    OAuth token: that user)."""
    user = await oauth_bearer.user(request, account)
    if user is not None:
        return user
    email = request.headers.get("from", "").strip()
    if not email:
        raise RestError(400, MISSING_FROM, MISSING_FROM_CODE)
    user = await request.app.state.store.accounts.user_by_email(account["id"], email)
    if user is None:
        raise RestError.invalid_input("Requester User Not Found")
    return user


async def json_body(request: Request) -> dict:
    try:
        doc = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RestError.invalid_input("The request body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise RestError.invalid_input("The request body must be a JSON object")
    return doc


def base_url(request: Request) -> str:
    return request.app.state.settings.base_url


def page(request: Request) -> rest_query.Page:
    return parsed(rest_query.page, request)


def parsed(parse, request: Request):
    """`parse(request.query_params)` (a `rest_query` reader), its InvalidInput as PagerDuty's 400."""
    try:
        return parse(request.query_params)
    except rest_query.InvalidInput as exc:
        raise RestError.invalid_input(*exc.errors) from None


def in_time_zone(request: Request, items: list) -> list:
    """`items` with their timestamps in the request's `time_zone` (as PagerDuty renders them; UTC without one);
    an unknown zone is PagerDuty's 400."""
    tz = parsed(lambda query: time_zones.zone(query.get("time_zone")), request)
    return items if tz is None else time_zones.render(items, tz)


def listing(name: str, items: list, page: rest_query.Page, more: bool, total: int | None) -> JSONResponse:
    return JSONResponse({name: items, **rest_objects.pagination(page.limit, page.offset, more, total)})
