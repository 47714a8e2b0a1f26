"""What PagerDuty's REST spec (rest.json) documents for an endpoint's query: its parameters and include[] values.

`fake_pagerduty/domain/rest_params.py` is a table of the same, kept in the package (which must not need rest.json
at run time); tests/fake_pagerduty/test_rest_params.py checks the two agree for every served `/api` route."""

from __future__ import annotations

from tests.openapi import spec

INCLUDE = "include[]"


def _parameters(method: str, path: str) -> list[dict]:
    doc = spec("rest.json")
    item = doc["paths"][path]
    found = []
    for parameter in item.get(method.lower(), {}).get("parameters", []) + item.get("parameters", []):
        if "$ref" in parameter:
            parameter = doc["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        if parameter["in"] == "query":
            found.append(parameter)
    return found


def operation(method: str, path: str) -> dict | None:
    return spec("rest.json")["paths"].get(path, {}).get(method.lower())


def documented(method: str, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the query parameters but include[], the include[] values), each in the spec's order."""
    names: list[str] = []
    include: list[str] = []
    for parameter in _parameters(method, path):
        if parameter["name"] == INCLUDE:
            schema = parameter["schema"]
            include += schema.get("enum") or schema.get("items", {}).get("enum", [])
        elif parameter["name"] not in names:
            names.append(parameter["name"])
    return tuple(names), tuple(dict.fromkeys(include))


def enum(method: str, path: str, name: str) -> tuple[str, ...]:
    for parameter in _parameters(method, path):
        if parameter["name"] == name:
            schema = parameter["schema"]
            return tuple(schema.get("enum") or schema.get("items", {}).get("enum", []))
    return ()


def properties(component: str) -> set[str]:
    """Every property a `#/components/schemas/…` object documents, through its allOf parts and $refs."""
    doc = spec("rest.json")
    found: set[str] = set()

    def walk(schema: dict) -> None:
        if "$ref" in schema:
            target = doc
            for key in schema["$ref"].removeprefix("#/").split("/"):
                target = target[int(key)] if isinstance(target, list) else target[key]
            walk(target)
        for part in schema.get("allOf", []):
            walk(part)
        found.update(schema.get("properties", {}))

    walk(doc["components"]["schemas"][component])
    return found
