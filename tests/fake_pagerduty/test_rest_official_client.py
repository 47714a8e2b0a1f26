"""PagerDuty's official Python client (PyPI `pagerduty`) driving the sandbox in-process, no ports.

How it is wired: the client is an `httpx2.Client` subclass that only accepts `https://` base URLs, and passes
extra keyword arguments to `httpx2.Client` — so we give it `base_url="https://sandbox.test/api"` (REST) or
`"https://sandbox.test"` (Events) and `transport=AppBridge(...)`. `AppBridge` is a synchronous httpx2
transport that hands each request to the test's event loop, where it goes through `httpx.ASGITransport` into
the very app the `sandbox_app` fixture runs; the response comes back the same way. No TLS, no socket: the
`https` scheme is only a name the client insists on. The client itself is synchronous, so its calls run in a
worker thread (`asyncio.to_thread`) while the event loop serves the app. (A test over real HTTPS and a real
port lives in e2e/test_https_official_client.py.)
"""

from __future__ import annotations

import asyncio

import httpx
import httpx2
import pagerduty
import pytest

from tests.conftest import API_KEY, SAMPLE_KEY

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


@pytest.fixture
async def bridge(sandbox_app) -> AppBridge:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=EVENTS_BASE) as client:
        yield AppBridge(client, asyncio.get_running_loop())


async def test_official_clients_trigger_list_acknowledge_resolve(bridge):
    def scenario() -> dict:
        events = pagerduty.EventsApiV2Client(SAMPLE_KEY, base_url=EVENTS_BASE, transport=bridge)
        dedup_key = events.trigger("Disk full on web-1", "web-1", dedup_key="disk-web-1", severity="critical")
        events.trigger("CPU warm on web-2", "web-2", dedup_key="cpu-web-2", severity="warning")

        rest = pagerduty.RestApiV2Client(API_KEY, default_from="demo@acme.test", base_url=REST_BASE,
                                         transport=bridge)
        listed = rest.list_all("incidents", params={"statuses[]": ["triggered"]})
        # iter_all pages through with limit/offset/more: page size 1 forces two pages.
        paged = list(rest.iter_all("incidents", page_size=1))
        target = next(i for i in listed if i["incident_key"] == dedup_key)
        acked = rest.rput(f"incidents/{target['id']}", json={"type": "incident_reference",
                                                             "status": "acknowledged"})
        resolved = rest.rput("incidents", json=[{"id": target["id"], "type": "incident_reference",
                                                 "status": "resolved"}])
        fetched = rest.rget(f"incidents/{target['id']}")
        found = rest.find("services", "Acme Website")
        alerts = rest.list_all(f"incidents/{target['id']}/alerts")
        return {"dedup_key": dedup_key, "listed": listed, "paged": paged, "acked": acked, "resolved": resolved,
                "fetched": fetched, "found": found, "alerts": alerts}

    result = await asyncio.to_thread(scenario)

    assert result["dedup_key"] == "disk-web-1"
    assert [(i["title"], i["urgency"], i["status"]) for i in result["listed"]] == [
        ("Disk full on web-1", "high", "triggered"), ("CPU warm on web-2", "low", "triggered")]
    assert [i["incident_number"] for i in result["paged"]] == [1, 2]
    assert result["acked"]["status"] == "acknowledged"
    assert result["acked"]["acknowledgements"][0]["acknowledger"]["summary"] == "Dana Demo"
    assert [i["status"] for i in result["resolved"]] == ["resolved"]
    assert result["fetched"]["status"] == "resolved"
    assert result["fetched"]["last_status_change_by"]["id"] == "PDANA00"
    assert result["found"]["id"] == "PWEBS00"
    assert [(a["alert_key"], a["status"]) for a in result["alerts"]] == [("disk-web-1", "resolved")]


async def test_official_client_sees_pagerduty_errors(bridge):
    def scenario() -> tuple[int, dict, int]:
        rest = pagerduty.RestApiV2Client("wrong-key", base_url=REST_BASE, transport=bridge)
        try:
            rest.rget("incidents")
        except pagerduty.Error as exc:
            unauthorized = exc.response.status_code
        no_from = pagerduty.RestApiV2Client(API_KEY, base_url=REST_BASE, transport=bridge)
        try:
            no_from.rput("incidents/QNOPE", json={"type": "incident_reference", "status": "resolved"})
        except pagerduty.Error as exc:
            missing_from = (exc.response.status_code, exc.response.json())
        return unauthorized, *missing_from

    unauthorized, status, body = await asyncio.to_thread(scenario)
    assert unauthorized == 401
    assert status == 400
    assert body["error"]["code"] == 2016
