"""PagerDuty's own OpenAPI files (../shared/pagerduty-openapi/) as JSON Schema validators for tests.

A checkout without ../shared/ beside it falls back to copies: the events specs the package ships for
`--strict` (fake_pagerduty/openapi/), and rest.json kept for the tests only (tests/specs/; 2.7 MB that the
package does not need at run time)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIRS = (ROOT.parent / "shared" / "pagerduty-openapi", ROOT / "fake_pagerduty" / "openapi", ROOT / "tests" / "specs")


@cache
def spec(name: str) -> dict:
    path = next((folder / name for folder in SPEC_DIRS if (folder / name).is_file()), None)
    if path is None:
        raise FileNotFoundError(f"{name} is in none of {', '.join(map(str, SPEC_DIRS))}")
    return json.loads(path.read_text())


def _validator(name: str, schema: dict) -> jsonschema.Validator:
    """A validator for one schema inside a spec, its `#/components/...` references resolved in that spec."""
    root = {**spec(name), "x-schema-under-test": schema}
    resource = Resource.from_contents(root, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:pagerduty-spec", resource)
    return jsonschema.Draft202012Validator(
        {"$ref": "urn:pagerduty-spec#/x-schema-under-test"}, registry=registry
    )


def request_validator(name: str, path: str) -> jsonschema.Validator:
    operation = spec(name)["paths"][path]["post"]
    return _validator(name, operation["requestBody"]["content"]["application/json"]["schema"])


def response_validator(name: str, path: str, status: int) -> jsonschema.Validator:
    """The response schema for a status; PagerDuty's files leave some 4xx as bare descriptions: those use Error."""
    responses = spec(name)["paths"][path]["post"]["responses"]
    response = responses.get(str(status), {})
    if "$ref" not in response and "content" not in response:
        response = {"$ref": "#/components/responses/Error"}
    if "$ref" in response:
        response = spec(name)["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return _validator(name, response["content"]["application/json"]["schema"])


def request_examples(name: str, path: str) -> list[dict]:
    operation = spec(name)["paths"][path]["post"]
    examples = operation["requestBody"]["content"]["application/json"].get("examples", {})
    return [example["value"] for example in examples.values()]


def component_validator(name: str, component: str) -> jsonschema.Validator:
    """A validator for one of the spec's `#/components/schemas/...` (e.g. rest.json's Incident)."""
    return _validator(name, {"$ref": f"#/components/schemas/{component}"})
