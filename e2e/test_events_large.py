"""No request size PagerDuty accepts and no burst costs an event or an answer, on the real server (uvloop and
the events writer process, where a batch larger than the socket buffer used to be taken for a dead writer
and answered 500 — and after four, every event was)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from e2e.servers import run_async
from tests.conftest import REST_HEADERS, SAMPLE_KEY

V1, V2, CHANGE = "/generic/2010-04-15/create_event.json", "/v2/enqueue", "/v2/change/enqueue"
UNRECOGNIZED = {"status": "unrecognized object", "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"]}
TOO_LARGE = {"status": "invalid event", "message": "Event object is invalid",
             "errors": ["Event object is too large (maximum is 512 KB)"]}


def _padded(body: dict, details_key: str, size: int) -> bytes:
    """`body` with `details_key` holding a string that brings the JSON to exactly `size` bytes."""
    body[details_key] = {"padding": ""}
    base = len(json.dumps(body).encode())
    body[details_key]["padding"] = "x" * (size - base)
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


def _event(path: str, key: str, size: int) -> bytes:
    if path == V1:
        return _padded({"service_key": SAMPLE_KEY, "event_type": "trigger", "incident_key": key,
                        "description": f"{key} is big"}, "details", size)
    if path == V2:
        body = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": key,
                "payload": {"summary": f"{key} is big", "source": "web-01", "severity": "critical"}}
        body["payload"]["custom_details"] = {"padding": ""}
        base = len(json.dumps(body).encode())
        body["payload"]["custom_details"]["padding"] = "x" * (size - base)
        return json.dumps(body).encode()
    body = {"routing_key": SAMPLE_KEY, "payload": {"summary": f"{key} deployed", "source": "ci",
                                                   "custom_details": {"padding": ""}}}
    base = len(json.dumps(body).encode())
    body["payload"]["custom_details"]["padding"] = "x" * (size - base)
    return json.dumps(body).encode()


@pytest.fixture
def client(sandbox_server):
    with httpx.Client(base_url=sandbox_server.url, timeout=60) as client:
        yield client


def _journal(client: httpx.Client, **params) -> dict:
    return client.get("/_sandbox/events", params=params).json()


@pytest.mark.parametrize("path", [V1, V2, CHANGE])
def test_events_up_to_512_kb_are_accepted_and_stored(client, path):
    for kb in (300, 450, 505):
        key = f"big-{kb}-{uuid.uuid4().hex[:8]}"
        data = _event(path, key, kb * 1024)
        answer = client.post(path, content=data, headers={"Content-Type": "application/json"})
        assert answer.status_code == (202 if path != V1 else 200), answer.text
        newest = _journal(client, limit=1)["events"][0]
        assert newest["response"]["status"] == answer.status_code
        assert newest["outcome"] == ("recorded" if path == CHANGE else "created")
        assert newest["body"] == json.loads(data)
        if path != CHANGE:
            incidents = client.get("/api/incidents", params={"incident_key": key},
                                   headers=REST_HEADERS).json()
            assert [i["incident_key"] for i in incidents["incidents"]] == [key]


@pytest.mark.parametrize("path", [V1, V2, CHANGE])
def test_garbage_of_100_kb_to_1_mb_gets_pagerdutys_4xx_and_events_go_on(client, path):
    before = _journal(client)["last_event_id"]
    for size in (100_000, 210_000, 300_000, 500_000, 600_000, 1_000_000):
        answer = client.post(path, content=b"{" * size, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert answer.json() == (UNRECOGNIZED if size <= 512 * 1024 else TOO_LARGE)
    assert _journal(client)["last_event_id"] == before + 6  # each refusal journaled
    normal = client.post(V2, json={"routing_key": SAMPLE_KEY, "event_action": "trigger",
                                   "payload": {"summary": "after the garbage", "source": "s", "severity": "info"}})
    assert normal.status_code == 202


def test_a_burst_of_200_concurrent_8_kb_events_all_get_202(sandbox_server, client):
    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=sandbox_server.url, timeout=60, limits=limits) as burst_client:
            return await asyncio.gather(*(
                burst_client.post(V2, content=_event(V2, f"burst-{n}", 8 * 1024),
                                  headers={"Content-Type": "application/json"}) for n in range(200)))

    answers = run_async(burst)
    assert [a.status_code for a in answers] == [202] * 200
    assert _journal(client, outcome="created")["total"] == 200
    normal = client.post(V2, json={"routing_key": SAMPLE_KEY, "event_action": "trigger",
                                   "payload": {"summary": "after the burst", "source": "s", "severity": "info"}})
    assert normal.status_code == 202
    assert "events writer process stopped" not in sandbox_server.log()
