"""Sandbox controls: fault injection (/_sandbox/faults) in front of the Events API."""

from __future__ import annotations

import random

import httpx
import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.domain.clock import parse_iso
from fake_pagerduty.settings import Settings
from fake_pagerduty.web.sandbox_gate import ConnectionCut
from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.sandbox_helpers import trigger

OTHER_KEY = "0123456789abcdef0123456789abcdef"
V2_THROTTLE = (b'{"status":"throttle exceeded","message":"Requests for this service are arriving too quickly.'
               b'  Please retry later."}')
V1_THROTTLE = (b'{"status":"throttle exceeded","message":"Requests for this service are arriving too quickly.'
               b' Please retry later."}')


async def _add(sandbox, rule: dict) -> dict:
    response = await sandbox.post("/_sandbox/faults", json=rule)
    assert response.status_code == 201, response.text
    return response.json()["fault"]


async def _v1(sandbox, key: str = "disk-full") -> httpx.Response:
    return await sandbox.post("/generic/2010-04-15/create_event.json", json={
        "service_key": SAMPLE_KEY, "event_type": "trigger", "incident_key": key, "description": "Disk full"})


async def _journal(sandbox, **params) -> list[dict]:
    return (await sandbox.get("/_sandbox/events", params=params)).json()["events"]


async def test_adding_a_rule_answers_201_with_the_rule(sandbox):
    response = await sandbox.post("/_sandbox/faults", json={"match": {"endpoint": "v2"}, "status": 429,
                                                            "count": 3, "label": "throttle v2"})

    assert response.status_code == 201
    fault = response.json()["fault"]
    assert fault == {
        "id": fault["id"], "label": "throttle v2",
        "match": {"endpoint": "v2", "routing_key": None, "path": None},
        "status": 429, "body": None, "latency_ms": 0, "disconnect": False, "probability": 1.0, "count": 3,
        "seed": 0, "fired": 0, "remaining": 3, "created_at": fault["created_at"],
    }
    assert fault["id"].startswith("F") and len(fault["id"]) == 7
    assert (await sandbox.get("/_sandbox/faults")).json() == {"faults": [fault]}
    assert (await sandbox.get(f"/_sandbox/faults/{fault['id']}")).json() == {"fault": fault}


async def test_v2_throttle_is_pagerdutys_429_byte_for_byte_and_journaled(sandbox):
    fault = await _add(sandbox, {"match": {"endpoint": "v2"}, "status": 429})

    response = await trigger(sandbox)

    assert response.status_code == 429
    assert response.content == V2_THROTTLE
    assert response.headers["content-type"] == "application/json"
    [event] = await _journal(sandbox)
    assert (event["outcome"], event["detail"], event["fault_id"]) == ("fault", f"fault {fault['id']}: answered 429",
                                                                     fault["id"])
    assert event["response"] == {"status": 429, "body_format": "json", "body": {
        "status": "throttle exceeded",
        "message": "Requests for this service are arriving too quickly.  Please retry later."}}
    assert (event["routing_key"], event["dedup_key"]) == (SAMPLE_KEY, "disk-full")
    assert (await sandbox.get("/_sandbox/state")).json()["incidents"] == []


async def test_v1_throttle_is_pagerdutys_403_byte_for_byte(sandbox):
    await _add(sandbox, {"match": {"endpoint": "v1"}, "status": 403})

    response = await _v1(sandbox)

    assert (response.status_code, response.content) == (403, V1_THROTTLE)
    assert (await trigger(sandbox)).status_code == 202  # the v1 rule leaves v2 alone


@pytest.mark.parametrize("status,body,media_type", [
    (500, b'{"status":"internal error","message":"An internal error occurred. Please retry later."}',
     "application/json"),
    (502, b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
          b"</center>\r\n</body>\r\n</html>\r\n", "text/html; charset=utf-8"),
    (503, b'{"status":"service unavailable","message":"The service is temporarily unavailable. Please retry later."}',
     "application/json"),
    (418, b'{"status":"i\'m a teapot","message":"I\'m a Teapot"}', "application/json"),
])
async def test_server_error_bodies(sandbox, status, body, media_type):
    await _add(sandbox, {"status": status})

    response = await trigger(sandbox)

    assert (response.status_code, response.content, response.headers["content-type"]) == (status, body, media_type)


async def test_a_rule_can_give_its_own_body(sandbox):
    await _add(sandbox, {"status": 500, "body": {"oops": True}})
    response = await trigger(sandbox)
    assert (response.status_code, response.content) == (500, b'{"oops":true}')


async def test_faults_apply_before_validation(sandbox):
    await _add(sandbox, {"status": 503})

    response = await sandbox.post("/v2/enqueue", content=b"not json at all")

    assert response.status_code == 503
    [event] = await _journal(sandbox)
    assert (event["outcome"], event["body"]) == ("fault", "not json at all")


async def test_count_fires_n_times_then_stops(sandbox):
    fault = await _add(sandbox, {"status": 500, "count": 2})

    statuses = [(await trigger(sandbox, f"k{i}")).status_code for i in range(3)]

    assert statuses == [500, 500, 202]
    shown = (await sandbox.get(f"/_sandbox/faults/{fault['id']}")).json()["fault"]
    assert (shown["fired"], shown["remaining"]) == (2, 0)
    assert [e["outcome"] for e in await _journal(sandbox, order="asc")] == ["fault", "fault", "created"]


async def test_probability_follows_the_rules_seeded_random_stream(sandbox):
    await _add(sandbox, {"status": 500, "probability": 0.5, "seed": 7})
    dice = random.Random(7)
    expected = [500 if dice.random() < 0.5 else 202 for _ in range(12)]

    statuses = [(await trigger(sandbox, f"k{i}")).status_code for i in range(12)]

    assert statuses == expected
    assert 500 in statuses and 202 in statuses


async def test_probability_zero_never_fires(sandbox):
    await _add(sandbox, {"status": 500, "probability": 0})
    assert [(await trigger(sandbox, f"k{i}")).status_code for i in range(5)] == [202] * 5


async def test_a_rule_that_loses_its_roll_lets_the_next_one_match(sandbox):
    await _add(sandbox, {"status": 500, "probability": 0})
    await _add(sandbox, {"status": 503})
    assert (await trigger(sandbox)).status_code == 503


async def test_the_first_matching_rule_wins(sandbox):
    await _add(sandbox, {"match": {"routing_key": OTHER_KEY}, "status": 500})
    await _add(sandbox, {"match": {"endpoint": "any"}, "status": 503})
    await _add(sandbox, {"status": 502})

    assert (await trigger(sandbox, routing_key=OTHER_KEY)).status_code == 500
    assert (await trigger(sandbox)).status_code == 503


async def test_an_exhausted_rule_lets_the_next_one_match(sandbox):
    await _add(sandbox, {"status": 500, "count": 1})
    await _add(sandbox, {"status": 503})

    assert [(await trigger(sandbox, f"k{i}")).status_code for i in range(2)] == [500, 503]


async def test_match_on_path_glob(sandbox):
    await _add(sandbox, {"match": {"path": "/v2/change/*"}, "status": 500})

    change = await sandbox.post("/v2/change/enqueue", json={"routing_key": SAMPLE_KEY,
                                                            "payload": {"summary": "Deployed"}})

    assert change.status_code == 500
    assert (await trigger(sandbox)).status_code == 202


async def test_latency_delays_then_handles_the_event_and_says_so(sandbox):
    fault = await _add(sandbox, {"latency_ms": 1})

    response = await trigger(sandbox)

    assert response.status_code == 202
    [event] = await _journal(sandbox)
    assert (event["outcome"], event["fault_id"]) == ("created", fault["id"])
    assert event["warnings"] == [f"fault {fault['id']}: delayed 1 ms"]
    assert (await sandbox.get(f"/_sandbox/faults/{fault['id']}")).json()["fault"]["fired"] == 1


async def test_cutting_the_connection_in_process_raises_and_is_journaled(sandbox):
    fault = await _add(sandbox, {"disconnect": True})

    with pytest.raises(ConnectionCut):
        await trigger(sandbox)

    [event] = await _journal(sandbox)
    assert (event["outcome"], event["detail"], event["response"]["status"]) == (
        "fault", f"fault {fault['id']}: cut the connection", 0)


async def test_put_replaces_the_list_and_keeps_given_ids(sandbox):
    await _add(sandbox, {"status": 500})

    response = await sandbox.put("/_sandbox/faults", json={"faults": [
        {"id": "slow", "latency_ms": 5}, {"id": "boom", "status": 502, "count": 1}]})

    assert response.status_code == 200
    assert [(f["id"], f["status"], f["latency_ms"]) for f in response.json()["faults"]] == [
        ("slow", None, 5), ("boom", 502, 0)]
    assert [f["id"] for f in (await sandbox.get("/_sandbox/faults")).json()["faults"]] == ["slow", "boom"]


async def test_put_accepts_what_get_returns(sandbox):
    await _add(sandbox, {"id": "t", "match": {"endpoint": "v2"}, "status": 429, "count": 1})
    listed = (await sandbox.get("/_sandbox/faults")).json()

    response = await sandbox.put("/_sandbox/faults", json=listed)

    assert response.status_code == 200
    assert response.json()["faults"][0]["match"] == {"endpoint": "v2", "routing_key": None, "path": None}


async def test_delete_one_and_delete_all(sandbox):
    await _add(sandbox, {"id": "a", "status": 500})
    await _add(sandbox, {"id": "b", "status": 500})
    await _add(sandbox, {"id": "c", "status": 500})

    assert (await sandbox.delete("/_sandbox/faults/b")).json() == {"deleted": 1}
    assert [f["id"] for f in (await sandbox.get("/_sandbox/faults")).json()["faults"]] == ["a", "c"]
    missing = await sandbox.delete("/_sandbox/faults/b")
    assert (missing.status_code, missing.json()) == (404, {"error": {"message": "No fault rule with id 'b'",
                                                                     "code": 404}})
    assert (await sandbox.delete("/_sandbox/faults")).json() == {"deleted": 2}
    assert (await trigger(sandbox)).status_code == 202


async def test_a_duplicate_id_is_a_conflict(sandbox):
    await _add(sandbox, {"id": "a", "status": 500})
    response = await sandbox.post("/_sandbox/faults", json={"id": "a", "status": 503})
    assert (response.status_code, response.json()) == (409, {"error": {
        "message": "A fault rule with id 'a' already exists", "code": 409}})


async def test_invalid_rules_are_refused_with_every_problem(sandbox):
    response = await sandbox.post("/_sandbox/faults", json={
        "match": {"endpoint": "v3", "colour": "red"}, "status": 200, "probability": 2, "count": 0, "speed": 1})

    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid fault rule", "code": 400, "errors": [
        "unknown field(s): speed",
        "unknown field(s) in 'match': colour",
        "'match.endpoint' must be one of: any v1 v2 change",
        "'status' must be an HTTP error status between 400 and 599",
        "'probability' must be a number between 0 and 1",
        "'count' must be a whole number of at least 1, or null for no limit",
    ]}}


@pytest.mark.parametrize(("rule", "errors"), [
    ([500], ["a fault rule must be a JSON object"]),
    ({"status": 500, "speed": 1, "colour": "red"}, ["unknown field(s): colour, speed"]),
    ({"status": 500, "match": ["v2"]}, ["'match' must be an object like {\"endpoint\": \"v2\"}"]),
    ({"status": 500, "match": {"colour": 1, "size": 2}}, ["unknown field(s) in 'match': colour, size"]),
    ({"status": 500, "api": "v1", "endpoint": "v1"},
     ["give each of endpoint, routing_key and path once, in 'match' or at the top level"]),
    ({"status": 500, "routing_key": 7, "path": 8}, ["'match.routing_key' must be a string",
                                                      "'match.path' must be a string"]),
    ({"status": 500, "path": "v2/enqueue"}, ["'match.path' must start with '/'"]),
    ({"status": 500, "label": 5}, ["'label' must be a string"]),
    ({"status": True}, ["'status' must be an HTTP error status between 400 and 599"]),
    ({"status": "500", "seed": "x"}, ["'status' must be an HTTP error status between 400 and 599",
                                      "'seed' must be a whole number"]),
    ({"status": 399}, ["'status' must be an HTTP error status between 400 and 599"]),
    ({"status": 600}, ["'status' must be an HTTP error status between 400 and 599"]),
    ({"status": 500, "latency_ms": 120001}, ["'latency_ms' must be a whole number between 0 and 120000"]),
    ({"status": 500, "latency_ms": -1}, ["'latency_ms' must be a whole number between 0 and 120000"]),
    ({"status": 500, "latency_ms": "5"}, ["'latency_ms' must be a whole number between 0 and 120000"]),
    ({"disconnect": "yes"}, ["'disconnect' must be true or false",
                             "a rule needs at least one of 'status', 'latency_ms' or 'disconnect'"]),
    ({"latency_ms": 5, "body": "slow"}, ["'body' needs a 'status'"]),
])
async def test_each_problem_with_a_rule_is_named(sandbox, rule, errors):
    response = await sandbox.post("/_sandbox/faults", json=rule)
    assert (response.status_code, response.json()) == (400, {"error": {
        "message": "Invalid fault rule", "code": 400, "errors": errors}})
    assert (await sandbox.get("/_sandbox/faults")).json() == {"faults": []}


async def test_a_rule_is_shown_with_its_label_and_path_and_describes_itself_in_the_journal(sandbox):
    fault = await _add(sandbox, {"label": "slow and broken", "path": "/v2/enqueue/", "latency_ms": 1,
                                 "status": 503})
    assert (fault["label"], fault["match"]["path"]) == ("slow and broken", "/v2/enqueue/")
    assert (await trigger(sandbox)).status_code == 503  # "/v2/enqueue/" matches "/v2/enqueue": slashes aside
    [entry] = await _journal(sandbox)
    assert entry["detail"] == f"fault {fault['id']}: delayed 1 ms, answered 503"


async def test_rules_at_the_bounds_are_taken_and_nulls_mean_the_defaults(sandbox):
    low = await _add(sandbox, {"status": 400, "latency_ms": None, "probability": None, "label": None})
    high = await _add(sandbox, {"status": 599, "latency_ms": 120000, "probability": 0.25})
    assert (low["status"], low["latency_ms"], low["probability"], low["label"]) == (400, 0, 1.0, "")
    assert parse_iso(low["created_at"]) is not None  # stamped by the sandbox clock
    assert (high["status"], high["latency_ms"], high["probability"]) == (599, 120000, 0.25)


async def test_a_list_put_in_place_rolls_each_rules_seeded_dice(sandbox):
    response = await sandbox.put("/_sandbox/faults", json={"faults": [{"status": 500, "probability": 0.5,
                                                                        "seed": 7}]})
    assert response.status_code == 200, response.text
    dice = random.Random(7)
    expected = [500 if dice.random() < 0.5 else 202 for _ in range(12)]
    assert [(await trigger(sandbox, f"k{i}")).status_code for i in range(12)] == expected


async def test_a_rule_on_the_root_path_matches_only_the_root(sandbox):
    await _add(sandbox, {"path": "/", "status": 500})
    assert (await trigger(sandbox)).status_code == 202


async def test_a_path_rule_matches_the_path_with_a_trailing_slash(sandbox):
    await _add(sandbox, {"path": "/v2/enqueue", "status": 500})
    response = await sandbox.post("/v2/enqueue/", json={"routing_key": SAMPLE_KEY, "event_action": "trigger",
                                                        "payload": {"summary": "s", "source": "h",
                                                                    "severity": "info"}})
    assert response.status_code == 500


def test_a_stored_rule_that_no_longer_parses_is_named():
    from fake_pagerduty.domain.faults import FaultRule

    with pytest.raises(ValueError) as refused:
        FaultRule.restore("old", {"status": 200, "disconnect": "yes"}, fired=0, created_at="t")
    assert str(refused.value) == ("stored fault rule old is invalid: 'status' must be an HTTP error status between"
                                  " 400 and 599; 'disconnect' must be true or false")


async def test_each_rule_rolls_its_own_dice(sandbox):
    """Two rules of one seed: the second's stream is not moved by the first's firing."""
    await _add(sandbox, {"id": "sure", "status": 500, "probability": 1, "count": 3, "seed": 7})
    await _add(sandbox, {"id": "half", "status": 503, "probability": 0.5, "seed": 7})
    dice = random.Random(7)
    expected = [500, 500, 500] + [503 if dice.random() < 0.5 else 202 for _ in range(9)]
    assert [(await trigger(sandbox, f"k{i}")).status_code for i in range(12)] == expected


async def test_a_deleted_rule_is_gone_and_a_new_one_of_its_id_rolls_fresh_dice(sandbox):
    await _add(sandbox, {"id": "dice", "status": 500, "probability": 0.5, "seed": 3})
    first = [(await trigger(sandbox, f"a{i}")).status_code for i in range(6)]
    assert (await sandbox.delete("/_sandbox/faults/dice")).json() == {"deleted": 1}
    await _add(sandbox, {"id": "dice", "status": 500, "probability": 0.5, "seed": 3})
    assert [(await trigger(sandbox, f"b{i}")).status_code for i in range(6)] == first


async def test_a_rule_must_do_something(sandbox):
    response = await sandbox.post("/_sandbox/faults", json={"match": {"endpoint": "v2"}})
    assert response.json()["error"]["errors"] == ["a rule needs at least one of 'status', 'latency_ms' or 'disconnect'"]
    response = await sandbox.put("/_sandbox/faults", json={"faults": [{"status": 500, "disconnect": True}]})
    assert response.json()["error"]["errors"] == [
        "faults[0]: a rule either answers with 'status' or cuts the connection ('disconnect'), not both"]


async def test_a_body_that_is_not_json_is_refused(sandbox):
    response = await sandbox.post("/_sandbox/faults", content=b"{status: 500}")
    assert (response.status_code, response.json()) == (400, {"error": {
        "message": "Invalid Input Provided", "code": 400, "errors": ["the body is not valid JSON"]}})


async def test_rules_and_their_counts_survive_a_restart(tmp_path):
    settings = Settings(db_path=str(tmp_path / "sandbox.db"))

    async def run(steps):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
                return await steps(client)

    async def first(client):
        fault = await _add(client, {"id": "twice", "status": 500, "count": 2})
        return (await trigger(client)).status_code, fault["created_at"]

    async def second(client):
        statuses = [(await trigger(client, f"k{i}")).status_code for i in range(2)]
        fault = (await client.get("/_sandbox/faults/twice")).json()["fault"]
        return statuses, fault["fired"], fault["created_at"]

    status, created_at = await run(first)
    assert status == 500
    assert await run(second) == ([500, 202], 2, created_at)


async def test_match_fields_may_be_given_at_the_top_level(sandbox):
    fault = await _add(sandbox, {"api": "v1", "routing_key": SAMPLE_KEY, "status": 403, "count": 2})

    assert fault["match"] == {"endpoint": "v1", "routing_key": SAMPLE_KEY, "path": None}
    assert (await _v1(sandbox)).status_code == 403
    assert (await trigger(sandbox)).status_code == 202
    both = await sandbox.post("/_sandbox/faults", json={"endpoint": "v1", "match": {"endpoint": "v2"},
                                                        "status": 500})
    assert both.json()["error"]["errors"] == [
        "give each of endpoint, routing_key and path once, in 'match' or at the top level"]
