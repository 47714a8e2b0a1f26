"""Webhooks never reach the sandbox's own controls: refused when subscribing (PagerDuty's 400) where the URL
plainly names the sandbox, and refused by the delivery worker always (recorded as failed, never sent)."""

from __future__ import annotations

import httpx
import pytest

from fake_pagerduty.settings import Settings
from fake_pagerduty.webhook_guard import OwnAddressGuard
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.webhook_helpers import until

URL = "/api/webhook_subscriptions"
RESET = "http://127.0.0.1:8090/_sandbox/reset?full=true"
SELF_ERROR = {"error": {"message": "Invalid Input Provided", "code": 2001,
                        "errors": ["Delivery method url must not point at the sandbox itself"]}}


def body(url: str) -> dict:
    return {"webhook_subscription": {
        "type": "webhook_subscription",
        "delivery_method": {"type": "http_delivery_method", "url": url},
        "events": ["incident.triggered"],
        "filter": {"type": "account_reference"},
    }}


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests on to an app in-process, remembering each one."""

    def __init__(self, app) -> None:
        self.requests: list[httpx.Request] = []
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self._inner.handle_async_request(request)


@pytest.mark.parametrize("url", [
    RESET, "http://localhost:8090/_sandbox/reset?full=true", "http://127.1:8090/_sandbox/reset",
    "http://0x7f.0.0.1:8090/", "http://2130706433:8090/", "http://[::1]:8090/", "http://[::ffff:127.0.0.1]:8090/",
    "http://0.0.0.0:8090/", "http://LOCALHOST.:8090/", "http://user@127.0.0.1:8090/", "http://%6c%6fcalhost:8090/",
    "http://sandbox.test/_sandbox/reset", "http://sandbox.test:80/",  # the fixture's --public-url
])
async def test_a_subscription_to_the_sandbox_itself_is_refused(sandbox, url):
    response = await sandbox.post(URL, json=body(url), headers=REST_HEADERS)
    assert (response.status_code, response.json()) == (400, SELF_ERROR)
    listed = await sandbox.get(URL, headers=REST_HEADERS)
    assert listed.json()["webhook_subscriptions"] == []


async def test_loopback_on_another_port_is_still_a_fine_receiver(sandbox):
    for url in ("http://127.0.0.1:8000/integrations/pagerduty/webhook", "http://localhost:8123/hook"):
        response = await sandbox.post(URL, json=body(url), headers=REST_HEADERS)
        assert response.status_code == 200, response.text


async def test_an_update_cannot_point_a_subscription_at_the_sandbox(sandbox):
    created = await sandbox.post(URL, json=body("http://127.0.0.1:8000/hook"), headers=REST_HEADERS)
    sub_id = created.json()["webhook_subscription"]["id"]
    response = await sandbox.put(f"{URL}/{sub_id}", json=body(RESET), headers=REST_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2001
    shown = await sandbox.get(f"{URL}/{sub_id}", headers=REST_HEADERS)
    assert shown.json()["webhook_subscription"]["delivery_method"]["url"] == "http://127.0.0.1:8000/hook"


async def test_the_delivery_worker_never_sends_to_the_sandbox_itself(sandbox_app, sandbox):
    """A subscription that slipped past the first check (made before it, or straight in the store) is still
    refused when its webhook would go out: the ping that would reset the sandbox is never sent."""
    state = sandbox_app.state
    recorder = state.webhook_transport = Recorder(sandbox_app)  # the sandbox receiving its own webhooks
    row = await state.store.webhooks.create_subscription(
        id="PSELF01", account_id="PACME00", description="", active=True, events=["incident.triggered"],
        filter_type="account_reference", filter_id="PACME00", delivery_method_id="PSELFDM", url=RESET,
        secret="s" * 32, custom_headers=[], now=state.clock.now(),
    )
    assert (await sandbox.post(f"{URL}/{row['id']}/ping", headers=REST_HEADERS)).status_code == 202

    async def attempted():
        rows = await state.store.webhooks.deliveries_for_subscription("PSELF01")
        return recorder.requests or (rows if rows and rows[0]["status"] != "pending" else None)

    [delivery] = await until(sandbox_app, attempted)
    assert recorder.requests == []
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("failed", 1, None)
    assert "sandbox itself" in delivery["last_error"]
    # Nothing was reset: the subscription (and the account) are still there.
    assert (await sandbox.get(f"{URL}/PSELF01", headers=REST_HEADERS)).status_code == 200


async def test_the_worker_compares_the_addresses_a_name_resolves_to(monkeypatch):
    """Over the network, a name is resolved and each address it stands for is compared to the sandbox's."""
    class State:
        settings = Settings(port=8090)
        webhook_transport = None

    async def resolve(self, name, port):
        return {"127.0.0.1"} if name == "rebind.test" else {"203.0.113.7"}

    monkeypatch.setattr(OwnAddressGuard, "_resolve", resolve)
    guard = OwnAddressGuard(State())
    assert "sandbox itself" in await guard.refusal("http://rebind.test:8090/_sandbox/reset")
    assert await guard.refusal("http://rebind.test:8000/hook") is None  # loopback, another port: allowed
    assert await guard.refusal("http://partner.test:8090/hook") is None
    assert await guard.refusal("http://127.1:8090/") is not None


async def test_the_public_urls_host_is_resolved_too(monkeypatch):
    class State:
        settings = Settings(port=8090, public_url="https://sandbox.example")
        webhook_transport = None

    async def resolve(self, name, port):
        return {"198.51.100.4"} if name in ("sandbox.example", "alias.example") else {"203.0.113.7"}

    monkeypatch.setattr(OwnAddressGuard, "_resolve", resolve)
    guard = OwnAddressGuard(State())
    assert await guard.refusal("https://alias.example/_sandbox/reset") is not None
    assert await guard.refusal("https://198.51.100.4/_sandbox/reset") is not None
    assert await guard.refusal("https://other.example/hook") is None
