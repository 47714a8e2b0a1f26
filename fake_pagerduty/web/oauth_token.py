"""`POST /oauth/token` and `POST /oauth/revoke` (contract section 8), form-encoded.

Clients authenticate with `client_id` (+ `client_secret`) in the body or with HTTP Basic. Scoped apps and
classic confidential apps need the secret; scoped apps and classic public apps need PKCE. Grants:
`authorization_code` (the code once, within 30 s of the sandbox clock, with the authorize request's
redirect_uri), `refresh_token` (rotating: the old refresh token stops working) and `client_credentials`
(scoped apps; an app token for the account named by `as_account-<us|eu>.<subdomain>`). Errors are RFC 6749's
`{"error", "error_description"}`; a bad client is `invalid_client` 401.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import id_tokens, oauth
from fake_pagerduty.web import oauth_requests
from fake_pagerduty.web.oidc import signing_key

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _answer(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


def _error(exc: oauth.OAuthError, basic: bool) -> Response:
    extra = {"www-authenticate": 'Basic realm="oauth"'} if exc.status == 401 and basic else None
    return _answer(exc.body(), exc.status, extra)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _form(request: Request) -> Any:
    try:
        return await request.form()
    except (HTTPException, MultiPartException, ValueError, UnicodeDecodeError):
        raise oauth.invalid_request("The request body could not be read") from None


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise oauth.invalid_client() from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise oauth.invalid_client()
    return unquote_plus(client_id), unquote_plus(secret)


async def _client(request: Request, form: Any, *, secret_optional: bool = False) -> dict:
    """The OAuth app the request authenticates as (`invalid_client` otherwise)."""
    basic = _basic(request)
    client_id, secret = basic if basic else (_field(form, "client_id"), _field(form, "client_secret"))
    if basic and _field(form, "client_id") not in ("", client_id):
        raise oauth.invalid_request("client_id differs from the one in the Authorization header")
    app = await request.app.state.store.oauth.app(client_id) if client_id else None
    if app is None:
        raise oauth.invalid_client()
    confidential = app["kind"] == oauth.SCOPED or app["client_type"] == oauth.CONFIDENTIAL
    if confidential and not (secret_optional and not secret):
        if not secret or not oauth.same_secret(secret, app["secret_hash"]):
            raise oauth.invalid_client()
    return app


async def _user_tokens(request: Request, app: dict, account_id: str, user_id: str, scopes: str,
                       *, old_refresh: str | None = None) -> Response:
    """A new access and refresh token (and an ID token when `openid` was granted) for a user."""
    state = request.app.state
    now = state.clock.now()
    access, refresh = oauth.new_access_token(), oauth.new_refresh_token()
    lifetime = oauth.access_lifetime(app["kind"])
    common = {"client_id": app["client_id"], "account_id": account_id, "user_id": user_id, "scopes": scopes,
              "created_at": now}
    issued = await state.store.oauth.issue([
        {**common, "token_hash": oauth.token_hash(access), "kind": "access", "expires_at": now + lifetime,
         "refresh_hash": oauth.token_hash(refresh)},
        {**common, "token_hash": oauth.token_hash(refresh), "kind": "refresh",
         "expires_at": now + oauth.REFRESH_LIFETIME},
    ], revoke_hash=oauth.token_hash(old_refresh) if old_refresh else None)
    if not issued:
        raise oauth.invalid_grant()
    account = await state.store.accounts.by_id(account_id)
    if account is None:
        raise oauth.invalid_grant()
    body: dict = {"client_info": "prefix_legacy_app"}
    if "openid" in scopes.split():
        kid, pem = await signing_key(state)
        body["id_token"] = id_tokens.id_token(
            base_url=state.settings.base_url, kid=kid, pem=pem, client_id=app["client_id"], user_id=user_id,
            account_id=account_id, subdomain=account["subdomain"], now=now)
    body.update({"token_type": "bearer", "access_token": access, "refresh_token": refresh, "scope": scopes,
                 "expires_in": int(lifetime.total_seconds())})
    return _answer(body)


async def _authorization_code(request: Request, form: Any) -> Response:
    app = await _client(request, form)
    code, redirect_uri = _field(form, "code"), _field(form, "redirect_uri")
    if not code:
        raise oauth.invalid_request("Missing parameter: code")
    if not redirect_uri:
        raise oauth.invalid_request("Missing parameter: redirect_uri")
    row = await request.app.state.store.oauth.take_code(oauth.token_hash(code))
    if row is None or row["used"] or row["client_id"] != app["client_id"]:
        raise oauth.invalid_grant()
    if oauth.expired(row["expires_at"], request.app.state.clock.now()):
        raise oauth.invalid_grant("The authorization code has expired")
    if row["redirect_uri"] != redirect_uri:
        raise oauth.invalid_grant("The redirect_uri does not match the one of the authorization request")
    verifier = _field(form, "code_verifier")
    if row["code_challenge"]:
        if not oauth.pkce_matches(verifier, row["code_challenge"]):
            raise oauth.invalid_grant("The code_verifier does not match the code_challenge")
    elif app["kind"] == oauth.SCOPED or app["client_type"] == oauth.PUBLIC:
        raise oauth.invalid_grant("PKCE is required for this app: authorize with a code_challenge")
    return await _user_tokens(request, app, row["account_id"], row["user_id"], row["scopes"])


async def _refresh_token(request: Request, form: Any) -> Response:
    app = await _client(request, form)
    refresh = _field(form, "refresh_token")
    if not refresh:
        raise oauth.invalid_request("Missing parameter: refresh_token")
    row = await request.app.state.store.oauth.token(oauth.token_hash(refresh))
    if (row is None or row["kind"] != "refresh" or row["client_id"] != app["client_id"] or row["revoked"]
            or oauth.expired(row["expires_at"], request.app.state.clock.now())):
        raise oauth.invalid_grant()
    return await _user_tokens(request, app, row["account_id"], row["user_id"], row["scopes"], old_refresh=refresh)


async def _client_credentials(request: Request, form: Any) -> Response:
    app = await _client(request, form)
    if app["kind"] != oauth.SCOPED:
        raise oauth.OAuthError("unauthorized_client", "Only scoped OAuth apps may use client credentials")
    wanted, scopes = oauth.app_scopes(_field(form, "scope"), app["scopes"])
    state = request.app.state
    account = await state.store.accounts.by_subdomain(wanted.subdomain)
    if account is None or app["account_id"] not in (None, account["id"]):
        raise oauth.invalid_scope()
    now = state.clock.now()
    access, scope = oauth.new_access_token(), " ".join(scopes)
    await state.store.oauth.issue([{
        "token_hash": oauth.token_hash(access), "kind": "access", "client_id": app["client_id"],
        "account_id": account["id"], "user_id": None, "scopes": scope,
        "expires_at": now + oauth.SCOPED_ACCESS_LIFETIME, "created_at": now}])
    return _answer({"access_token": access, "scope": scope, "token_type": "bearer",
                    "expires_in": int(oauth.SCOPED_ACCESS_LIFETIME.total_seconds())})


GRANTS = {"authorization_code": _authorization_code, "refresh_token": _refresh_token,
          "client_credentials": _client_credentials}


def _claimed_client(request: Request, form: Any) -> str:
    """The client id the request names (for the OAuth journal), whether or not it authenticates."""
    try:
        basic = _basic(request)
    except oauth.OAuthError:
        basic = None
    return basic[0] if basic else _field(form, "client_id") if form is not None else ""


async def _recorded(request: Request, endpoint: str, form: Any, grant_type: str, status: int, outcome: str,
                    description: str) -> None:
    await oauth_requests.record(request, endpoint=endpoint, client_id=_claimed_client(request, form),
                                grant_type=grant_type, status=status, outcome=outcome, description=description)


async def token(request: Request) -> Response:
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    form, grant_type = None, ""
    try:
        form = await _form(request)
        grant_type = _field(form, "grant_type")
        if not grant_type:
            raise oauth.invalid_request("Missing parameter: grant_type")
        grant = GRANTS.get(grant_type)
        if grant is None:
            raise oauth.OAuthError("unsupported_grant_type", f"The grant type {grant_type[:100]!r} is not supported")
        response = await grant(request, form)
    except oauth.OAuthError as exc:
        await _recorded(request, "token", form, grant_type, exc.status, exc.error, exc.description)
        return _error(exc, basic)
    await _recorded(request, "token", form, grant_type, 200, oauth_requests.OK, "Tokens issued")
    return response


async def revoke(request: Request) -> Response:
    """RFC 7009: the client's token (access or refresh) stops working; an unknown token is not an error. The
    secret may be left out (clients in the wild send `client_id` and `token` only), but not be wrong."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    form = None
    try:
        form = await _form(request)
        app = await _client(request, form, secret_optional=True)
        value = _field(form, "token")
        if not value:
            raise oauth.invalid_request("Missing parameter: token")
        revoked = await request.app.state.store.oauth.revoke(oauth.token_hash(value), app["client_id"])
    except oauth.OAuthError as exc:
        await _recorded(request, "revoke", form, "", exc.status, exc.error, exc.description)
        return _error(exc, basic)
    await _recorded(request, "revoke", form, "", 200, oauth_requests.OK,
                    "Token revoked" if revoked else "No such token of this app (nothing to revoke)")
    return _answer({})
