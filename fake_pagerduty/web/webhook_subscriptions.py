"""REST API: `/api/webhook_subscriptions` (create, list, show, update, delete, ping, enable), as PagerDuty
serves them.

Auth, body parsing and pagination are the REST API's own (`web/rest_api.py`), so both surfaces answer alike.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import ids
from fake_pagerduty.domain import webhooks as rules
from fake_pagerduty.domain.own_endpoints import OwnEndpoints
from fake_pagerduty.errors import RestError
from fake_pagerduty.web import rest_common


async def _check_filter(request: Request, account_id: str, filter_type: str, filter_id: str | None) -> None:
    """A filter may name only the caller's own services, or its own account."""
    if filter_type == "service_reference":
        if await request.app.state.store.services.get(account_id, filter_id) is None:
            raise RestError.invalid_input(f"Filter service {filter_id} was not found")
    elif filter_id is not None and filter_id != account_id:
        raise RestError.invalid_input(f"Filter account {filter_id} is not the account of this API key")


def _refuse_the_sandbox_itself(settings, url: str) -> None:
    """A URL that plainly names the sandbox (any spelling of its own address and port) could reach its
    controls (`/_sandbox/reset`): refused here, and again by the delivery worker whatever the URL resolves to."""
    if OwnEndpoints.from_settings(settings).names_self(url):
        raise RestError.invalid_input("Delivery method url must not point at the sandbox itself")


async def _subscription(request: Request, account_id: str) -> dict:
    row = await request.app.state.store.webhooks.subscription(account_id, request.path_params["id"])
    if row is None:
        raise RestError.not_found()
    return row


async def list_subscriptions(request: Request) -> Response:
    account = await rest_common.account(request)
    page = rest_common.page(request)
    filter_type = rules.list_filter_type(request.query_params.get("filter_type"))
    if isinstance(filter_type, list):
        raise RestError.invalid_input(*filter_type)
    rows, total = await request.app.state.store.webhooks.subscriptions_page(
        account["id"], limit=page.limit, offset=page.offset, filter_type=filter_type,
        filter_id=request.query_params.get("filter_id") or None,
    )
    items = [rules.render_subscription(row) for row in rows]
    more = page.offset + len(rows) < total
    return rest_common.listing("webhook_subscriptions", items, page, more, total if page.total else None)


async def create_subscription(request: Request) -> Response:
    account = await rest_common.account(request)
    account_id, state = account["id"], request.app.state
    sub = rules.validate_subscription(await rest_common.json_body(request))
    if isinstance(sub, list):
        raise RestError.invalid_input(*sub)
    _refuse_the_sandbox_itself(state.settings, sub.url)
    filter_id = sub.filter_id
    await _check_filter(request, account_id, sub.filter_type, filter_id)
    row = await state.store.webhooks.create_subscription(
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
    # 200, not 201: PagerDuty's rest.json answers a new webhook subscription with 200.
    return JSONResponse({"webhook_subscription": rules.render_subscription(row, reveal=True)})


async def get_subscription(request: Request) -> Response:
    account = await rest_common.account(request)
    row = await _subscription(request, account["id"])
    return JSONResponse({"webhook_subscription": rules.render_subscription(row)})


async def update_subscription(request: Request) -> Response:
    account = await rest_common.account(request)
    state = request.app.state
    await _subscription(request, account["id"])
    changes = rules.validate_update(await rest_common.json_body(request))
    if isinstance(changes, list):
        raise RestError.invalid_input(*changes)
    if "filter_type" in changes:
        await _check_filter(request, account["id"], changes["filter_type"], changes["filter_id"])
        changes["filter_id"] = changes["filter_id"] or account["id"]
    row = await state.store.webhooks.update_subscription(account["id"], request.path_params["id"], changes,
                                                        state.clock.now())
    if row is None:  # deleted meanwhile
        raise RestError.not_found()
    return JSONResponse({"webhook_subscription": rules.render_subscription(row)})


async def ping_subscription(request: Request) -> Response:
    """Send the `pagey.ping` test event to the subscription's URL; 202 with no body, as PagerDuty answers."""
    account = await rest_common.account(request)
    row = await _subscription(request, account["id"])
    await request.app.state.webhooks.ping(row)
    return Response(status_code=202)


async def enable_subscription(request: Request) -> Response:
    """PagerDuty re-enables a subscription it disabled after repeated rejections; the sandbox never disables
    one, so this answers with the subscription as it is."""
    account = await rest_common.account(request)
    row = await _subscription(request, account["id"])
    return JSONResponse({"webhook_subscription": rules.render_subscription(row)})


async def delete_subscription(request: Request) -> Response:
    account = await rest_common.account(request)
    state = request.app.state
    if not await state.store.webhooks.delete_subscription(account["id"], request.path_params["id"],
                                                         state.clock.now()):
        raise RestError.not_found()
    return Response(status_code=204)
