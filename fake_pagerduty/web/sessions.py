"""People's sessions and CSRF tokens.

- The session cookie (`pd_session`) holds a random id; SQLite keeps its SHA-256, the user and a CSRF token.
  A new id on every sign-in; sign-out deletes it. HttpOnly, SameSite=Lax, Path=/ (Secure over HTTPS).
- Forms of a signed-in person carry the session's CSRF token. Anonymous forms (sign in, sign up, cancel at
  the sign-in step) carry a token bound to the browser's pre-session id (the random `pd_csrf` cookie): an
  HMAC of that id under a secret the process makes at start, so a cookie and token made up elsewhere (a
  planted `pd_csrf` with a "matching" token, to sign a victim into someone else's account) are refused.
  Browsers that say where a form came from (`Sec-Fetch-Site`) must say it came from the sandbox's own pages.
  `SessionMiddleware` loads both before any handler runs, so every template can call `csrf_field()` and see
  `session`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from markupsafe import Markup, escape
from starlette.datastructures import MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fake_pagerduty.errors import PageError, SignInRequired

SESSION_COOKIE = "pd_session"
CSRF_COOKIE = "pd_csrf"
CSRF_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(days=14)
CSRF_COOKIE_MAX_AGE = 60 * 60 * 24 * 365
# Machine endpoints (Events API, REST API) never use sessions: the middleware stays off their hot path.
MACHINE_PREFIXES = ("/v2/", "/generic/", "/api/")


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _well_formed(token: str | None) -> bool:
    return bool(token) and 20 <= len(token) <= 100 and all(ch.isalnum() or ch in "-_" for ch in token)


def _secure(scope: Scope) -> bool:
    return scope.get("scheme") == "https"


class SessionMiddleware:
    """Puts `session` (dict or None) and the browser's CSRF token on `request.state` for every page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(MACHINE_PREFIXES):
            await self.app(scope, receive, send)
            return
        cookies: dict[str, str] = {}
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookies.update(cookie_parser(value.decode("latin-1")))
        state = scope.setdefault("state", {})
        session = None
        session_id = cookies.get(SESSION_COOKIE)
        if _well_formed(session_id):
            app_state = scope["app"].state
            session = await app_state.store.accounts.session(_hash(session_id), app_state.clock.now())
        state["session"] = session
        browser_token = cookies.get(CSRF_COOKIE)
        fresh = not _well_formed(browser_token)
        state["browser_csrf"] = secrets.token_urlsafe(32) if fresh else browser_token
        state["browser_csrf_cookie"] = None if fresh else browser_token
        state["browser_csrf_used"] = False

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and fresh and state.get("browser_csrf_used"):
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", _cookie(CSRF_COOKIE, state["browser_csrf"], CSRF_COOKIE_MAX_AGE,
                                                     secure=_secure(scope)))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(name: str, value: str, max_age: int, *, secure: bool) -> str:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


# ---- reading the session -----------------------------------------------------------------------------------


def current(request: Request) -> dict | None:
    """The signed-in person's session (user and account fields), or None."""
    return getattr(request.state, "session", None)


def require(request: Request) -> dict:
    """The session, or a trip to the sign-in page that comes back here."""
    session = current(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/incidents")
    return session


def login_url(next_path: str) -> str:
    return "/login?" + urlencode({"next": next_path})


# ---- CSRF ----------------------------------------------------------------------------------------------------


def _csrf_secret(state) -> bytes:
    """The key of anonymous forms' tokens: made once per app (a restart asks open sign-in forms to reload)."""
    secret = getattr(state, "csrf_secret", None)
    if secret is None:
        secret = state.csrf_secret = secrets.token_bytes(32)
    return secret


def _bound_token(request: Request, pre_session_id: str) -> str:
    digest = hmac.new(_csrf_secret(request.app.state), b"pd_csrf:" + pre_session_id.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def browser_token(request: Request) -> str:
    """The token for anonymous forms, bound to this browser's pre-session id (its cookie is set with the
    response that uses it)."""
    request.state.browser_csrf_used = True
    return _bound_token(request, request.state.browser_csrf)


def form_token(request: Request) -> str:
    session = current(request)
    return session["csrf_token"] if session else browser_token(request)


def _hidden(token: str) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))


def template_context(request: Request) -> dict:
    """Jinja context for every template: the session, and CSRF fields for forms."""
    return {
        "session": current(request),
        "csrf_token": lambda: form_token(request),
        "csrf_field": lambda: _hidden(form_token(request)),
        "browser_csrf_field": lambda: _hidden(browser_token(request)),
    }


def _forbidden() -> PageError:
    return PageError(403, "This form has expired",
                     "The security token on the form was missing or did not match. Go back, reload the page "
                     "and try again.")


def _same(submitted, expected: str) -> bool:
    """A constant-time comparison that takes any submitted value (compare_digest refuses non-ASCII text)."""
    if not isinstance(submitted, str):
        return False
    return hmac.compare_digest(submitted.encode("utf-8", "surrogatepass"), expected.encode())


def check_csrf(request: Request, form) -> None:
    """A signed-in person's form: its token must be the session's."""
    session = current(request)
    submitted = form.get(CSRF_FIELD)
    if not session or not _same(submitted, session["csrf_token"]):
        raise _forbidden()


def check_browser_csrf(request: Request, form) -> None:
    """An anonymous form: its token must be the one the sandbox issued for the browser's `pd_csrf` cookie, and
    a browser that names the form's origin (`Sec-Fetch-Site`) must name the sandbox's own pages."""
    cookie = request.state.browser_csrf_cookie
    submitted = form.get(CSRF_FIELD)
    if not cookie or not _same(submitted, _bound_token(request, cookie)):
        raise _forbidden()
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise _forbidden()


# ---- signing in and out ----------------------------------------------------------------------------------


async def sign_in(request: Request, response: Response, user_id: str) -> None:
    """A fresh session for `user_id` (any session the browser had is deleted), its cookie on `response`."""
    state = request.app.state
    now = state.clock.now()
    old = request.cookies.get(SESSION_COOKIE)
    if _well_formed(old):
        await state.store.accounts.delete_session(_hash(old))
    session_id = secrets.token_urlsafe(32)
    await state.store.accounts.create_session(
        id_hash=_hash(session_id), user_id=user_id, csrf_token=secrets.token_urlsafe(32),
        now=now, expires_at=now + SESSION_LIFETIME,
    )
    response.headers.append("set-cookie", _cookie(SESSION_COOKIE, session_id, int(SESSION_LIFETIME.total_seconds()),
                                                  secure=_secure(request.scope)))


async def sign_out(request: Request, response: Response) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if _well_formed(session_id):
        await request.app.state.store.accounts.delete_session(_hash(session_id))
    response.headers.append("set-cookie", _cookie(SESSION_COOKIE, "", 0, secure=_secure(request.scope)))
