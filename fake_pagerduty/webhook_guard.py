"""The delivery worker's last check: a webhook is never sent to the sandbox itself.

The rule is `domain/own_endpoints.py`; this module feeds it what only a running process knows. The URL is read
twice, by the standard library and by httpx (the client that would send it), so no parser difference slips
through. Names are resolved the way the connection would resolve them, and every address found is compared to
the sandbox's own; a sandbox bound to every address (0.0.0.0) also owns each address this machine can bind.
With a test transport set (`app.state.webhook_transport`) nothing is resolved, since nothing goes to the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from typing import Any

import httpx

from fake_pagerduty.domain.own_endpoints import (
    DEFAULT_PORTS,
    Host,
    OwnEndpoints,
    normalize_host,
    url_endpoint,
)

REFUSED = ("refused: the URL points at the sandbox itself (one of its own addresses and ports); "
           "webhooks are never sent to the sandbox's own controls")


def _httpx_endpoint(url: str) -> tuple[Host, int] | None:
    try:
        parsed = httpx.URL(url)
    except Exception:  # httpx cannot send what it cannot parse
        return None
    host = normalize_host(parsed.host) if parsed.host else None
    if host is None or parsed.scheme not in DEFAULT_PORTS:
        return None
    return host, parsed.port or DEFAULT_PORTS[parsed.scheme]


def _is_machine_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when this machine can bind the address, i.e. it is one of its own."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
        return True
    except OSError:
        return False


class OwnAddressGuard:
    def __init__(self, state: Any) -> None:
        self._state = state
        self._own = OwnEndpoints.from_settings(state.settings)
        self._public_addresses: set[str] | None = None

    async def refusal(self, url: str) -> str | None:
        """Why this URL must not be sent to (it is the sandbox), or None."""
        readings = {r for r in (url_endpoint(url), _httpx_endpoint(url)) if r is not None}
        if any(self._own.reaches(host, port, _is_machine_address) for host, port in readings):
            return REFUSED
        if getattr(self._state, "webhook_transport", None) is not None:
            return None
        public = await self._public()
        for host, port in readings:
            addresses = await self._resolve(host, port) if isinstance(host, str) else {str(host)}
            if self._own.reaches_any(port, addresses, _is_machine_address):
                return REFUSED
            if self._own.public is not None and port == self._own.public[1] and addresses & public:
                return REFUSED
        return None

    async def _public(self) -> set[str]:
        """The addresses `--public-url`'s host resolves to (once)."""
        if self._public_addresses is None:
            public = self._own.public
            if public is None:
                self._public_addresses = set()
            elif isinstance(public[0], str):
                self._public_addresses = await self._resolve(*public)
            else:
                self._public_addresses = {str(public[0])}
        return self._public_addresses

    async def _resolve(self, name: str, port: int) -> set[str]:
        """The addresses a connection to `name` would try; none if it does not resolve (the send fails)."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError, TimeoutError, UnicodeError):
            infos = await asyncio.wait_for(loop.getaddrinfo(name, port, type=socket.SOCK_STREAM),
                                           self._state.settings.webhook_timeout_seconds)
            found = set()
            for info in infos:
                address = normalize_host(str(info[4][0]).partition("%")[0])
                if address is not None and not isinstance(address, str):
                    found.add(str(address))
            return found
        return set()
