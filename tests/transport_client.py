"""An async client that hands each request straight to an `httpx.ASGITransport`, for in-process tests that send
thousands of plain requests (the read-your-writes stress test: 12,000).

`httpx.AsyncClient` merges the base URL, headers and cookies, runs the auth and redirect machinery and the cookie
jar for every request: about a third of an in-process request's CPU in the fast tier (docs/benchmarks.md, ninth
pass, "Fast tier"). This client builds the `httpx.Request` and gives it to the transport: the same request reaches
the app, the same `httpx.Response` comes back (read), and the sandbox's `/api` answers are still checked against
rest.json (tests/rest_validation.py wraps the transport). It follows no redirect and keeps no cookie: for a test
that needs neither; tests/test_transport_client.py checks that both clients send and receive the same."""

from __future__ import annotations

import httpx


class TransportClient:
    def __init__(self, app, base_url: str) -> None:
        self.transport, self.base_url = httpx.ASGITransport(app=app), base_url.rstrip("/")
        self.default_headers = httpx.AsyncClient().headers  # Accept, Accept-Encoding, User-Agent... as httpx sends

    async def request(self, method: str, path: str, *, headers=None, **kwargs) -> httpx.Response:
        sent = httpx.Headers(self.default_headers)
        sent.update(headers or {})
        request = httpx.Request(method, self.base_url + path, headers=sent, **kwargs)
        response = await self.transport.handle_async_request(request)
        response.request = request
        await response.aread()
        return response

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> httpx.Response:
        return await self.request("POST", path, **kwargs)
