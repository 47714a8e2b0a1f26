"""The sandbox controls' OAuth app registration, `/_sandbox/oauth-apps[/{client_id}]`: the apps `/oauth/…`
accepts (secrets are stored hashed and never shown; a new app without one gets a random secret, shown once)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain.oauth import token_hash
from fake_pagerduty.domain.oauth_apps import merge_oauth_app
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.web.sandbox_access import guarded
from fake_pagerduty.web.sandbox_api import json_body


@guarded
async def list_oauth_apps(request: Request) -> Response:
    return JSONResponse({"oauth_apps": await request.app.state.store.oauth.apps()})


def _shown(app: dict) -> dict:
    return {k: v for k, v in app.items() if k != "secret_hash"}


def _no_such(client_id: str) -> SandboxError:
    return SandboxError.not_found(f"No OAuth app with client id {client_id!r}")


@guarded
async def get_oauth_app(request: Request) -> Response:
    client_id = request.path_params["client_id"]
    if (app := await request.app.state.store.oauth.app(client_id)) is None:
        raise _no_such(client_id)
    return JSONResponse({"oauth_app": _shown(app)})


@guarded
async def put_oauth_app(request: Request) -> Response:
    state = request.app.state
    client_id = request.path_params["client_id"]
    if not 0 < len(client_id) <= 255:
        raise SandboxError.invalid(["the client id must be 1 to 255 characters"], "Invalid OAuth app")
    current = await state.store.oauth.app(client_id)
    merged = merge_oauth_app(client_id, await json_body(request), current)
    if isinstance(merged, list):
        raise SandboxError.invalid(merged, "Invalid OAuth app")
    if "account" in merged:
        subdomain = merged.pop("account")
        account = await state.store.accounts.by_subdomain(subdomain) if subdomain else None
        if subdomain and account is None:
            raise SandboxError.invalid([f"no account with subdomain {subdomain!r}"], "Invalid OAuth app")
        merged["account_id"] = account["id"] if account else None
    new_secret = merged.pop("client_secret", None)
    if current is None and new_secret is None:
        new_secret = secrets.token_urlsafe(24)
    secret_hash = token_hash(new_secret) if new_secret is not None else current["secret_hash"]
    await state.store.oauth.upsert_app(client_id=client_id, secret_hash=secret_hash, now=state.clock.now(),
                                       **merged)
    body = {"oauth_app": _shown(await state.store.oauth.app(client_id))}
    if new_secret is not None:
        body["oauth_app"]["client_secret"] = new_secret
    return JSONResponse(body, status_code=200 if current else 201)


@guarded
async def delete_oauth_app(request: Request) -> Response:
    client_id = request.path_params["client_id"]
    count = await request.app.state.store.oauth.delete_app(client_id)
    if count == 0:
        raise _no_such(client_id)
    return JSONResponse({"deleted": count})
