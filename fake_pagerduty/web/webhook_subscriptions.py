"""REST API: `/api/webhook_subscriptions` (create, list, show, delete), as PagerDuty serves them.

Auth, body parsing and pagination are the REST API's own (`web/rest_api.py`), so both surfaces answer alike.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import ids
from fake_pagerduty.domain import webhooks as rules
from fake_pagerduty.errors import RestError
from fake_pagerduty.web import rest_api


async def list_subscriptions(request: Request) -> Response:
    account = await rest_api._account(request)
    page = rest_api._page(request)
    rows, total = await request.app.state.store.list_webhook_subscriptions(
        account["id"], limit=page.limit, offset=page.offset,
        filter_type=request.query_params.get("filter_type") or None,
        filter_id=request.query_params.get("filter_id") or None,
    )
    items = [rules.render_subscription(row) for row in rows]
    more = page.offset + len(rows) < total
    return rest_api._listing("webhook_subscriptions", items, page, more, total if page.total else None)


async def create_subscription(request: Request) -> Response:
    account = await rest_api._account(request)
    account_id, state = account["id"], request.app.state
    sub = rules.validate_subscription(await rest_api._body(request))
    if isinstance(sub, list):
        raise RestError.invalid_input(*sub)
    filter_id = sub.filter_id
    if sub.filter_type == "service_reference":
        if await state.store.service(account_id, filter_id) is None:
            raise RestError.invalid_input(f"Filter service {filter_id} was not found")
    elif filter_id is not None and filter_id != account_id:
        raise RestError.invalid_input(f"Filter account {filter_id} is not the account of this API key")
    row = await state.store.create_webhook_subscription(
        id=ids.short_id(),
        account_id=account_id,
        description=sub.description,
        active=sub.active,
        events=sub.events,
        filter_type=sub.filter_type,
        filter_id=filter_id or account_id,
        delivery_method_id=ids.short_id(),
        url=sub.url,
        secret=ids.webhook_secret(),
        custom_headers=sub.custom_headers,
        now=state.clock.now(),
    )
    return JSONResponse({"webhook_subscription": rules.render_subscription(row, reveal=True)}, status_code=201)


async def get_subscription(request: Request) -> Response:
    account = await rest_api._account(request)
    row = await request.app.state.store.webhook_subscription(account["id"], request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    return JSONResponse({"webhook_subscription": rules.render_subscription(row)})


async def delete_subscription(request: Request) -> Response:
    account = await rest_api._account(request)
    state = request.app.state
    if not await state.store.delete_webhook_subscription(account["id"], request.path_params["id"],
                                                         state.clock.now()):
        raise RestError.not_found()
    return Response(status_code=204)
