"""A session cookie (HttpOnly, SameSite=Lax) and CSRF tokens derived from it for every form."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from http.cookies import SimpleCookie

from starlette.exceptions import HTTPException
from starlette.requests import Request

COOKIE_NAME = "demo_monitor_session"
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_SCOPE_KEY = "demo_monitor.session_id"


class SessionMiddleware:
    """Gives every browser a random session id in a cookie; pure ASGI so streaming responses are untouched."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session_id = None
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookie = SimpleCookie()
                try:
                    cookie.load(value.decode("latin-1"))
                except Exception:  # a malformed cookie header is just ignored
                    continue
                if COOKIE_NAME in cookie and _SESSION_RE.match(cookie[COOKIE_NAME].value):
                    session_id = cookie[COOKIE_NAME].value
        is_new = session_id is None
        if is_new:
            session_id = secrets.token_urlsafe(32)
        scope[_SCOPE_KEY] = session_id

        async def send_with_cookie(message) -> None:
            if is_new and message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                headers.append(
                    (b"set-cookie", f"{COOKIE_NAME}={session_id}; Path=/; HttpOnly; SameSite=Lax{secure}".encode())
                )
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def session_id(request: Request) -> str:
    return request.scope.get(_SCOPE_KEY, "")


def csrf_token(request: Request) -> str:
    secret = request.app.state.secret_key.encode()
    return hmac.new(secret, b"csrf:" + session_id(request).encode(), hashlib.sha256).hexdigest()


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form's text fields, if its csrf_token matches this session; else a 403. (File uploads are
    dropped: no form here takes one.)"""
    try:
        form = await request.form()
    except Exception:
        raise HTTPException(400, "The form could not be read.") from None
    token = form.get("csrf_token")
    if not isinstance(token, str) or not session_id(request) or not hmac.compare_digest(token, csrf_token(request)):
        raise HTTPException(
            403, "The form's security token is missing or out of date. Go back, reload the page and try again."
        )
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}
