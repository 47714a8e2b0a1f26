"""Small helpers shared by the REST API tests: send events, read the sandbox's REST answers."""

from __future__ import annotations

import httpx

from tests.conftest import REST_HEADERS, SAMPLE_KEY

FROM_DANA = {**REST_HEADERS, "From": "demo@acme.test"}
BASE = "http://sandbox.test"


async def trigger(
    client: httpx.AsyncClient,
    dedup_key: str,
    summary: str = "Disk full on web-1",
    severity: str = "critical",
    routing_key: str = SAMPLE_KEY,
) -> None:
    response = await client.post(
        "/v2/enqueue",
        json={
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {"summary": summary, "source": "web-1", "severity": severity},
        },
    )
    assert response.status_code == 202, response.text


async def incidents(client: httpx.AsyncClient, query: str = "", headers: dict | None = None) -> dict:
    response = await client.get(f"/api/incidents{query}", headers=headers or REST_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


async def incident_by_key(client: httpx.AsyncClient, key: str) -> dict:
    (found,) = (await incidents(client, f"?incident_key={key}"))["incidents"]
    return found
