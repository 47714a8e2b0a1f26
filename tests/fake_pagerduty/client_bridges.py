"""Real PagerDuty clients driving the sandbox in-process, no ports: the bridges and fixtures the client tests
share (test_rest_official_client.py, test_rest_people_clients.py, test_rest_incidents_people_clients.py).

How it is wired: the clients are synchronous, so their calls run in a worker thread (`asyncio.to_thread`) while
the test's event loop serves the app; each bridge hands a request to that loop, where it goes through
`httpx.ASGITransport` into the very app the `sandbox_app` fixture runs, and the response comes back the same way.
- PagerDuty's official client (PyPI `pagerduty`) is an `httpx2.Client` subclass that only accepts `https://` base
  URLs and passes extra keyword arguments to `httpx2.Client`, so it gets `base_url=REST_BASE` (or `EVENTS_BASE`)
  and `transport=bridge` (`AppBridge`, a synchronous httpx2 transport).
- pdpyras (`APISession`) is a requests session: it takes the base URL as its `url` attribute and `RequestsBridge`
  mounted for `https://`.
No TLS, no socket: the `https` scheme is only a name the clients insist on. (Tests over real HTTPS and a real port
live in e2e/test_https_official_client.py and e2e/test_client_recipes.py.)
"""

from __future__ import annotations

import asyncio
import warnings

import httpx
import httpx2
import pytest
import requests
from requests.structures import CaseInsensitiveDict

from tests.conftest import API_KEY

with warnings.catch_warnings():  # pdpyras announces its own deprecation on import
    warnings.simplefilter("ignore")
    import pdpyras

REST_BASE = "https://sandbox.test/api"
EVENTS_BASE = "https://sandbox.test"


class AppBridge(httpx2.BaseTransport):
    """A synchronous transport (for a client running in a worker thread) that serves each request with the
    in-process app on the test's event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client, self._loop = client, loop

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        future = asyncio.run_coroutine_threadsafe(self._forward(request), self._loop)
        status, headers, content = future.result(timeout=60)
        return httpx2.Response(status, headers=headers, stream=httpx2.ByteStream(content), request=request)

    async def _forward(self, request: httpx2.Request) -> tuple[int, list[tuple[str, str]], bytes]:
        response = await self._client.request(
            request.method, str(request.url), headers=list(request.headers.multi_items()), content=request.read()
        )
        return response.status_code, list(response.headers.multi_items()), response.content


class RequestsBridge(requests.adapters.BaseAdapter):
    """A requests transport adapter (for pdpyras, a requests session, in a worker thread) that serves each
    request with the in-process app on the test's event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._client, self._loop = client, loop

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        future = asyncio.run_coroutine_threadsafe(self._client.request(
            request.method, request.url, headers=dict(request.headers), content=request.body or b""), self._loop)
        answer = future.result(timeout=60)
        response = requests.Response()
        response.status_code, response.url, response.request = answer.status_code, request.url, request
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content, response.encoding = answer.content, "utf-8"
        return response

    def close(self) -> None:
        pass


@pytest.fixture
async def bridge(sandbox_app) -> AppBridge:
    """The official client's transport into the in-process sandbox."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=EVENTS_BASE) as client:
        yield AppBridge(client, asyncio.get_running_loop())


@pytest.fixture
async def pdpyras_session(sandbox_app) -> pdpyras.APISession:
    """A pdpyras REST session with the account's API key, From demo@acme.test, into the in-process sandbox
    (to be used in a worker thread)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=REST_BASE) as client:
        session = pdpyras.APISession(API_KEY, default_from="demo@acme.test")
        session.url = REST_BASE
        session.mount("https://", RequestsBridge(client, asyncio.get_running_loop()))
        yield session
