"""tests/transport_client.py: a request through TransportClient reaches the app as httpx.AsyncClient's does, and
its answer reads the same, REST checks included."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request

from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.transport_client import TransportClient


def _echo_app():
    seen = []

    async def app(scope, receive, send):
        body = await Request(scope, receive).body()
        seen.append((scope["method"], scope["path"], scope["query_string"], sorted(scope["headers"]), body))
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json"),
                                                                               (b"x-seen", b"yes")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

    return app, seen


async def test_the_app_sees_the_same_request_and_the_test_the_same_answer():
    app, seen = _echo_app()
    direct = TransportClient(app, "http://sandbox.test")
    answers = [await direct.post("/v2/enqueue", params={"a": "1", "b": "é"}, json={"k": [1, "ü"]},
                                 headers={"X-Test": "t"})]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as client:
        answers.append(await client.post("/v2/enqueue", params={"a": "1", "b": "é"}, json={"k": [1, "ü"]},
                                         headers={"X-Test": "t"}))
    assert seen[0] == seen[1]
    assert [(a.status_code, a.json(), a.headers["x-seen"], str(a.url)) for a in answers] == [
        (201, {"ok": True}, "yes", "http://sandbox.test/v2/enqueue?a=1&b=%C3%A9")] * 2


async def test_rest_answers_are_still_checked_against_rest_json(sandbox_app):
    direct = TransportClient(sandbox_app, "http://sandbox.test")
    assert (await direct.post("/v2/enqueue", json={
        "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "d",
        "payload": {"summary": "s", "source": "x", "severity": "info"}})).status_code == 202
    listed = await direct.get("/api/incidents", params={"incident_key": "d", "total": "true"}, headers=REST_HEADERS)
    assert [i["incident_key"] for i in listed.json()["incidents"]] == ["d"]
    # the session's check runs on this client's answers: an answer rest.json refuses fails the test
    incident = listed.json()["incidents"][0]["id"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tests.rest_validation.errors", lambda *args: ["status: not in rest.json"])
        with pytest.raises(AssertionError, match="does not match rest.json"):
            await direct.get(f"/api/incidents/{incident}", headers=REST_HEADERS)
