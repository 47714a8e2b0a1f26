"""Headers on every answer against clickjacking and content sniffing, and a Content-Security-Policy that fits the
pages: scripts and styles only from /static (no inline code or style attributes), fetches to the app itself.
(The `<script type="application/json">` data blocks are not run, so the policy does not concern them.)

`form-action` is left out on purpose: the Connect and install handshakes post forms answered by redirects to the
partner's site (another origin), which Chromium checks against `form-action` too; the monitor's Connect and
OAuth forms likewise lead to the sandbox. Pure ASGI, so streamed answers are untouched. App-agnostic: the demo
monitor uses it too. In the sandbox it sits inside the Events API hot path (JSON only), which stays as fast.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def headers(*, images: str = "") -> tuple[tuple[bytes, bytes], ...]:
    """The headers, with `images` (sources, space-separated) allowed for <img> besides the app itself."""
    policy = "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: {images}".rstrip(),
        "connect-src 'self'",  # fetch and EventSource go to the app itself
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ])
    return (
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    )


# The sandbox's: an incident's page shows the https images its events carry, as PagerDuty does.
SANDBOX_HEADERS = headers(images="https:")


class SecurityHeaders:
    """ASGI middleware: adds `headers` to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp, headers: tuple[tuple[bytes, bytes], ...] = SANDBOX_HEADERS) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [header for header in self.headers if header[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
