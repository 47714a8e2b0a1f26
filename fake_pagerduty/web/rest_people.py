"""REST API, people (issue 15): users (and `/users/me`), their contact methods and notification rules, teams,
priorities, abilities and vendors. Parameters per endpoint: `domain/rest_params.py`; objects:
`domain/people_objects.py`; bodies: `domain/people_input.py`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import people_input, people_objects, rest_query
from fake_pagerduty.errors import RestError
from fake_pagerduty.store.records import Conflict
from fake_pagerduty.web import oauth_bearer, rest_common

USER_EXPANDS = ("contact_methods", "notification_rules", "teams")


def invalid(exc: rest_query.InvalidInput | Conflict) -> RestError:
    """PagerDuty's 400 `Invalid Input Provided` (2001) for bad input or a taken name."""
    return RestError.invalid_input(*(exc.errors if isinstance(exc, rest_query.InvalidInput) else [exc.message]))


async def body_of(request: Request, read, **options):
    """The JSON body through one of `people_input`'s readers, or PagerDuty's 400."""
    doc = await rest_common.json_body(request)
    try:
        return read(doc, **options)
    except rest_query.InvalidInput as exc:
        raise invalid(exc) from None


async def user_objects(request: Request, rows: list[dict], expand: tuple[str, ...] = ()) -> list[dict]:
    people = request.app.state.store.people
    ids = [row["id"] for row in rows]
    methods, rules, teams = (await people.contact_methods(ids), await people.notification_rules(ids),
                             await people.teams_of(ids))
    base = rest_common.base_url(request)
    return [people_objects.user(base, row, methods[row["id"]], rules[row["id"]], teams[row["id"]], expand)
            for row in rows]


async def _user_row(request: Request, account: dict, user_id: str | None = None) -> dict:
    row = await request.app.state.store.people.user(account["id"], user_id or request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    return row


def _expand(request: Request) -> tuple[str, ...]:
    return tuple(v for v in rest_common.includes(request) if v in USER_EXPANDS)


# ---- users ----------------------------------------------------------------------------------------------

async def list_users(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    page = rest_common.page(request)
    team_ids = tuple(rest_query.values(request.query_params, "team_ids"))
    rows, more, total = await request.app.state.store.people.users_page(
        account["id"], page, request.query_params.get("query") or None, team_ids)
    return rest_common.listing("users", await user_objects(request, rows, _expand(request)), page, more, total)


async def get_user(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    (user,) = await user_objects(request, [await _user_row(request, account)], _expand(request))
    return JSONResponse({"user": user})


async def get_me(request: Request) -> JSONResponse:
    """The user a user-level OAuth token acts as; an account-level key or app token cannot say who that is."""
    account = await rest_common.account(request)
    me = await oauth_bearer.user(request, account)
    if me is None:
        raise RestError(400, people_objects.ACCOUNT_LEVEL_TOKEN, people_objects.ACCOUNT_LEVEL_TOKEN_CODE)
    (user,) = await user_objects(request, [await _user_row(request, account, me["id"])], _expand(request))
    return JSONResponse({"user": user})


async def create_user(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    await rest_common.requester(request, account)
    fields = await body_of(request, people_input.user, creating=True)
    try:
        user_id = await request.app.state.store.people.create_user(account["id"], fields, request.app.state.clock.now())
    except Conflict as exc:
        raise invalid(exc) from None
    (user,) = await user_objects(request, [await _user_row(request, account, user_id)])
    return JSONResponse({"user": user}, status_code=201)


async def update_user(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    await _user_row(request, account)
    fields = await body_of(request, people_input.user, creating=False)
    try:
        await request.app.state.store.people.update_user(account["id"], request.path_params["id"], fields)
    except Conflict as exc:
        raise invalid(exc) from None
    (user,) = await user_objects(request, [await _user_row(request, account)])
    return JSONResponse({"user": user})


async def deletion(request: Request, delete) -> Response:
    """`DELETE /…/{id}` through one of the store's deletes: 204, 404 when there is no such thing, 400 when it
    may not go (the store's Conflict says why)."""
    account = await rest_common.account(request)
    try:
        deleted = await delete(account["id"], request.path_params["id"])
    except Conflict as exc:
        raise invalid(exc) from None
    if not deleted:
        raise RestError.not_found()
    return Response(status_code=204)


async def delete_user(request: Request) -> Response:
    return await deletion(request, request.app.state.store.people.delete_user)


async def user_contact_methods(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await _user_row(request, account)
    methods = (await request.app.state.store.people.contact_methods([row["id"]]))[row["id"]]
    base = rest_common.base_url(request)
    return JSONResponse({"contact_methods": [people_objects.contact_method(base, m) for m in methods]})


async def user_notification_rules(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await _user_row(request, account)
    urgency = request.query_params.get("urgency") or "high"
    if urgency not in ("high", "low", "all"):
        raise RestError.invalid_input("Urgency must be one of high, low, all")
    people = request.app.state.store.people
    rules = [r for r in (await people.notification_rules([row["id"]]))[row["id"]] if urgency in ("all", r["urgency"])]
    methods = {m["id"]: m for m in (await people.contact_methods([row["id"]]))[row["id"]]}
    whole = "contact_methods" in rest_common.includes(request)
    base = rest_common.base_url(request)
    return JSONResponse({"notification_rules": [
        people_objects.notification_rule(base, r, methods.get(r["contact_method_id"]) if whole else None)
        for r in rules]})


async def user_contact_method(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await _user_row(request, account)
    methods = (await request.app.state.store.people.contact_methods([row["id"]]))[row["id"]]
    found = next((m for m in methods if m["id"] == request.path_params["contact_method_id"]), None)
    if found is None:
        raise RestError.not_found()
    return JSONResponse({"contact_method": people_objects.contact_method(rest_common.base_url(request), found)})


async def user_notification_rule(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await _user_row(request, account)
    people = request.app.state.store.people
    rule = next((r for r in (await people.notification_rules([row["id"]]))[row["id"]]
                 if r["id"] == request.path_params["notification_rule_id"]), None)
    if rule is None:
        raise RestError.not_found()
    method = None
    if "contact_methods" in rest_common.includes(request):
        method = next(m for m in (await people.contact_methods([row["id"]]))[row["id"]]
                      if m["id"] == rule["contact_method_id"])
    return JSONResponse({"notification_rule": people_objects.notification_rule(rest_common.base_url(request), rule,
                                                                               method)})


# ---- teams ----------------------------------------------------------------------------------------------

async def list_teams(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    page = rest_common.page(request)
    rows, more, total = await request.app.state.store.people.teams_page(
        account["id"], page, request.query_params.get("query") or None)
    base = rest_common.base_url(request)
    return rest_common.listing("teams", [people_objects.team(base, row) for row in rows], page, more, total)


async def get_team(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    row = await request.app.state.store.people.team(account["id"], request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    return JSONResponse({"team": people_objects.team(rest_common.base_url(request), row)})


async def team_members(request: Request) -> JSONResponse:
    """A team's members with their roles, by name; `include[]=users` gives each user whole."""
    account = await rest_common.account(request)
    page = rest_common.page(request)
    people = request.app.state.store.people
    if await people.team(account["id"], request.path_params["id"]) is None:
        raise RestError.not_found()
    members = await people.team_members(request.path_params["id"])
    base = rest_common.base_url(request)
    users = {}
    if "users" in rest_common.includes(request):
        rows = (await people.users_by_ids([m["id"] for m in members])).values()
        users = {user["id"]: user for user in await user_objects(request, list(rows))}
    return listing_in_memory("members", [
        {"user": users.get(m["id"]) or people_objects.user_ref(base, m["id"], m["name"]), "role": m["role"]}
        for m in members], page)


async def create_team(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    fields = await body_of(request, people_input.team)
    people = request.app.state.store.people
    try:
        team_id = await people.create_team(account["id"], fields, request.app.state.clock.now())
    except Conflict as exc:
        raise invalid(exc) from None
    row = await people.team(account["id"], team_id)
    return JSONResponse({"team": people_objects.team(rest_common.base_url(request), row)}, status_code=201)


# ---- priorities, abilities, vendors ---------------------------------------------------------------------

async def list_priorities(request: Request) -> JSONResponse:
    account = await rest_common.account(request)
    page = rest_common.page(request)
    rows = await request.app.state.store.people.priorities(account["id"])
    base = rest_common.base_url(request)
    return listing_in_memory("priorities", [people_objects.priority(base, r) for r in rows], page)


def listing_in_memory(name: str, items: list[dict], page: rest_query.Page) -> JSONResponse:
    """A short list, paged in memory."""
    chunk = items[page.offset:page.offset + page.limit]
    return rest_common.listing(name, chunk, page, page.offset + len(chunk) < len(items),
                               len(items) if page.total else None)


async def list_abilities(request: Request) -> JSONResponse:
    await rest_common.account(request)
    return JSONResponse({"abilities": list(people_objects.ABILITIES)})


async def get_ability(request: Request) -> Response:
    """204 when the account has the ability, else 404 (PagerDuty's answer to a check)."""
    await rest_common.account(request)
    if request.path_params["id"] not in people_objects.ABILITIES:
        raise RestError.not_found()
    return Response(status_code=204)


async def get_vendor(request: Request) -> JSONResponse:
    await rest_common.account(request)
    app = next((a for a in await request.app.state.store.partner_apps.all() if a["app_id"] == request.path_params["id"]),
               None)
    if app is None:
        raise RestError.not_found()
    return JSONResponse({"vendor": people_objects.vendor(rest_common.base_url(request), app)})


async def list_vendors(request: Request) -> JSONResponse:
    """The partner apps registered with the sandbox, as PagerDuty's vendors."""
    await rest_common.account(request)
    page = rest_common.page(request)
    apps = await request.app.state.store.partner_apps.all()
    base = rest_common.base_url(request)
    return listing_in_memory("vendors", [people_objects.vendor(base, app) for app in apps], page)
