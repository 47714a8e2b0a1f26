"""OpenID Connect for OAuth apps: the discovery document (`/.well-known/openid-configuration`, also under the
issuer's path where OIDC libraries look) and the keys that verify ID tokens (`/global/oauth/anonymous/jwks`).
The signing key is made at first use and kept in the database (`store.oauth`)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import id_tokens, rest_scopes

SCOPES = ["openid", "read", "write", *rest_scopes.all_scopes()]


async def signing_key(state: Any) -> tuple[str, str]:
    """(kid, private key PEM) of the sandbox's ID token key, made (off the event loop) the first time."""
    found = await state.store.oauth.signing_key()
    if found:
        return found
    kid, pem = await run_in_threadpool(id_tokens.new_key)
    return await state.store.oauth.keep_signing_key(kid, pem, state.clock.now())


async def discovery(request: Request) -> Response:
    return JSONResponse(id_tokens.discovery(request.app.state.settings.base_url, SCOPES))


async def jwks(request: Request) -> Response:
    kid, pem = await signing_key(request.app.state)
    return JSONResponse(id_tokens.jwks(kid, pem))
