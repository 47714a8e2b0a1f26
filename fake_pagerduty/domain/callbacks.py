"""Where the sandbox may send a browser: partner callbacks, `?next=` paths, links and images from events.

Pure rules, no HTTP. A partner app lists the origins its callbacks may use as patterns
`scheme://host:port`, where the port may be `*` (any port, including none). A callback must be an
absolute http(s) URL whose origin matches one pattern; anything odd (userinfo, backslashes, control
characters, non-ASCII, a missing host) is refused rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int | None  # None in a pattern means "any port"


def _plain(text: str) -> bool:
    """ASCII, no control characters, no spaces, no backslashes."""
    return text.isascii() and "\\" not in text and all(0x20 < ord(ch) < 0x7F for ch in text)


def parse_url_origin(url: object) -> Origin | None:
    """The origin of an absolute http(s) URL, or None if the URL is not one we would send a browser to."""
    if not isinstance(url, str) or not url or len(url) > 2048 or not _plain(url):
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not url.lower().startswith(scheme + "://"):
        return None
    netloc = parts.netloc
    if not netloc or "@" in netloc or "%" in netloc:
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return Origin(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])


def parse_pattern(pattern: object) -> Origin | None:
    """`http://127.0.0.1:*` → Origin(http, 127.0.0.1, None); `https://example.com` → port 443."""
    if not isinstance(pattern, str) or not _plain(pattern):
        return None
    scheme, sep, rest = pattern.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        return None
    rest = rest.rstrip("/")
    if not rest or any(ch in rest for ch in "/?#@"):
        return None
    if rest.endswith(":*"):
        return Origin(scheme, rest[:-2].lower(), None) if rest[:-2] else None
    origin = parse_url_origin(f"{scheme}://{rest}/")
    return origin


def callback_allowed(url: object, patterns: list) -> bool:
    """True if `url` is an absolute http(s) URL whose origin matches one of the partner's patterns."""
    origin = parse_url_origin(url)
    if origin is None:
        return False
    for raw in patterns:
        pattern = parse_pattern(raw)
        if pattern is None:
            continue
        if (pattern.scheme, pattern.host) == (origin.scheme, origin.host) and pattern.port in (None, origin.port):
            return True
    return False


def with_query(url: str, params: dict[str, str] | list[tuple[str, str]]) -> str:
    """`url` with `params` appended to its query; its own query (e.g. `state`) is kept byte for byte."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def safe_next(target: object, default: str = "/incidents") -> str:
    """A same-site relative path (`/connect?…`) to go to after sign-in, or `default` for anything else."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return default
    if not _plain(target) or len(target) > 4096:
        return default
    return target  # one leading slash, no backslash: neither a scheme nor a host can follow


def is_http_url(url: object) -> bool:
    """Links from event data: only absolute http(s) URLs become links."""
    return parse_url_origin(url) is not None


def is_https_url(url: object) -> bool:
    """Images from event data: only https, never http, data: or javascript:."""
    origin = parse_url_origin(url)
    return origin is not None and origin.scheme == "https"
