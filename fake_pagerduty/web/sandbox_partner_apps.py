"""The sandbox controls' partner app registration, `/_sandbox/partner-apps[/{vendor_key}]`: the apps whose
Connect and install links the sandbox accepts (callback origins, webhook URL and secret)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty import seed
from fake_pagerduty.domain import ids
from fake_pagerduty.domain.partner_apps import merge_partner_app
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.web.sandbox_access import guarded
from fake_pagerduty.web.sandbox_api import json_body


@guarded
async def list_partner_apps(request: Request) -> Response:
    return JSONResponse({"partner_apps": await request.app.state.store.partner_apps.all()})


@guarded
async def get_partner_app(request: Request) -> Response:
    vendor_key = request.path_params["vendor_key"]
    app = await request.app.state.store.partner_apps.get(vendor_key)
    if app is None:
        raise SandboxError.not_found(f"No partner app with vendor key {vendor_key!r}")
    return JSONResponse({"partner_app": app})


@guarded
async def put_partner_app(request: Request) -> Response:
    state = request.app.state
    vendor_key = request.path_params["vendor_key"]
    current = await state.store.partner_apps.get(vendor_key)
    merged = merge_partner_app(vendor_key, await json_body(request), current, new_app_id=ids.short_id(),
                               default_origins=seed.LOOPBACK_ORIGINS)
    if isinstance(merged, list):
        raise SandboxError.invalid(merged, "Invalid partner app")
    holder = await state.store.partner_apps.by_app_id(merged["app_id"])
    if holder is not None and holder["vendor_key"] != vendor_key:
        raise SandboxError(409, f"Partner app {holder['vendor_key']!r} already has app id {merged['app_id']!r}")
    await state.store.partner_apps.upsert(vendor_key=vendor_key, now=state.clock.now(), **merged)
    return JSONResponse({"partner_app": await state.store.partner_apps.get(vendor_key)},
                        status_code=200 if current else 201)


@guarded
async def delete_partner_app(request: Request) -> Response:
    vendor_key = request.path_params["vendor_key"]
    if not await request.app.state.store.partner_apps.delete(vendor_key):
        raise SandboxError.not_found(f"No partner app with vendor key {vendor_key!r}")
    return JSONResponse({"deleted": 1})
