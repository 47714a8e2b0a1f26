"""`/oauth/authorize`: a person approves (or denies) an OAuth app's request (contract section 8).

A request that cannot be sent back safely (unknown client_id, a redirect_uri the app did not register, a
response_type other than `code`, a code_challenge without code_challenge_method=S256 or the other way round)
gets a 400 page, never a redirect.
Without a session, the sign-in page first, then back here. The consent page posts back here with the session's
CSRF token: Deny → `{redirect_uri}?error=access_denied…`, Authorize → `{redirect_uri}?code=…` (single-use,
30 seconds on the sandbox clock); `state` is echoed either way. A scope the app may not have is sent back as
`error=invalid_scope`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fake_pagerduty.domain import oauth
from fake_pagerduty.domain.callbacks import with_query
from fake_pagerduty.errors import PageError, SignInRequired
from fake_pagerduty.web import oauth_requests, sessions

PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method")


@dataclass(frozen=True)
class AuthorizeRequest:
    app: dict
    params: dict[str, str]

    @property
    def redirect_uri(self) -> str:
        return self.params["redirect_uri"]

    @property
    def start_url(self) -> str:
        return "/oauth/authorize?" + urlencode({k: v for k, v in self.params.items() if v})

    def back(self, values: dict[str, str]) -> Response:
        """To the app's redirect URI with `values` (and `state`)."""
        if self.params["state"]:
            values = {**values, "state": self.params["state"]}
        return RedirectResponse(with_query(self.redirect_uri, values), status_code=302)


def _bad(title: str, detail: str) -> PageError:
    return PageError(400, title, detail)


async def _checked(request: Request, source) -> AuthorizeRequest:
    params = {name: value if isinstance(value := source.get(name), str) else "" for name in PARAMS}
    app = await request.app.state.store.oauth.app(params["client_id"]) if params["client_id"] else None
    if app is None:
        raise _bad("Unknown OAuth app", "This authorization link names no OAuth app the sandbox knows "
                                        "(check the client_id parameter).")
    if not oauth.redirect_allowed(params["redirect_uri"], app["redirect_uris"]):
        raise _bad("This redirect URI is not registered",
                   f"{app['name']} may only send you back to a redirect URI it registered. The link's "
                   "redirect_uri parameter is missing or points elsewhere.")
    if params["response_type"] != "code":
        raise _bad("Unsupported response type", "The sandbox's OAuth apps use response_type=code.")
    if bool(params["code_challenge"]) != bool(params["code_challenge_method"]) or (
            params["code_challenge_method"] not in ("", "S256")):
        raise _bad("Unsupported code challenge", "PKCE needs a code_challenge and code_challenge_method=S256.")
    return AuthorizeRequest(app, params)


def _signed_in(request: Request, asked: AuthorizeRequest) -> dict:
    session = sessions.current(request)
    if session is None:
        raise SignInRequired(asked.start_url)
    if asked.app["account_id"] not in (None, session["account_id"]):
        raise PageError(403, "This app belongs to another account",
                        f"{asked.app['name']} can only be authorized by people of the account that registered it.")
    return session


async def _show_consent(request: Request, source) -> tuple[Response, str, str]:
    asked = await _checked(request, source)
    session = _signed_in(request, asked)
    try:
        scopes = oauth.user_scopes(asked.params["scope"], asked.app["kind"], asked.app["scopes"])
    except oauth.OAuthError:
        return asked.back({"error": "invalid_scope", "error_description": "Invalid scope"}), "invalid_scope", \
            "Invalid scope"
    return request.app.state.templates.TemplateResponse(
        request, "oauth_authorize.html",
        {"app": asked.app, "params": asked.params, "account_name": session["account_name"],
         "scopes": [oauth.scope_words(s) for s in scopes]},
    ), oauth_requests.OK, "Consent page shown"


async def _decide(request: Request, form) -> tuple[Response, str, str]:
    asked = await _checked(request, form)
    session = _signed_in(request, asked)
    sessions.check_csrf(request, form)
    if form.get("decision") != "authorize":
        return asked.back({"error": "access_denied", "error_description": oauth.DENIED}), "access_denied", \
            oauth.DENIED
    try:
        scopes = oauth.user_scopes(asked.params["scope"], asked.app["kind"], asked.app["scopes"])
    except oauth.OAuthError:
        return asked.back({"error": "invalid_scope", "error_description": "Invalid scope"}), "invalid_scope", \
            "Invalid scope"
    code = oauth.new_code()
    await request.app.state.store.oauth.create_code(
        code_hash=oauth.token_hash(code), client_id=asked.app["client_id"], account_id=session["account_id"],
        user_id=session["user_id"], redirect_uri=asked.redirect_uri, scopes=" ".join(scopes),
        code_challenge=asked.params["code_challenge"] or None,
        code_challenge_method=asked.params["code_challenge_method"] or None,
        expires_at=request.app.state.clock.now() + oauth.CODE_LIFETIME,
    )
    return asked.back({"code": code}), oauth_requests.OK, "Authorized: a code was sent to the redirect URI"


async def _recorded(request: Request, source, step) -> Response:
    """Run `step` and put the request and its outcome in the OAuth journal (a 400/403 page or the trip to the
    sign-in page too)."""
    async def record(status: int, outcome: str, description: str) -> None:
        await oauth_requests.record(request, endpoint="authorize", client_id=source.get("client_id"),
                                    grant_type="authorization_code", status=status, outcome=outcome,
                                    description=description)

    try:
        response, outcome, description = await step(request, source)
    except SignInRequired:
        await record(303, "login_required", "Not signed in: sent to the sign-in page first")
        raise
    except PageError as exc:
        await record(exc.status, "invalid_request" if exc.status == 400 else "access_denied", exc.title)
        raise
    await record(response.status_code, outcome, description)
    return response


async def authorize_page(request: Request) -> Response:
    return await _recorded(request, request.query_params, _show_consent)


async def authorize_submit(request: Request) -> Response:
    return await _recorded(request, await request.form(), _decide)
