"""Strict mode: deviations from PagerDuty's OpenAPI that PagerDuty lets through become journaled warnings."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fake_pagerduty.app import create_app
from fake_pagerduty.domain.strict import OPERATIONS, StrictChecker, packaged_specs
from tests.conftest import SAMPLE_KEY

V1 = "/generic/2010-04-15/create_event.json"
V2 = "/v2/enqueue"
CHANGE = "/v2/change/enqueue"
SHARED_SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "pagerduty-openapi"


@pytest.fixture(scope="module")
def checker() -> StrictChecker:
    return StrictChecker.packaged()


def trigger(**changes) -> dict:
    event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "srv01/disk",
             "payload": {"summary": "DISK at 99%", "source": "srv01", "severity": "critical"}}
    event.update(changes)
    return event


def _examples() -> list[tuple[str, dict]]:
    specs = packaged_specs()
    found = []
    for api, (name, path) in OPERATIONS.items():
        content = specs[name]["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        found += [(api, example["value"]) for example in content["examples"].values()]
    return found


@pytest.mark.parametrize(("api", "example"), _examples(), ids=lambda value: value if isinstance(value, str) else "")
def test_pagerdutys_own_examples_raise_no_warning(checker, api, example):
    assert checker.warnings(api, "application/json", example) == []


def test_the_four_openapi_examples_are_all_checked():
    assert sorted(api for api, _ in _examples()) == ["change", "change", "v1", "v2"]


def test_unknown_fields_are_named_wherever_they_are(checker):
    event = trigger(severity="critical", links=[{"href": "https://example.com", "txt": "typo"}])
    event["payload"]["colour"] = "red"
    assert checker.body_warnings("v2", event) == [
        "unknown field 'severity' (not in PagerDuty's Events API v2 schema)",
        "unknown field 'links[0].txt' (not in PagerDuty's Events API v2 schema)",
        "unknown field 'payload.colour' (not in PagerDuty's Events API v2 schema)",
    ]


def test_wrong_types_in_optional_fields(checker):
    event = trigger(dedup_key=12)
    event["payload"].update(summary=42, custom_details="free text")
    assert checker.body_warnings("v2", event) == [
        "'dedup_key' should be string per PagerDuty's Events API v2 schema, got integer 12",
        "'payload.custom_details' should be object per PagerDuty's Events API v2 schema, got string \"free text\"",
        "'payload.summary' should be string per PagerDuty's Events API v2 schema, got integer 42",
    ]


def test_v1_contexts_are_checked_against_the_branch_their_type_names(checker):
    event = {"service_key": SAMPLE_KEY, "event_type": "trigger", "description": "down", "vendor": "Acme",
             "details": ["not", "an", "object"],
             "contexts": [{"type": "link", "href": "https://example.com", "src": "x.png"},
                          {"type": "image", "src": 7, "text": "shown in PagerDuty's own example"}]}
    assert checker.body_warnings("v1", event) == [
        "unknown field 'contexts[0].src' (not in PagerDuty's Events API v1 schema)",
        "'contexts[1].src' should be string per PagerDuty's Events API v1 schema, got integer 7",
        "'details' should be object per PagerDuty's Events API v1 schema, got array [\"not\", \"an\", \"object\"]",
    ]


def test_schema_requirements_the_sandbox_does_not_enforce(checker):
    """An acknowledge may carry a partial payload: PagerDuty takes it, its schema does not."""
    event = {"routing_key": SAMPLE_KEY, "event_action": "acknowledge", "dedup_key": "d", "payload": {"source": "x"}}
    assert checker.body_warnings("v2", event) == [
        "'payload.summary' is required by PagerDuty's Events API v2 schema",
        "'payload.severity' is required by PagerDuty's Events API v2 schema",
    ]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", []),
        ("Application/JSON; charset=utf-8", []),
        ("text/plain", ["Content-Type is 'text/plain'; PagerDuty's OpenAPI expects application/json"]),
        (None, ["no Content-Type header; PagerDuty's OpenAPI expects application/json"]),
    ],
)
def test_content_type(checker, content_type, expected):
    assert checker.content_type_warnings(content_type) == expected


def test_packaged_specs_are_pagerdutys_files():
    if not SHARED_SPECS.is_dir():
        pytest.skip("the shared copy of PagerDuty's OpenAPI files is not beside this checkout")
    for name, spec in packaged_specs().items():
        assert spec == json.loads((SHARED_SPECS / name).read_text())


# ---- through the app -------------------------------------------------------------------------------------


async def _post(settings, path: str, content: bytes, content_type: str | None):
    app = create_app(settings)
    headers = {"Content-Type": content_type} if content_type else {}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as c:
            response = await c.post(path, content=content, headers=headers)
    with sqlite3.connect(settings.db_path) as db:
        (warnings,) = db.execute("SELECT warnings FROM events ORDER BY id DESC LIMIT 1").fetchone()
    return response, json.loads(warnings)


async def test_strict_mode_answers_as_pagerduty_and_journals_warnings(sandbox_settings, caplog):
    body = json.dumps(trigger(colour="red")).encode()
    strict = dataclasses.replace(sandbox_settings, strict=True)
    response, warnings = await _post(strict, V2, body, "text/plain")
    assert response.status_code == 202
    assert response.content == b'{"status":"success","message":"Event processed","dedup_key":"srv01/disk"}'
    assert warnings == [
        "Content-Type is 'text/plain'; PagerDuty's OpenAPI expects application/json",
        "unknown field 'colour' (not in PagerDuty's Events API v2 schema)",
    ]
    assert "strict: POST /v2/enqueue (srv01/disk): unknown field 'colour'" in caplog.text


async def test_strict_mode_checks_change_events_and_rejected_events(sandbox_settings):
    strict = dataclasses.replace(sandbox_settings, strict=True)
    body = json.dumps({"routing_key": SAMPLE_KEY, "payload": {"summary": "s"}, "extra": 1}).encode()
    response, warnings = await _post(strict, CHANGE, body, None)
    assert response.status_code == 202
    assert warnings == ["no Content-Type header; PagerDuty's OpenAPI expects application/json",
                        "unknown field 'extra' (not in PagerDuty's Change Events API schema)"]

    rejected = trigger(extra=True)
    del rejected["payload"]["source"]
    response, warnings = await _post(strict, V2, json.dumps(rejected).encode(), "application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == ["'payload.source' is missing or blank"]
    assert warnings == ["unknown field 'extra' (not in PagerDuty's Events API v2 schema)",
                        "'payload.source' is required by PagerDuty's Events API v2 schema"]

    response, warnings = await _post(strict, V1, b"not json", "text/plain")
    assert response.status_code == 400
    assert warnings == ["Content-Type is 'text/plain'; PagerDuty's OpenAPI expects application/json"]


async def test_without_strict_nothing_is_checked(sandbox_settings):
    body = json.dumps(trigger(colour="red")).encode()
    response, warnings = await _post(sandbox_settings, V2, body, "text/plain")
    assert response.status_code == 202
    assert warnings == []


def test_without_strict_jsonschema_is_never_loaded():
    code = (
        "import sys; from fake_pagerduty.app import create_app; from fake_pagerduty.settings import Settings;"
        "app = create_app(Settings()); print(app.state.strict, 'jsonschema' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["None", "False"]
