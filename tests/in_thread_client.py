"""A synchronous client over an ASGI app in the test's own thread, for tests that send thousands of requests."""

from __future__ import annotations

import asyncio

import httpx


class InThreadClient:
    """Starlette's TestClient without its thread: the app's lifespan and every request run on an event loop of
    the client's own, in the calling thread, through httpx's ASGI transport. The fuzz tests are synchronous
    (hypothesis) and send thousands of requests: TestClient hands each to the app's loop in another thread and
    waits, ~0.65 ms of CPU more a request (docs/benchmarks.md, eighth pass). As TestClient: redirects followed
    unless a request says not, cookies kept, the app's exceptions raised in the test. The app's background tasks
    run while a request is answered. Being an `httpx.ASGITransport` client, its sandbox `/api` answers are checked
    against rest.json like every other (tests/rest_validation.py)."""

    def __init__(self, app, base_url: str) -> None:
        self.app, self.base_url = app, base_url

    def __enter__(self) -> InThreadClient:
        self.loop = asyncio.new_event_loop()
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self.lifespan.__aenter__())
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=self.base_url,
                                      follow_redirects=True)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.loop.run_until_complete(self.http.aclose())
            self.loop.run_until_complete(self.lifespan.__aexit__(*exc))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    @property
    def cookies(self) -> httpx.Cookies:
        return self.http.cookies

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kwargs))

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self.request("POST", url, **kwargs)
