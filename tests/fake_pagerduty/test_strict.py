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


@pytest.fixture  # built per test (a few ms): mutation testing then ties the schema building to every test using it
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
        ("application/json; charset=utf-8; boundary=x", []),
        ("text/plain", ["Content-Type is 'text/plain'; PagerDuty's OpenAPI expects application/json"]),
        (None, ["no Content-Type header; PagerDuty's OpenAPI expects application/json"]),
    ],
)
def test_content_type(checker, content_type, expected):
    assert checker.content_type_warnings(content_type) == expected


def test_enum_values_are_listed_and_long_values_cut_at_80_characters(checker):
    event = trigger(event_action="poke", dedup_key=list(range(40)))
    event["payload"]["severity"] = "bad"
    assert checker.body_warnings("v2", event) == [
        "'dedup_key' should be string per PagerDuty's Events API v2 schema, got array "
        "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 2",
        "'event_action' should be one of: trigger acknowledge resolve (PagerDuty's Events API v2 schema),"
        " got \"poke\"",
        "'payload.severity' should be one of: critical warning error info (PagerDuty's Events API v2 schema),"
        " got \"bad\"",
    ]
    assert checker.body_warnings("change", {}) == [
        "'payload' is required by PagerDuty's Change Events API schema",
        "'routing_key' is required by PagerDuty's Change Events API schema",
    ]
    assert checker.body_warnings("v2", []) == ["'' should be object per PagerDuty's Events API v2 schema, got array []"]


# ---- the schema rules on a made-up spec: what PagerDuty's files do not happen to exercise -------------------

SCHEMA = {
    "type": "object",
    "minProperties": 1,
    "properties": {
        "kind": {"$ref": "#/components/schemas/a~1b~0c"},  # the component named "a/b~c" (RFC 6901 escapes)
        "tags": {"type": "object", "properties": {"x": {"type": "string"}}, "patternProperties": {"^t_": {}}},
        "extra": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
        "empty": {"type": "object", "additionalProperties": False},
        "thing": {"discriminator": {"propertyName": "shape"}, "allOf": [{"required": ["shape"]}], "oneOf": [
            {"type": "object", "properties": {"shape": {"enum": ["circle"]}, "r": {"type": "number"}}},
            {"type": "object", "properties": {"shape": {"enum": ["square"]}, "side": {"type": "number"}}}]},
        "loose": {"discriminator": {"propertyName": "shape"}, "oneOf": [
            {"type": "object", "properties": {"shape": {"enum": ["a", "b"]}}},
            {"type": "object", "properties": {"shape": {"enum": ["c"]}}}]},
        "level": {"type": "string", "const": "high"},
        "note": {"type": ["string", "null"]},
        "choice": {"oneOf": [{"type": "string"}, {"type": "integer"}]},  # a oneOf without a discriminator
        "bare": {"discriminator": {"propertyName": "k"}, "oneOf": [{"type": "object"}, {"type": "string"}]},
        "other": {"discriminator": {"propertyName": "k"}, "oneOf": [
            {"type": "object", "properties": {"x": {"type": "string"}}}, {"type": "string"}]},
        "outer": {"$ref": "#/components/schemas/outer"},  # a $ref inside a $ref
    },
}


COMPONENTS = {"a/b~c": {"enum": ["x", "y"]},
              "outer": {"type": "object", "properties": {"inner": {"$ref": "#/components/schemas/a~1b~0c"}}}}


def made_up_specs(schema: dict, components: dict | None = None) -> dict[str, dict]:
    """The v2 and change operations get `schema`; v1 a small spec with the ImageContext the extras extend."""
    def spec(paths: tuple[str, ...], root: dict, schemas: dict) -> dict:
        content = {"application/json": {"schema": root}}
        return {"paths": {path: {"post": {"requestBody": {"content": content}}} for path in paths},
                "components": {"schemas": schemas}}

    v1_root = {"type": "object", "properties": {
        "contexts": {"type": "array", "items": {"$ref": "#/components/schemas/ImageContext"}}}}
    return {"events-v1.json": spec(("/create_event.json",), v1_root, {"ImageContext": {"type": "object"}}),
            "events-v2.json": spec(("/enqueue", "/change/enqueue"), schema, components or {})}


@pytest.fixture
def made_up() -> StrictChecker:
    return StrictChecker(made_up_specs(SCHEMA, COMPONENTS))


@pytest.mark.parametrize(("doc", "expected"), [
    ({"kind": "z"}, ["'kind' should be one of: x y (PagerDuty's Events API v2 schema), got \"z\""]),
    ({"tags": {"t_a": 1, "zz": 2}}, []),  # patternProperties: the object stays open
    ({"extra": {"n": 5}}, []),  # its own additionalProperties are kept
    ({"extra": {"n": "s"}}, ["'extra.n' should be integer per PagerDuty's Events API v2 schema, got string \"s\""]),
    ({"empty": {"a": 1}}, ["unknown field 'empty.a' (not in PagerDuty's Events API v2 schema)"]),
    ({"thing": {"shape": "square", "r": 1}}, ["unknown field 'thing.r' (not in PagerDuty's Events API v2 schema)"]),
    ({"thing": {"shape": "circle", "r": 1}}, []),
    ({"thing": {}}, ["'thing.shape' is required by PagerDuty's Events API v2 schema"]),  # the allOf it had stays
    ({"thing": {"r": 1}}, ["'thing.shape' is required by PagerDuty's Events API v2 schema"]),  # no branch chosen
    ({"choice": 1.5}, ["'choice' does not match PagerDuty's Events API v2 schema: 1.5 is not valid under any of"
                       " the given schemas"]),
    ({"bare": {}, "other": "s"}, []),  # branches without the discriminator's property: left a oneOf
    ({"outer": {"inner": "z"}}, ["'outer.inner' should be one of: x y (PagerDuty's Events API v2 schema),"
                                 " got \"z\""]),
    ({"kind": "z" * 100}, ["'kind' should be one of: x y (PagerDuty's Events API v2 schema), got \""
                           + "z" * 79]),
    ({"loose": {"shape": "z"}}, ["'loose' does not match PagerDuty's Events API v2 schema: {'shape': 'z'} is not"
                                 " valid under any of the given schemas"]),  # a branch of two values: left a oneOf
    ({"level": 5}, ["'level' should be one of: high (PagerDuty's Events API v2 schema), got 5",
                    "'level' should be string per PagerDuty's Events API v2 schema, got integer 5"]),
    ({"note": 5}, ["'note' should be string or null per PagerDuty's Events API v2 schema, got integer 5"]),
    ({"tags": None}, ["'tags' should be object per PagerDuty's Events API v2 schema, got null null"]),
    ({}, ["'(body)' does not match PagerDuty's Events API v2 schema: {} should be non-empty"]),
])
def test_schema_rules_on_a_made_up_spec(made_up, doc, expected):
    assert made_up.body_warnings("v2", doc) == expected


def test_documented_extras_are_added_where_the_spec_lists_no_properties_and_the_specs_are_left_alone():
    specs = made_up_specs(SCHEMA, COMPONENTS)
    before = json.dumps(specs, sort_keys=True)
    checker = StrictChecker(specs)
    assert checker.body_warnings("v1", {"contexts": [{"text": "shown", "src": "x.png"}]}) == [
        "unknown field 'contexts[0].src' (not in PagerDuty's Events API v1 schema)"]
    assert json.dumps(specs, sort_keys=True) == before


@pytest.mark.parametrize("loop", [
    {"$ref": "#/components/schemas/loop"},
    {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/loop"}}},
    {"oneOf": [{"$ref": "#/components/schemas/loop"}]},
])
def test_a_recursive_ref_is_refused_by_name(loop):
    schema = {"type": "object", "properties": {"start": {"$ref": "#/components/schemas/loop"}}}
    with pytest.raises(ValueError, match="^recursive \\$ref #/components/schemas/loop$"):
        StrictChecker(made_up_specs(schema, {"loop": loop}))


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
