"""The fixtures' reset and webhook delivery (fake_pagerduty/reset.py, webhooks.py): delivery that never had
anything to do is kept across a reset instead of being stopped and started again; either way a test's
webhooks reach its own receiver, and nothing a test left behind reaches the next one."""

from __future__ import annotations

import asyncio

import httpx

from fake_pagerduty.reset import SandboxApp
from fake_pagerduty.settings import Settings
from tests.fake_pagerduty.sandbox_helpers import trigger
from tests.fake_pagerduty.test_webhooks_delivery import subscribe, wait_delivered
from tests.fake_pagerduty.webhook_helpers import Receiver, until

BASE_URL = "http://sandbox.test"


def _sandbox(tmp_path) -> SandboxApp:
    return SandboxApp(Settings(db_path=str(tmp_path / "sandbox.db"), public_url=BASE_URL,
                               webhook_backoff_seconds=0, webhook_max_attempts=3))


async def _test_with_a_subscription(sandbox: SandboxApp, receiver: Receiver, dedup_key: str) -> None:
    """What a test does: its receiver, a subscription, a trigger, and its one webhook delivered."""
    sandbox.app.state.webhook_transport = httpx.MockTransport(receiver)
    async with sandbox.client(BASE_URL) as client:
        await subscribe(client, ["incident.triggered"])
        assert (await trigger(client, dedup_key)).status_code == 202
        [delivery] = await wait_delivered(sandbox.app, 1)
    assert delivery["status"] == "delivered"
    assert [event["data"]["title"] for event in receiver.events()] == ["Disk full on web-1"]


async def test_a_reset_after_a_test_without_webhooks_keeps_delivery_and_the_next_test_gets_its_own(tmp_path):
    async with _sandbox(tmp_path) as sandbox:
        await sandbox.reset()
        async with sandbox.client(BASE_URL) as client:  # test A: events, no webhook target anywhere
            for key in ("a-1", "a-2"):
                assert (await trigger(client, key)).status_code == 202
        delivery = sandbox.app.state.webhooks
        await sandbox.reset()
        assert sandbox.app.state.webhooks is delivery  # kept: it never had anything to do

        receiver = Receiver()
        await _test_with_a_subscription(sandbox, receiver, "b-1")  # test B: it still hears new changes
        await sandbox.reset()
        assert sandbox.app.state.webhooks is not delivery  # it had work: stopped, and a new one started

        later = Receiver()
        await _test_with_a_subscription(sandbox, later, "c-1")  # test C: only its own webhook, to its receiver
        assert len(receiver.requests) == 1


async def test_a_webhook_still_being_retried_when_a_test_ends_never_reaches_the_next_test(tmp_path):
    """Test A's receiver fails its webhook, which waits for a retry when A ends; after the reset the retry is
    never sent (to A's receiver or B's), and B sees neither A's subscription nor its delivery."""
    settings = Settings(db_path=str(tmp_path / "sandbox.db"), public_url=BASE_URL, webhook_backoff_seconds=30,
                        webhook_max_attempts=5)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        first, second = Receiver(), Receiver()
        first.script = [500]
        sandbox.app.state.webhook_transport = httpx.MockTransport(first)
        async with sandbox.client(BASE_URL) as client:
            await subscribe(client, ["incident.triggered"])
            assert (await trigger(client, "a-1")).status_code == 202

            async def failed_once():
                rows = await sandbox.app.state.store.webhooks.deliveries_for_service("PWEBS00")
                return rows and rows[0]["attempts"] == 1 and rows[0]["status"] == "pending"

            await until(sandbox.app, failed_once)
        await sandbox.reset()

        sandbox.app.state.webhook_transport = httpx.MockTransport(second)
        async with sandbox.client(BASE_URL) as client:
            assert (await trigger(client, "b-1")).status_code == 202
            advanced = await client.post("/_sandbox/clock", json={"advance_seconds": 3600})  # A's retry due
            assert advanced.status_code == 200
            for _ in range(20):  # the webhook writer and worker get every chance to run
                await asyncio.sleep(0.01)
            state = (await client.get("/_sandbox/state")).json()
        assert (len(first.requests), second.requests) == (1, [])
        assert state["webhooks"]["subscriptions"] == [] and state["webhooks"]["deliveries"] == []
