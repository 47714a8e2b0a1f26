"""Fast tier: apps in-process through httpx.ASGITransport, lifespan entered by the fixture, no ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from fake_pagerduty.app import create_app
from fake_pagerduty.settings import Settings

SAMPLE_KEY = "e93facc04764012d7bfb002500d5d1a6"
API_KEY = "sandbox-api-key-acme"
REST_HEADERS = {
    "Authorization": f"Token token={API_KEY}",
    "Accept": "application/vnd.pagerduty+json;version=2",
}


@pytest.fixture
def sandbox_settings(tmp_path) -> Settings:
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test")


@pytest.fixture
async def sandbox_app(sandbox_settings) -> AsyncIterator[Starlette]:
    app = create_app(sandbox_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def sandbox(sandbox_app) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to a fresh, seeded sandbox in-process."""
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield client
