"""Every REST answer the tests receive, checked against PagerDuty's REST spec (rest.json): the schema of its
method, path and status, OpenAPI 3.0 as written (`nullable` honoured: null is allowed only where the spec says).

`validate_rest_response` checks one answer; `validating_asgi_transport` runs it on every answer any in-process
httpx client (`httpx.ASGITransport`) receives from a sandbox `/api` route — tests/conftest.py installs it for the
whole fast tier, so every REST call is validated without a test asking, whichever client made it. Where the spec itself is wrong, the fix is
one entry in `tests/rest_spec_holes.py` with its reason — never a looser validator."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import urllib.parse
from collections.abc import Iterator
from functools import cache

import httpx
import jsonschema
import jsonschema_rs
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import Route

from tests.openapi import spec
from tests.rest_spec_holes import HOLES, MISSING_STATUSES

API = "/api"


def _as_2020(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema 2020-12 says it; everything else as it is."""
    if isinstance(node, list):
        return [_as_2020(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _as_2020(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str) and "$ref" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _at(doc, where: tuple[str, ...]):
    for key in where:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


@cache
def _spec() -> dict:
    """rest.json with the named spec holes mended, then in JSON Schema 2020-12."""
    doc = copy.deepcopy(spec("rest.json"))
    for hole in HOLES:
        hole.mend(_at(doc, hole.where))
    return _as_2020(doc)


@cache
def _registry() -> Registry:
    return Registry().with_resource("urn:rest", Resource.from_contents(_spec(), default_specification=DRAFT202012))


@cache
def _validator(pointer: str) -> jsonschema.Validator:
    return jsonschema.Draft202012Validator({"$ref": f"urn:rest#{pointer}"}, registry=_registry())


@cache
def _compiled_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([("urn:rest", _spec())])


@cache
def _compiled(pointer: str) -> jsonschema_rs.Draft202012Validator:
    """The same schema compiled (jsonschema-rs): a yes/no about 50 times faster than `_validator`, which then
    names what is wrong. Formats are annotations here as there (`validate_formats=False`)."""
    fragment = urllib.parse.quote(pointer, safe="/~")  # a URI: `{id}` percent-encoded
    return jsonschema_rs.Draft202012Validator({"$ref": f"urn:rest#{fragment}"}, registry=_compiled_registry(),
                                              validate_formats=False)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@cache
def _templates() -> list[tuple[re.Pattern, str]]:
    from fake_pagerduty.routes import routes

    found = []
    for route in routes():
        if isinstance(route, Route) and route.path.startswith(API + "/"):
            found.append((route.path_regex, route.path.removeprefix(API)))
    return found


def template(url_path: str) -> str | None:
    """The spec path of a served `/api` URL (`/incidents/{id}`), or None."""
    for pattern, path in _templates():
        if pattern.match(url_path):
            return path
    return None


def _response_pointer(method: str, path: str, status: int) -> str | None:
    """JSON pointer to the schema of (method, path, status) in rest.json; None when it has no body."""
    responses = _spec()["paths"][path][method.lower()]["responses"]
    key = str(status)
    if key not in responses:
        if (method, path, status) not in MISSING_STATUSES and (None, None, status) not in MISSING_STATUSES:
            raise AssertionError(f"rest.json documents no {status} for {method} {path}; the sandbox answered it "
                                 "(a real PagerDuty answer the spec omits goes in MISSING_STATUSES with a reason)")
        return "/components/responses/Conflict/content/application~1json/schema" if status >= 400 else None
    response = responses[key]
    base = f"/paths/{_escape(path)}/{method.lower()}/responses/{key}"
    if "$ref" in response:
        base = response["$ref"].removeprefix("#")
        response = _at(_spec(), tuple(base.strip("/").split("/")))
    if "content" not in response:
        return None
    (media,) = [m for m in response["content"] if "json" in m][:1] or [None]
    return f"{base}/content/{_escape(media)}/schema" if media else None


def _closest(context: list) -> jsonschema.ValidationError:
    branches: dict = {}
    for error in context:
        branches.setdefault(error.schema_path[0] if error.schema_path else 0, []).append(error)
    def misfit(errors: list) -> tuple[int, int]:
        wrong_kind = any(e.validator == "enum" and list(e.relative_path)[-1:] == ["type"] for e in errors)
        return int(wrong_kind), len(errors)
    return min(branches.values(), key=misfit)[0]


def errors(method: str, path: str, status: int, body: bytes) -> list[str]:
    pointer = _response_pointer(method, path, status)
    if pointer is None:
        return [] if not body else [f"rest.json documents no body for {status}, got {body[:200]!r}"]
    instance = json.loads(body)
    if _compiled(pointer).is_valid(instance):  # most answers: the reference validator only explains refusals
        return []
    found = []
    for error in sorted(_validator(pointer).iter_errors(instance), key=str):
        if error.context:  # a oneOf/anyOf: the branch meant for this object (its `type` fits) says what is wrong
            error = _closest(error.context)
        found.append(f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}")
    return found


@contextlib.contextmanager
def validating_asgi_transport() -> Iterator[None]:
    """While inside: every `/api` answer an `httpx.ASGITransport` returns is validated before the client sees it."""
    original = httpx.ASGITransport.handle_async_request

    async def handle(self: httpx.ASGITransport, request: httpx.Request) -> httpx.Response:
        response = await original(self, request)
        if request.url.path.startswith(API + "/"):
            response.request = request
            await validate_rest_response(response)
        return response

    httpx.ASGITransport.handle_async_request = handle  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.ASGITransport.handle_async_request = original  # type: ignore[method-assign]


async def validate_rest_response(response: httpx.Response) -> None:
    """httpx response hook: a REST answer that does not match rest.json fails the test that received it."""
    request = response.request
    path = template(request.url.path)
    if path is None or response.status_code in (405, 421):
        return
    await response.aread()
    found = errors(request.method, path, response.status_code, response.content)
    assert not found, (f"{request.method} {request.url} → {response.status_code} does not match rest.json:\n"
                       + "\n".join(found[:20]))
