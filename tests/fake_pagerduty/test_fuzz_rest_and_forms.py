"""Bad input on the REST API (schemathesis over the operations the sandbox serves from PagerDuty's rest.json),
the handshakes' query parameters and every form (hypothesis): never a 5xx, every REST 4xx in PagerDuty's
format, and no redirect ever leaves for somewhere the partner app did not allow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from fake_pagerduty.app import create_app
from fake_pagerduty.domain import rest_params
from fake_pagerduty.settings import Settings
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.test_rest_params import served
from tests.fake_pagerduty.test_security import BROWSER_TOKEN_FORMS, FORMS
from tests.openapi import spec
from tests.rest_spec import enum

FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
SERVED: dict[str, tuple[str, ...]] = {}  # the REST operations in fake_pagerduty/routes.py, as they are now
for _method, _path in served():
    SERVED[_path] = (*SERVED.get(_path, ()), _method.lower())
ALLOWED_HOSTS = ("127.0.0.1", "localhost")


class Client:
    def __init__(self, client: TestClient, incident_id: str) -> None:
        self.client, self.incident_id, self.sent = client, incident_id, 0

    def request(self, method: str, path: str, **kwargs):
        self.sent += 1
        answer = self.client.request(method, path, follow_redirects=False, **kwargs)
        assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:500])
        assert "Traceback" not in answer.text
        location = answer.headers.get("location")
        if location is not None:
            check_redirect(location)
        return answer


def check_redirect(location: str) -> None:
    """Within the sandbox (a path, never `//host`), or to a callback on an allowed origin."""
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        return
    assert parts.scheme in ("http", "https") and parts.hostname in ALLOWED_HOSTS, location
    assert not re.search(r"[\x00-\x20\\]", location.split("?")[0]), location


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[Client]:
    db_path = str(tmp_path_factory.mktemp("fuzz-rest") / "sandbox.db")
    app = create_app(Settings(db_path=db_path, public_url="http://sandbox.test"))
    with TestClient(app, base_url="http://sandbox.test") as test_client:
        answer = test_client.post("/v2/enqueue", json={
            "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "fuzz",
            "payload": {"summary": "fuzz", "source": "fuzz", "severity": "error"}})
        assert answer.status_code == 202
        incidents = test_client.get("/api/incidents", headers=REST_HEADERS).json()["incidents"]
        yield Client(test_client, incidents[0]["id"])


# ---- REST API: schemathesis --------------------------------------------------------------------------------

def _rest_schema():
    raw = spec("rest.json")
    paths = {path: {m: op for m, op in raw["paths"][path].items() if m in methods or m == "parameters"}
             for path, methods in SERVED.items()}
    return schemathesis.openapi.from_dict({**raw, "paths": paths, "servers": [{"url": "/api"}]})


def _rest_operations():
    for result in _rest_schema().get_all_operations():
        operation = result.ok()
        yield pytest.param(operation, id=f"{operation.method.upper()} {operation.path}")


def check_rest_answer(answer) -> None:
    if 400 <= answer.status_code < 500:
        body = answer.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error["message"], str) and error["message"], body
        assert isinstance(error["code"], int), body
        assert set(error) <= {"message", "code", "errors"}, body
        if "errors" in error:
            assert isinstance(error["errors"], list) and all(isinstance(e, str) for e in error["errors"]), body


@pytest.mark.parametrize("operation", list(_rest_operations()))
def test_rest_api_schemathesis(client, operation):
    """Positive and negative cases, with the account's key; path ids random or real."""
    real_ids = {"id": client.incident_id if operation.path.startswith("/incidents") else "PWEBS00",
                "integration_id": "PINTG00"}
    names = {p.name for p in operation.path_parameters}
    strategies = [operation.as_strategy(generation_mode=mode)
                  for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)]
    if names:
        strategies.append(operation.as_strategy(path_parameters={k: v for k, v in real_ids.items() if k in names}))

    @settings(FUZZ, max_examples=60)
    @given(case=st.one_of(strategies))
    def run(case):
        kwargs = case.as_transport_kwargs(base_url="http://sandbox.test/api")
        headers = {**{k: v for k, v in (kwargs.get("headers") or {}).items() if isinstance(v, str)}, **REST_HEADERS}
        headers.setdefault("From", "demo@acme.test")
        sent = {"headers": headers, "params": kwargs.get("params")}
        if "json" in kwargs:
            sent["content"] = json.dumps(kwargs["json"]).encode()
            headers["Content-Type"] = "application/json"
        elif isinstance(kwargs.get("data"), bytes | str):
            sent["content"] = kwargs["data"]
        path = kwargs["url"].removeprefix("http://sandbox.test")
        check_rest_answer(client.request(kwargs["method"], path, **sent))

    run()


_values = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.sampled_from(["", "true", "false", "0", "-1", "1", "99999999999999999999999", "2026-01-01T00:00:00Z",
                     "2026-13-45", "UTC", "Europe/Paris", "../../etc/passwd", "Mars/Olympus", "name:desc",
                     "created_at:asc", "bogus"]))


def _query(method: str, path: str):
    """Any mix of the parameters rest.json documents for the endpoint (and a few it does not), each once or
    more, with values of their own enums or anything at all."""
    row = rest_params.endpoint(method, path)
    names = [*row.honoured, *row.refused, "include[]", "colour"]

    def values(name: str):
        own = enum(method, path, name) or (row.include if name == "include[]" else ())
        return st.one_of(st.sampled_from(own), _values) if own else _values

    pairs = st.sampled_from(names).flatmap(lambda name: values(name).map(lambda value: (name, value)))
    return st.lists(pairs, max_size=6)


@pytest.mark.parametrize(("method", "path"), [key for key in served() if key[0] == "GET"],
                         ids=lambda v: str(v))
def test_every_documented_query_parameter_with_any_value(client, method, path):
    """Never a 5xx; a 4xx in PagerDuty's format; and a parameter the sandbox refuses is never answered 200."""
    row = rest_params.endpoint(method, path)
    url = "/api" + path.replace("{integration_id}", "PINTG00").replace(
        "{id}", client.incident_id if path.startswith("/incidents") else "PWEBS00")

    @settings(FUZZ, max_examples=40)
    @given(query=_query(method, path))
    def run(query):
        answer = client.request(method, url, params=query, headers=REST_HEADERS)
        check_rest_answer(answer)
        sent = {name if name in row.documented else name + "[]" for name, _ in query}
        if answer.status_code == 200:
            assert not sent & set(row.refused), (query, answer.text[:200])

    run()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Token token=wrong"}, {"Authorization": "Bearer"},
                                     {"Authorization": "Token token=" + "x" * 10_000},
                                     {"Authorization": "Token token=sandbox-api-key-acme\u00e9".encode()}])
def test_rest_api_without_a_valid_key_is_401_in_pagerdutys_format(client, headers):
    for method, path in (("GET", "/api/incidents"), ("PUT", f"/api/incidents/{client.incident_id}"),
                         ("POST", "/api/services"), ("GET", "/api/webhook_subscriptions")):
        answer = client.request(method, path, headers=headers)
        assert answer.status_code == 401
        check_rest_answer(answer)


# ---- handshakes' query parameters ------------------------------------------------------------------------

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
urls = st.one_of(texts, st.sampled_from(["http://127.0.0.1:8123/cb", "http://localhost:1/x?state=s",
                                         "https://evil.test/", "//evil.test", "javascript:alert(1)"]),
                 st.builds(lambda a, b: a + b, st.sampled_from(["http://127.0.0.1:", "http://localhost",
                                                                 "https://127.0.0.1.", "http://[::1]:"]), texts))
handshake_params = st.fixed_dictionaries({}, optional={
    "vendor": st.one_of(st.just("demo-monitor"), texts), "callback": urls,
    "app_id": st.one_of(st.just("PDEMOMN"), texts), "redirect_url": urls,
    "version": st.one_of(st.just("2"), texts), "state": texts,
}).flatmap(lambda fixed: st.dictionaries(texts, texts, max_size=3).map(lambda extra: {**extra, **fixed}))


@settings(FUZZ, max_examples=300)
@given(path=st.sampled_from(["/connect", "/install/integration", "/login", "/signup", "/incidents"]),
       params=handshake_params)
def test_handshake_and_page_query_parameters(client, path, params):
    answer = client.request("GET", path, params=params)
    if not 300 <= answer.status_code < 400:
        assert answer.headers["content-type"].startswith("text/html"), answer.headers


# ---- every form ------------------------------------------------------------------------------------------

def _fields(path: str):
    known = {name: st.one_of(st.just(value), texts) for name, value in FORMS[path].items()}
    return st.fixed_dictionaries({}, optional=known).flatmap(
        lambda fixed: st.dictionaries(texts, texts, max_size=3).map(lambda extra: {**extra, **fixed}))


@pytest.mark.parametrize("path", sorted(set(FORMS) - {"/logout"}))
def test_every_form_with_any_fields(client, path):
    test_client = client.client
    test_client.cookies.clear()  # a fresh browser, whatever the last test left signed in
    page = test_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = test_client.post("/login", data={"csrf_token": token, "email": "demo@acme.test", "password": "demo"},
                              follow_redirects=False)
    assert answer.status_code == 303, answer.text[:200]
    session_token = re.search(r'name="csrf_token" value="([^"]+)"', test_client.get("/incidents").text).group(1)
    login_form = test_client.get("/login").text.partition('action="/login"')[2]  # the token bound to pd_csrf
    browser_token = re.search(r'name="csrf_token" value="([^"]+)"', login_form).group(1)
    token = browser_token if path in BROWSER_TOKEN_FORMS else session_token
    target = path.replace("{incident_id}", client.incident_id)
    slow = path in ("/login", "/signup")  # every attempt hashes a password

    @settings(FUZZ, max_examples=15 if slow else 60)
    @given(fields=_fields(path))
    def run(fields):
        client.request("POST", target, data={**fields, "csrf_token": token})

    run()
