"""Strict mode: check Events API requests against PagerDuty's OpenAPI and name what PagerDuty lets slide.

PagerDuty accepts events with unknown fields, numbers where strings belong, objects where it documents
lists, and bodies sent as `text/plain`. A partner's code that does so works today and may not tomorrow.
With `--strict` the sandbox still answers exactly as PagerDuty does, and journals one warning per
deviation from the request body schema in `fake_pagerduty/openapi/` (PagerDuty's own files, shipped in
the package), with `$ref`s resolved and every object closed to fields the schema does not name.

Pure rules: the specs come in as dicts (`packaged_specs()` reads the shipped ones).
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import jsonschema

JSON_MEDIA_TYPE = "application/json"

# Which OpenAPI operation describes each Events API surface.
OPERATIONS: dict[str, tuple[str, str]] = {
    "v1": ("events-v1.json", "/create_event.json"),
    "v2": ("events-v2.json", "/enqueue"),
    "change": ("events-v2.json", "/change/enqueue"),
}
SURFACE_NAMES = {"v1": "Events API v1", "v2": "Events API v2", "change": "Change Events API"}

# Fields PagerDuty documents outside these OpenAPI files, so they are never "unknown":
# - v1 `vendor`: sent by Connect partners (PagerDuty's Connect documentation; see pagerduty-contract.md §3);
# - v1 image context `text`: used by the request example in PagerDuty's own events-v1.json.
DOCUMENTED_EXTRAS: dict[str, list[tuple[tuple[str, ...], str, dict]]] = {
    "events-v1.json": [
        (("paths", "/create_event.json", "post", "requestBody", "content", JSON_MEDIA_TYPE, "schema"),
         "vendor", {"type": "string"}),
        (("components", "schemas", "ImageContext"), "text", {"type": "string"}),
    ],
}

_JSON_TYPES = (
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"),
)


def packaged_specs() -> dict[str, dict]:
    """PagerDuty's Events API OpenAPI files, as shipped in `fake_pagerduty/openapi/`."""
    folder = resources.files("fake_pagerduty") / "openapi"
    names = {name for name, _path in OPERATIONS.values()}
    return {name: json.loads((folder / name).read_text(encoding="utf-8")) for name in sorted(names)}


def request_schema(spec: dict, path: str) -> dict:
    return spec["paths"][path]["post"]["requestBody"]["content"][JSON_MEDIA_TYPE]["schema"]


def _resolve(node: Any, spec: dict, seen: tuple[str, ...] = ()) -> Any:
    """Inline every local `$ref` (PagerDuty's Events specs have no recursive ones)."""
    if isinstance(node, list):
        return [_resolve(item, spec, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in seen:
            raise ValueError(f"recursive $ref {ref}")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _resolve(target, spec, (*seen, ref))
    return {key: _resolve(value, spec, seen) for key, value in node.items()}


def _discriminated(one_of: list, prop: str) -> list | None:
    """`oneOf` + discriminator as if/then on the discriminator's value, so errors name the chosen branch."""
    branches = []
    for branch in one_of:
        values = branch.get("properties", {}).get(prop, {}).get("enum")
        if not values or len(values) != 1:
            return None
        branches.append({"if": {"properties": {prop: {"const": values[0]}}, "required": [prop]}, "then": branch})
    return branches


def _close(node: Any) -> Any:
    """Objects that list their properties accept no others; discriminated unions check their chosen branch."""
    if isinstance(node, list):
        return [_close(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _close(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node and "patternProperties" not in node:
        node["additionalProperties"] = False
    discriminator = node.get("discriminator")
    if isinstance(discriminator, dict) and isinstance(node.get("oneOf"), list):
        branches = _discriminated(node["oneOf"], discriminator.get("propertyName", ""))
        if branches is not None:
            node = {key: value for key, value in node.items() if key not in ("oneOf", "discriminator")}
            node["allOf"] = [*node.get("allOf", []), *branches]
    return node


def _with_documented_extras(name: str, spec: dict) -> dict:
    extras = DOCUMENTED_EXTRAS.get(name, [])
    if not extras:
        return spec
    spec = copy.deepcopy(spec)
    for location, field_name, schema in extras:
        node = spec
        for part in location:
            node = node[part]
        node.setdefault("properties", {}).setdefault(field_name, schema)
    return spec


def closed_schema(name: str, spec: dict, path: str) -> dict:
    """The request body schema for one operation, resolved and closed, ready for jsonschema."""
    spec = _with_documented_extras(name, spec)
    return _close(_resolve(request_schema(spec, path), spec))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    for python_type, name in _JSON_TYPES:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def field_path(parts: Any) -> str:
    """`payload.summary`, `links[0].href`: the way the sandbox's error messages name fields."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: jsonschema.ValidationError, surface: str) -> list[str]:
    where = field_path(error.absolute_path)
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        return [
            f"unknown field '{field_path([*error.absolute_path, extra])}' (not in PagerDuty's {surface} schema)"
            for extra in sorted(set(error.instance) - known)
        ]
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [f"'{where}' should be {expected} per PagerDuty's {surface} schema, got {json_type(error.instance)}"
                f" {json.dumps(error.instance)[:80]}"]
    if error.validator == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else error.message
        inside = f"{where}." if where else ""
        return [f"'{inside}{missing}' is required by PagerDuty's {surface} schema"]
    if error.validator in ("enum", "const"):
        allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
        return [f"'{where}' should be one of: {' '.join(map(str, allowed))} (PagerDuty's {surface} schema),"
                f" got {json.dumps(error.instance)[:80]}"]
    return [f"'{where or '(body)'}' does not match PagerDuty's {surface} schema: {error.message}"]


class StrictChecker:
    """Checks Events API requests against PagerDuty's OpenAPI; `warnings()` lists every deviation."""

    def __init__(self, specs: dict[str, dict]) -> None:
        self._validators = {}
        for api, (name, path) in OPERATIONS.items():
            schema = closed_schema(name, specs[name], path)
            validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            self._validators[api] = validator_class(schema)

    @classmethod
    def packaged(cls) -> StrictChecker:
        return cls(packaged_specs())

    @staticmethod
    def content_type_warnings(content_type: str | None) -> list[str]:
        if not content_type:
            return [f"no Content-Type header; PagerDuty's OpenAPI expects {JSON_MEDIA_TYPE}"]
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != JSON_MEDIA_TYPE:
            return [f"Content-Type is '{content_type}'; PagerDuty's OpenAPI expects {JSON_MEDIA_TYPE}"]
        return []

    def body_warnings(self, api: str, doc: Any) -> list[str]:
        surface = SURFACE_NAMES[api]
        errors = sorted(self._validators[api].iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)),
                                                                               str(e.validator)))
        warnings: list[str] = []
        for error in errors:
            for warning in _describe(error, surface):
                if warning not in warnings:
                    warnings.append(warning)
        return warnings

    def warnings(self, api: str, content_type: str | None, doc: Any) -> list[str]:
        return self.content_type_warnings(content_type) + self.body_warnings(api, doc)
