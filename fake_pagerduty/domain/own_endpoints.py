"""Is this URL the sandbox itself? The rule that keeps webhooks away from the sandbox's own controls.

A webhook URL of `http://127.0.0.1:8090/_sandbox/reset?full=true` would let any REST API key wipe the sandbox.
The sandbox's own endpoints are its listening ports on its bound address (`--host`, `--port`, `--https-port`)
and `--public-url`'s host and port. A host is read the way resolvers and browsers read it: case and trailing
dots ignored, percent-escapes decoded, IPv4 in any inet_aton spelling (`127.1`, `0x7f.0.0.1`, `2130706433`,
`0177.0.0.1`), IPv6 in brackets, IPv4-mapped IPv6 (`[::ffff:127.0.0.1]`), `localhost` and `*.localhost`
(RFC 6761). Every loopback address, and the unspecified ones (`0.0.0.0`, `[::]`, which connect to this
machine), reach a sandbox bound to loopback or to every address.

Pure: no DNS and no sockets. Callers that resolve names (the delivery worker) pass the addresses they found to
`reaches`; callers that know the machine's own interface addresses pass `is_machine_address`.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from fake_pagerduty.domain.callbacks import DEFAULT_PORTS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Host = IPAddress | str  # an address, or a host name (lower case, no trailing dot)
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def _ipv4_number(part: str) -> int | None:
    """One part of an inet_aton spelling: decimal, 0x hex or 0 octal."""
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
        if digits == "":
            return 0
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    allowed = {8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}[base]
    if not digits or not all(ch in allowed for ch in digits):
        return None
    return int(digits, base)


def parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """IPv4 as inet_aton (and a browser's URL parser) read it: 1 to 4 parts, the last filling what is left."""
    parts = text.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4 or any(part == "" for part in parts):
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, n in enumerate(head):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalize_host(host: str) -> Host | None:
    """The address or name a URL's host stands for; None if it is no host at all."""
    text = unicodedata.normalize("NFKC", unquote(host)).strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        try:
            return _unmapped(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    text = text.rstrip(".")
    if not text:
        return None
    if ":" in text:
        try:
            return _unmapped(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    address = parse_ipv4(text)
    if address is not None:
        return address
    if text == "localhost" or text.endswith(".localhost"):
        return LOOPBACK
    return text


def is_local(host: Host) -> bool:
    """Loopback, or unspecified (connecting to 0.0.0.0 or [::] reaches this machine)."""
    return isinstance(host, ipaddress.IPv4Address | ipaddress.IPv6Address) and (host.is_loopback or host.is_unspecified)


def url_endpoint(url: str) -> tuple[Host, int] | None:
    """The (host, port) an http(s) URL names, ports defaulted by scheme; None if it names none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        netloc = parts.netloc
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    host_port = netloc.rpartition("@")[2]
    if host_port.startswith("["):
        raw_host = host_port[: host_port.find("]") + 1]
    else:
        raw_host = host_port.partition(":")[0]
    host = normalize_host(raw_host)
    if host is None:
        return None
    return host, DEFAULT_PORTS[scheme] if port is None else port


@dataclass(frozen=True)
class OwnEndpoints:
    """Where the sandbox listens: its ports on its bound host, and its public host and port."""

    bound: Host  # the --host it listens on (a loopback or unspecified address stands for this machine)
    ports: frozenset[int]  # --port and --https-port
    public: tuple[Host, int] | None = None  # --public-url's host and port

    @classmethod
    def of(cls, *, host: str, port: int, https_port: int | None = None, public_url: str = "") -> OwnEndpoints:
        bound = normalize_host(host) or ipaddress.IPv4Address("0.0.0.0")
        ports = frozenset(p for p in (port, https_port) if p is not None)
        return cls(bound=bound, ports=ports, public=url_endpoint(public_url) if public_url else None)

    @classmethod
    def from_settings(cls, settings) -> OwnEndpoints:
        """From the sandbox's `Settings` (`host`, `port`, `https_port`, `public_url`)."""
        return cls.of(host=settings.host, port=settings.port, https_port=settings.https_port,
                      public_url=settings.public_url)

    @property
    def everywhere(self) -> bool:
        """Bound to every address (0.0.0.0 or [::]): the machine's own addresses reach it too."""
        return isinstance(self.bound, ipaddress.IPv4Address | ipaddress.IPv6Address) and self.bound.is_unspecified

    def reaches(self, host: Host, port: int,
                is_machine_address: Callable[[IPAddress], bool] = lambda _address: False) -> bool:
        """True when a connection to (host, port) would land on the sandbox."""
        if isinstance(host, ipaddress.IPv6Address):
            host = _unmapped(host)
        if self.public is not None and (host, port) == self.public:
            return True
        if port not in self.ports:
            return False
        if host == self.bound:
            return True
        if is_local(host):  # 0.0.0.0 and [::] reach whatever this machine listens on
            return is_local(self.bound) or self.everywhere or host.is_unspecified
        if self.everywhere and isinstance(host, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return is_machine_address(host)
        return False

    def names_self(self, url: str) -> bool:
        """The URL plainly names the sandbox (no DNS): what a subscription is refused for."""
        endpoint = url_endpoint(url)
        return endpoint is not None and self.reaches(*endpoint)

    def reaches_any(self, port: int, addresses: Iterable[str],
                    is_machine_address: Callable[[IPAddress], bool] = lambda _address: False) -> bool:
        """True when any of the addresses a name resolved to, at `port`, is the sandbox."""
        for text in addresses:
            host = normalize_host(text.partition("%")[0])
            if host is not None and not isinstance(host, str) and self.reaches(host, port, is_machine_address):
                return True
        return False
