"""Who may use the sandbox controls (`/_sandbox/…`): the `guarded` decorator every control's handler wears.

- The sandbox token (`--sandbox-token`), when one is set, in `Authorization: Bearer …` or `X-Sandbox-Token`;
  off loopback there must be one (the server refuses to start without it, and the controls stay closed).
- Browsers only from the sandbox's own pages: a request whose `Origin` is another site gets a 403.
- Pages reached at a name the sandbox is not served at never get here: `host_guard.py` answers them first.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from fake_pagerduty.errors import SandboxError

Handler = Callable[[Request], Awaitable[Response]]


def token_required(settings) -> bool:
    """Whether callers must send the sandbox token (the Sandbox page asks people for it then)."""
    return bool(settings.sandbox_token) or settings.sandbox_token_required


def _authorized(request: Request) -> bool:
    settings = request.app.state.settings
    token = settings.sandbox_token
    if not token:
        return not settings.sandbox_token_required  # off loopback without a token: closed
    sent = request.headers.get("x-sandbox-token", "")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        sent = value.strip()
    return hmac.compare_digest(sent.encode(), token.encode())


def _cross_origin(request: Request) -> bool:
    """A browser request sent by another site's page (a form or fetch aimed at this sandbox). Browsers always
    send `Origin` on such requests; clients like httpx or curl send none."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    allowed = {request.headers.get("host", "")}
    public = request.app.state.settings.public_url
    if public:
        allowed.add(urlsplit(public).netloc)
    return urlsplit(origin).netloc not in allowed


def guarded(handler: Handler) -> Handler:
    """Sandbox controls need the sandbox token when one is set, and always off loopback; browsers may call
    them only from the sandbox's own pages."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        if _cross_origin(request):
            raise SandboxError(403, "Cross-origin requests to the sandbox controls are refused")
        if not _authorized(request):
            raise SandboxError.unauthorized()
        return await handler(request)

    return wrapper
