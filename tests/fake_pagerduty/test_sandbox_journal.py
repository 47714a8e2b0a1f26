"""Sandbox controls: the events journal (GET /_sandbox/events) and the long-poll waits."""

from __future__ import annotations

import asyncio

from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.sandbox_helpers import act, parked, trigger

OTHER_KEY = "0123456789abcdef0123456789abcdef"


async def _events(sandbox, **params) -> dict:
    response = await sandbox.get("/_sandbox/events", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_journal_entry_shows_the_request_the_answer_and_the_outcome(sandbox):
    await trigger(sandbox)

    page = await _events(sandbox)

    [event] = page["events"]
    incident_id = event["incident_id"]
    assert event == {
        "id": 1,
        "received_at": event["received_at"],
        "api": "v2",
        "method": "POST",
        "path": "/v2/enqueue",
        "content_type": "application/json",
        "routing_key": SAMPLE_KEY,
        "dedup_key": "disk-full",
        "action": "trigger",
        "body": {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "disk-full",
                 "payload": {"summary": "Disk full on web-1", "source": "web-1", "severity": "critical"}},
        "body_format": "json",
        "response": {"status": 202, "body_format": "json",
                     "body": {"status": "success", "message": "Event processed", "dedup_key": "disk-full"}},
        "outcome": "created",
        "detail": f"created incident {incident_id} (#1)",
        "account_id": "PACME00",
        "service_id": "PWEBS00",
        "incident_id": incident_id,
        "alert_id": event["alert_id"],
        "fault_id": None,
        "warnings": [],
    }
    assert incident_id.startswith("Q") and event["alert_id"].startswith("Q")
    assert (page["limit"], page["offset"], page["more"], page["total"], page["last_event_id"]) == (100, 0, False, 1, 1)


async def test_outcomes_and_details_for_each_kind_of_request(sandbox):
    await trigger(sandbox)
    await trigger(sandbox)
    await act(sandbox, "acknowledge")
    await act(sandbox, "resolve")
    await act(sandbox, "resolve", "never-seen")
    await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY})

    events = (await _events(sandbox, order="asc"))["events"]

    incident = events[0]["incident_id"]
    assert [(e["outcome"], e["detail"]) for e in events] == [
        ("created", f"created incident {incident} (#1)"),
        ("deduplicated", f"deduplicated into incident {incident}"),
        ("acknowledged", f"acknowledged incident {incident}"),
        ("resolved", f"resolved incident {incident}"),
        ("dropped", "no open alert with dedup key 'never-seen' on this integration"),
        ("rejected", "'event_action' is missing or blank"),
    ]


async def test_bodies_that_are_not_json_are_shown_as_text_or_base64(sandbox):
    await sandbox.post("/v2/enqueue", content=b"routing_key=abc")
    await sandbox.post("/generic/2010-04-15/create_event.json", content=b"\xff\xfe")

    second, first = (await _events(sandbox))["events"]

    assert (first["body"], first["body_format"], first["api"]) == ("routing_key=abc", "text", "v2")
    assert (second["body"], second["body_format"], second["api"]) == ("//4=", "base64", "v1")
    assert second["response"]["status"] == 400


async def test_filters(sandbox):
    await trigger(sandbox, "a")  # 1
    await trigger(sandbox, "b")  # 2
    await trigger(sandbox, "a", routing_key=OTHER_KEY)  # 3: dropped, unknown key
    await act(sandbox, "resolve", "a")  # 4
    await sandbox.post("/generic/2010-04-15/create_event.json", json={  # 5
        "service_key": SAMPLE_KEY, "event_type": "trigger", "incident_key": "c", "description": "v1 event"})

    async def ids(**params) -> list[int]:
        return [e["id"] for e in (await _events(sandbox, **params))["events"]]

    assert await ids() == [5, 4, 3, 2, 1]
    assert await ids(routing_key=OTHER_KEY) == [3]
    assert await ids(dedup_key="a") == [4, 3, 1]
    assert await ids(outcome="created") == [5, 2, 1]
    assert await ids(outcome="dropped,resolved") == [4, 3]
    assert await ids(api="v1") == [5]
    assert await ids(since="4") == [5, 4]
    assert await ids(after_id="4") == [5]
    assert await ids(after_id="2", order="asc") == [3, 4, 5]
    assert await ids(since="2000-01-01T00:00:00Z") == [5, 4, 3, 2, 1]
    assert await ids(since="2999-01-01T00:00:00Z") == []
    incident = (await _events(sandbox, dedup_key="b"))["events"][0]["incident_id"]
    assert await ids(incident_id=incident) == [2]


async def test_pagination(sandbox):
    for key in "abcde":
        await trigger(sandbox, key)

    page = await _events(sandbox, limit=2, offset=2)

    assert [e["id"] for e in page["events"]] == [3, 2]
    assert (page["limit"], page["offset"], page["more"], page["total"]) == (2, 2, True, 5)
    last = await _events(sandbox, limit=2, offset=4)
    assert ([e["id"] for e in last["events"]], last["more"]) == ([1], False)


async def test_paging_parameters_at_their_bounds_and_left_empty(sandbox):
    empty = await _events(sandbox, limit="", offset="")
    assert (empty["events"], empty["limit"], empty["offset"], empty["more"], empty["total"],
            empty["last_event_id"]) == ([], 100, 0, False, 0, 0)
    await trigger(sandbox, "a")
    widest = await _events(sandbox, limit="1000", offset="0")
    assert ([e["id"] for e in widest["events"]], widest["limit"], widest["offset"]) == ([1], 1000, 0)
    farthest = await _events(sandbox, offset="1000000000")
    assert (farthest["events"], farthest["offset"], farthest["more"], farthest["total"]) == ([], 1000000000, False, 1)


async def test_bad_journal_parameters_get_a_400(sandbox):
    for params, error in [
        ({"limit": "0"}, "'limit' must be a whole number between 1 and 1000"),
        ({"limit": "x"}, "'limit' must be a whole number between 1 and 1000"),
        ({"since": "yesterday"}, "'since' must be a journal id or an ISO 8601 time"),
        ({"after_id": "-1"}, "'after_id' must be a journal id (a whole number)"),
        ({"order": "up"}, "'order' must be asc or desc"),
        ({"limit": "1001"}, "'limit' must be a whole number between 1 and 1000"),
        ({"limit": "2.5"}, "'limit' must be a whole number between 1 and 1000"),
        ({"offset": "-1"}, "'offset' must be a whole number between 0 and 1e+09"),
        ({"offset": "1000000001"}, "'offset' must be a whole number between 0 and 1e+09"),
        ({"offset": "1.5"}, "'offset' must be a whole number between 0 and 1e+09"),
    ]:
        response = await sandbox.get("/_sandbox/events", params=params)
        assert response.status_code == 400
        assert response.json() == {"error": {"message": "Invalid Input Provided", "code": 400, "errors": [error]}}


async def test_wait_returns_an_event_that_already_exists(sandbox):
    await trigger(sandbox, "a")

    response = await sandbox.get("/_sandbox/events/wait", params={"dedup_key": "a", "timeout": "0"})

    assert response.status_code == 200
    assert response.json()["event"]["outcome"] == "created"


async def test_wait_returns_when_a_matching_event_arrives(sandbox, sandbox_app):
    await trigger(sandbox, "before")
    waiting = asyncio.create_task(sandbox.get("/_sandbox/events/wait", params={
        "routing_key": SAMPLE_KEY, "outcome": "acknowledged", "after_id": "1", "timeout": "30"}))
    await parked(sandbox_app.state.journal_signal)

    await trigger(sandbox, "other")  # wakes the wait, which does not match and parks again
    await act(sandbox, "acknowledge", "before")

    response = await waiting
    assert response.status_code == 200
    event = response.json()["event"]
    assert (event["id"], event["dedup_key"], event["outcome"]) == (3, "before", "acknowledged")


async def test_wait_times_out_with_408(sandbox):
    response = await sandbox.get("/_sandbox/events/wait", params={"dedup_key": "never", "timeout": "0.01"})

    assert response.status_code == 408
    assert response.json() == {"error": {"message": "Timed out waiting for a matching event", "code": 408}}


async def test_wait_timeout_is_at_most_sixty_seconds(sandbox):
    response = await sandbox.get("/_sandbox/events/wait", params={"timeout": "61"})

    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid Input Provided", "code": 400,
                                         "errors": ["'timeout' must be a number between 0 and 60"]}}


async def test_incident_wait_returns_when_the_incident_reaches_the_status(sandbox, sandbox_app):
    await trigger(sandbox, "db-down")
    waiting = asyncio.create_task(sandbox.get("/_sandbox/incidents/wait", params={
        "incident_key": "db-down", "status": "acknowledged", "timeout": "30"}))
    await parked(sandbox_app.state.journal_signal)

    await act(sandbox, "acknowledge", "db-down")

    response = await waiting
    assert response.status_code == 200
    incident = response.json()["incident"]
    assert (incident["incident_key"], incident["status"], incident["incident_number"]) == ("db-down",
                                                                                          "acknowledged", 1)


async def test_incident_wait_times_out_with_408(sandbox):
    response = await sandbox.get("/_sandbox/incidents/wait", params={"status": "resolved", "timeout": "0"})

    assert response.status_code == 408
    assert response.json() == {"error": {"message": "Timed out waiting for a matching incident", "code": 408}}


async def test_incident_wait_rejects_an_unknown_status(sandbox):
    response = await sandbox.get("/_sandbox/incidents/wait", params={"status": "open"})

    assert response.status_code == 400
    assert response.json()["error"]["errors"] == ["'status' must be one of: triggered acknowledged resolved"]


async def test_an_exactly_full_last_page_has_no_more(sandbox):
    """Issue 19: `more` computed as len(found) == limit survived, as no test had a last page exactly full."""
    for key in "abcd":
        await trigger(sandbox, key)

    first, last = await _events(sandbox, limit=2), await _events(sandbox, limit=2, offset=2)
    everything = await _events(sandbox, limit=4)

    assert ([e["id"] for e in first["events"]], first["more"]) == ([4, 3], True)
    assert ([e["id"] for e in last["events"]], last["more"]) == ([2, 1], False)
    assert (len(everything["events"]), everything["more"]) == (4, False)
