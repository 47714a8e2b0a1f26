"""Against DNS rebinding: an app answers only to the names it is served at.

A site whose name an attacker points at 127.0.0.1 is same-origin with itself, so a browser lets its scripts read
what a local server answers; only the `Host` header gives it away. Allowed, with any port: loopback names and
addresses (localhost, 127.0.0.0/8, [::1]), `--host` unless it is a wildcard, the host of `--public-url`, and any
extra names the settings give. A request with no `Host` at all (an HTTP/1.0 tool) passes: browsers always send one.

App-agnostic (the demo monitor uses it too). The sandbox installs it outermost, so it covers the Events API hot
path, where it costs one dict lookup on the raw header: each distinct header value is judged once and remembered.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})
MAX_VERDICTS = 256  # distinct Host values remembered; beyond that each new one is judged afresh, never stored


def hostname(header: str) -> str | None:
    """The name in a Host header, lower case, without port, brackets or a final dot; None if unreadable."""
    try:
        name = urlsplit("//" + header).hostname
    except ValueError:
        return None
    return name.rstrip(".") if name else None


def served_names(host: str, public_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The names besides loopback addresses that a server bound to `host` and reached at `public_url` answers to."""
    names = {"localhost", *(name.lower().strip("[]").rstrip(".") for name in extra)}
    bound = host.strip("[]").lower()
    if bound not in WILDCARDS:
        names.add(bound)
    if public_url:
        names.add((urlsplit(public_url).hostname or "").rstrip("."))
    names.discard("")
    return frozenset(names)


def allowed(header: str, names: frozenset[str]) -> bool:
    name = hostname(header)
    if name is None:
        return False
    if name in names:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostGuard:
    """ASGI middleware: requests naming another host get `reject(scope)`'s response (a 421)."""

    def __init__(self, app: ASGIApp, *, names: frozenset[str], reject: Callable[[Scope], Response]) -> None:
        self.app = app
        self.names = names
        self.reject = reject
        self.verdicts: dict[bytes, bool] = {b"": True}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            raw = b""
            for name, value in scope["headers"]:
                if name == b"host":
                    raw = value
                    break
            verdict = self.verdicts.get(raw)
            if verdict is None:
                verdict = allowed(raw.decode("latin-1"), self.names)
                if len(self.verdicts) < MAX_VERDICTS:
                    self.verdicts[raw] = verdict
            if not verdict:
                if scope["type"] == "http":
                    await self.reject(scope)(scope, receive, send)
                else:  # a websocket: refuse the handshake
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)
