"""Shared pieces for the webhook tests: a scripted receiver behind httpx.MockTransport, and an app fixture
that installs it before the lifespan starts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator, Callable

import httpx
from starlette.applications import Starlette

from fake_pagerduty.app import create_app
from fake_pagerduty.settings import Settings
from tests.conftest import SAMPLE_KEY

PARTNER_URL = "http://127.0.0.1:8000/integrations/pagerduty/webhook"
PARTNER_SECRET = "demo-webhook-secret"
RECEIVER_URL = "https://receiver.test/pagerduty"
# a hang guard, not a timing assertion; scripts/mutation shortens it (a mutant that stops deliveries would
# otherwise cost a minute a test)
UNTIL_LIMIT_SECONDS = float(os.environ.get("TEST_UNTIL_LIMIT_SECONDS", "60"))


class Receiver:
    """Records every request; answers with the scripted outcomes in turn (an int status, or an exception to
    raise), then 200."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[int | Exception] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.script.pop(0) if self.script else 200
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome, text="ok")

    def events(self) -> list[dict]:
        return [json.loads(r.content)["event"] for r in self.requests]


def expected_signature(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def make_app(settings: Settings, receiver: Receiver) -> Starlette:
    app = create_app(settings)
    app.state.webhook_transport = httpx.MockTransport(receiver)
    return app


async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            yield client


def trigger(dedup_key: str, *, routing_key: str = SAMPLE_KEY, client: str | None = "Demo Monitor") -> dict:
    event = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": f"Disk full on {dedup_key}", "source": "web-1", "severity": "critical"},
    }
    if client:
        event["client"] = client
    return event


def action(kind: str, dedup_key: str, *, routing_key: str = SAMPLE_KEY) -> dict:
    return {"routing_key": routing_key, "event_action": kind, "dedup_key": dedup_key}


async def until(app: Starlette, check: Callable):
    """Wait for a condition the webhook writer or worker brings about (bounded so a bug fails, not hangs)."""
    async with asyncio.timeout(UNTIL_LIMIT_SECONDS):
        return await app.state.webhooks.wait_until(check)
