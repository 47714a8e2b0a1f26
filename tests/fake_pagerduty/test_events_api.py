"""The Events API, byte for byte (contract sections 3 and 4), and its journal."""

from __future__ import annotations

import re
import sqlite3

import pytest

from fake_pagerduty.domain import event_requests
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.openapi import request_examples, request_validator, response_validator

V1 = "/generic/2010-04-15/create_event.json"
V2 = "/v2/enqueue"
CHANGE = "/v2/change/enqueue"
UNKNOWN_KEY = "0123456789abcdef0123456789abcdef"


def trigger(key: str = SAMPLE_KEY, dedup_key: str | None = "srv01/HTTP", **payload) -> dict:
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "DISK at 99% on prod-datapipe03", "source": "prod-datapipe03",
                    "severity": "critical", **payload},
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def journal(settings) -> list[dict]:
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM events ORDER BY id")]


async def test_v2_trigger_answers_202_with_the_success_body(sandbox):
    response = await sandbox.post(V2, json=trigger())
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"status":"success","message":"Event processed","dedup_key":"srv01/HTTP"}'


async def test_v2_also_answers_with_a_trailing_slash(sandbox):
    response = await sandbox.post(V2 + "/", json=trigger())
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"}


async def test_v2_trigger_without_dedup_key_gets_a_generated_one(sandbox):
    response = await sandbox.post(V2, json=trigger(dedup_key=None))
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"status", "message", "dedup_key"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["dedup_key"])


async def test_v1_trigger_answers_200_with_the_success_body(sandbox):
    response = await sandbox.post(V1, json={"service_key": SAMPLE_KEY, "event_type": "trigger",
                                            "incident_key": "srv01/HTTP", "description": "FAILURE for production/HTTP"})
    assert response.status_code == 200
    assert response.content == b'{"status":"success","message":"Event processed","incident_key":"srv01/HTTP"}'


async def test_v1_trigger_without_incident_key_gets_a_generated_one(sandbox):
    response = await sandbox.post(V1, json={"service_key": SAMPLE_KEY, "event_type": "trigger",
                                            "description": "FAILURE for production/HTTP"})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.json()["incident_key"])


async def test_change_event_answers_202(sandbox):
    response = await sandbox.post(CHANGE, json={"routing_key": SAMPLE_KEY, "payload": {"summary": "Deployed v42"}})
    assert response.status_code == 202
    assert response.content == b'{"status":"success","message":"Event processed"}'


async def test_v2_reports_every_problem_not_only_the_first(sandbox):
    response = await sandbox.post(V2, json={"routing_key": "short", "event_action": "explode",
                                            "dedup_key": "x" * 256})
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [
            "Length of 'routing_key' is incorrect (should be 32 characters)",
            "'event_action' is invalid (must be one of: trigger acknowledge resolve)",
            "Length of 'dedup_key' is too long (maximum is 255 characters)",
        ],
    }


async def test_v2_missing_fields(sandbox):
    response = await sandbox.post(V2, json={})
    assert response.status_code == 400
    assert response.json()["errors"] == ["'routing_key' is missing or blank", "'event_action' is missing or blank"]


async def test_v2_trigger_payload_problems(sandbox):
    response = await sandbox.post(V2, json={"routing_key": SAMPLE_KEY, "event_action": "trigger",
                                            "payload": {"summary": "", "severity": "fatal"}})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is invalid (must be one of: critical error warning info)",
    ]


async def test_v2_trigger_without_payload(sandbox):
    response = await sandbox.post(V2, json={"routing_key": SAMPLE_KEY, "event_action": "trigger"})
    assert response.json()["errors"] == ["'payload' is missing or blank"]


async def test_v2_acknowledge_needs_a_dedup_key(sandbox):
    response = await sandbox.post(V2, json={"routing_key": SAMPLE_KEY, "event_action": "acknowledge"})
    assert response.status_code == 400
    assert response.json()["errors"] == ["'dedup_key' is missing or blank"]


async def test_v1_event_type_is_invalid_wording_from_the_contract(sandbox):
    response = await sandbox.post(V1, json={"service_key": SAMPLE_KEY, "event_type": "explode"})
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["event_type is invalid (must be one of: trigger acknowledge resolve)"],
    }


async def test_v1_trigger_needs_a_description_and_ack_needs_a_key(sandbox):
    response = await sandbox.post(V1, json={"service_key": SAMPLE_KEY, "event_type": "trigger"})
    assert response.json()["errors"] == ["Description is missing or blank"]
    response = await sandbox.post(V1, json={"service_key": "abc", "event_type": "resolve"})
    assert response.json()["errors"] == [
        "Service key is the wrong length (should be 32 characters)",
        "Incident key is missing or blank",
    ]


@pytest.mark.parametrize("path", [V1, V2, CHANGE])
@pytest.mark.parametrize(
    "body",
    [b"", b"{not json", b"\xff\xfe{}", b"[1, 2]", b'"text"', b'{"routing_key": NaN}', b'{"a": Infinity}',
     b"[" * 100_000 + b"]" * 100_000, b'{"routing_key": "\\ud800", "event_action": "trigger"}'],
    ids=["empty", "broken", "invalid-utf8", "array", "string", "nan", "infinity", "deep-nesting", "lone-surrogate"],
)
async def test_unparseable_bodies_get_the_unrecognized_object_body(sandbox, path, body):
    response = await sandbox.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.content == (
        b'{"status":"unrecognized object","message":"Event object format is unrecognized",'
        b'"errors":["JSON parse error"]}'
    )


async def test_an_escaped_surrogate_pair_is_text_and_echoed(sandbox):
    response = await sandbox.post(V2, content=b'{"routing_key": "' + SAMPLE_KEY.encode() + b'", "event_action":'
                                  b' "trigger", "dedup_key": "fire \\ud83d\\udd25", "payload": {"summary": "s",'
                                  b' "source": "h", "severity": "info"}}', headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (202, {"status": "success", "message": "Event processed",
                                                             "dedup_key": "fire \U0001f525"})


@pytest.mark.parametrize("path", [V1, V2, CHANGE])
async def test_bodies_over_512_kb_are_refused_in_the_same_format(sandbox, path):
    event = trigger(custom_details={"blob": "x" * (600 * 1024)})
    response = await sandbox.post(path, json=event)
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Event object is too large (maximum is 512 KB)"],
    }


@pytest.mark.parametrize("path", [V1, V2, CHANGE])
async def test_wrong_method_is_405(sandbox, path):
    response = await sandbox.get(path)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_unknown_well_formed_key_is_accepted_and_dropped(sandbox, sandbox_settings):
    response = await sandbox.post(V2, json=trigger(key=UNKNOWN_KEY))
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"}
    (entry,) = journal(sandbox_settings)
    assert (entry["outcome"], entry["outcome_detail"]) == ("dropped", "unknown integration key")
    with sqlite3.connect(sandbox_settings.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM incidents").fetchone() == (0,)


async def test_every_request_is_journaled_with_raw_body_response_and_outcome(sandbox, sandbox_settings):
    await sandbox.post(V2, json=trigger())
    await sandbox.post(V1, content=b"{oops", headers={"content-type": "text/plain"})
    await sandbox.post(CHANGE, json={"routing_key": SAMPLE_KEY, "payload": {"summary": "Deployed"}})
    created, rejected, change = journal(sandbox_settings)
    assert created["api"] == "v2" and created["path"] == V2 and created["routing_key"] == SAMPLE_KEY
    assert created["dedup_key"] == "srv01/HTTP" and created["action"] == "trigger"
    assert created["response_status"] == 202
    assert created["response_body"] == '{"status":"success","message":"Event processed","dedup_key":"srv01/HTTP"}'
    assert created["outcome"] == "created" and created["outcome_detail"].startswith("created incident Q")
    assert rejected["api"] == "v1" and rejected["raw_body"] == b"{oops"
    assert rejected["content_type"] == "text/plain"
    assert (rejected["response_status"], rejected["outcome"], rejected["outcome_detail"]) == (
        400, "rejected", "JSON parse error")
    assert change["api"] == "change" and change["outcome"] == "recorded"
    assert (change["action"], change["dedup_key"]) == ("change", None)


async def test_a_refusal_is_journaled_with_every_problem_and_its_keys_cut_to_255(sandbox, sandbox_settings):
    await sandbox.post(V2, json={"event_action": "poke", "dedup_key": "d" * 300})
    [entry] = journal(sandbox_settings)
    assert (entry["response_status"], entry["outcome"], entry["outcome_detail"]) == (
        400, "rejected", "'routing_key' is missing or blank; "
        "'event_action' is invalid (must be one of: trigger acknowledge resolve); "
        "Length of 'dedup_key' is too long (maximum is 255 characters)")
    assert (entry["action"], entry["dedup_key"]) == ("poke", "d" * 255)


async def test_vendor_client_contexts_and_details_are_stored(sandbox, sandbox_settings):
    event = {
        "service_key": SAMPLE_KEY, "event_type": "trigger", "incident_key": "alert-7",
        "description": "Server www15 running low on memory", "client": "Demo Monitor",
        "client_url": "http://127.0.0.1:8000/alerts/alert-7", "vendor": "demo-monitor",
        "details": {"server_name": "www15", "memory_usage": "98%", "threshold": "90%"},
        "contexts": [{"type": "link", "href": "http://example.test/runbook", "text": "Runbook"},
                     {"type": "image", "src": "https://example.test/chart.png"}],
    }
    assert (await sandbox.post(V1, json=event)).status_code == 200
    with sqlite3.connect(sandbox_settings.db_path) as db:  # the alert keeps the request that opened it, whole
        api, raw, key = db.execute("SELECT e.api, e.raw_body, a.alert_key FROM alerts a"
                                   " JOIN events e ON e.id = a.event_id AND e.alert_id = a.id").fetchone()
    assert (api, key) == ("v1", "alert-7")
    body = event_requests.alert_body(api, raw, key)
    assert body["client"] == "Demo Monitor" and body["client_url"] == "http://127.0.0.1:8000/alerts/alert-7"
    assert body["vendor"] == "demo-monitor"
    assert body["details"] == {"server_name": "www15", "memory_usage": "98%", "threshold": "90%"}
    assert "links" not in body and "images" not in body
    assert body["contexts"] == event["contexts"]


async def test_a_v2_trigger_is_kept_whole_in_the_alert_body_rest_shows(sandbox):
    event = trigger(dedup_key="full", component="db", group="prod", timestamp="2026-01-02T03:04:05Z",
                    custom_details={"free": "98%"}, **{"class": "disk"})
    event.update(client="Demo Monitor", client_url="http://monitor.test/a/1",
                 links=[{"href": "http://monitor.test/runbook", "text": "Runbook"}],
                 images=[{"src": "https://monitor.test/chart.png", "href": "https://monitor.test", "alt": "chart"}])
    assert (await sandbox.post(V2, json=event)).status_code == 202
    incidents = (await sandbox.get("/api/incidents", headers=REST_HEADERS)).json()["incidents"]
    alerts = await sandbox.get(f"/api/incidents/{incidents[0]['id']}/alerts", headers=REST_HEADERS)
    contexts = [{"type": "link", "href": "http://monitor.test/runbook", "text": "Runbook"},
                {"type": "image", "src": "https://monitor.test/chart.png", "href": "https://monitor.test",
                 "alt": "chart"}]
    summary, source = "DISK at 99% on prod-datapipe03", "prod-datapipe03"
    assert alerts.json()["alerts"][0]["body"] == {
        "type": "alert_body", "api": "v2", "contexts": contexts, "details": {"free": "98%"},
        "cef_details": {
            "client": "Demo Monitor", "client_url": "http://monitor.test/a/1", "contexts": contexts,
            "dedup_key": "full", "description": summary, "details": {"free": "98%"}, "event_class": "disk",
            "message": summary, "mutations": [], "priority": None, "reporter_component": "db",
            "reporter_location": None, "severity": "critical", "source_component": "db",
            "source_location": source, "source_origin": source, "service_group": "prod",
            "creation_time": "2026-01-02T03:04:05Z"},
        "payload": {"summary": summary, "severity": "critical", "source": source, "component": "db",
                    "group": "prod", "class": "disk", "timestamp": "2026-01-02T03:04:05Z",
                    "custom_details": {"free": "98%"}},
        "client": "Demo Monitor", "client_url": "http://monitor.test/a/1", "vendor": None,
    }


# ---- PagerDuty's own OpenAPI files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "path", "url", "status"),
    [("events-v2.json", "/enqueue", V2, 202), ("events-v2.json", "/change/enqueue", CHANGE, 202),
     ("events-v1.json", "/create_event.json", V1, 200)],
)
async def test_pagerdutys_own_examples_are_accepted_and_answers_match_the_spec(sandbox, spec, path, url, status):
    examples = request_examples(spec, path)
    assert examples
    for example in examples:
        assert not list(request_validator(spec, path).iter_errors(example))
        response = await sandbox.post(url, json=example)
        assert response.status_code == status, response.text
        response_validator(spec, path, status).validate(response.json())


@pytest.mark.parametrize(("spec", "path", "url"), [("events-v2.json", "/enqueue", V2),
                                                    ("events-v1.json", "/create_event.json", V1)])
async def test_error_answers_match_the_spec(sandbox, spec, path, url):
    for body in (b"{", b"{}"):
        response = await sandbox.post(url, content=body)
        assert response.status_code == 400
        response_validator(spec, path, 400).validate(response.json())


async def test_requests_the_spec_calls_invalid_are_refused(sandbox):
    validator = request_validator("events-v2.json", "/enqueue")
    bad = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "payload": {"summary": "s", "source": "h"}}
    assert list(validator.iter_errors(bad))
    assert (await sandbox.post(V2, json=bad)).status_code == 400


@pytest.mark.parametrize(("path", "body", "error"), [
    (V2, lambda text: trigger(summary=text),
     "Length of 'payload.summary' is too long (maximum is 1024 characters)"),
    (V1, lambda text: {"service_key": SAMPLE_KEY, "event_type": "trigger", "description": text},
     "Description is too long (maximum is 1024 characters)"),
    (CHANGE, lambda text: {"routing_key": SAMPLE_KEY, "payload": {"summary": text}},
     "Length of 'payload.summary' is too long (maximum is 1024 characters)"),
])
async def test_a_summary_of_1024_characters_is_accepted_and_1025_refused(sandbox, path, body, error):
    """Contract §3/§4: summary and description ≤ 1024. No test held the limit (issue 19): off by one either way,
    or gone, fails here. Multi-byte characters count as one."""
    ok = await sandbox.post(path, json=body("é" + "x" * 1023))
    too_long = await sandbox.post(path, json=body("x" * 1025))
    assert ok.status_code in (200, 202), ok.text
    assert (too_long.status_code, too_long.json()) == (400, {
        "status": "invalid event", "message": "Event object is invalid", "errors": [error]})
