"""What the sandbox's fuzz modules share: hypothesis's settings for them, a client over a module's own sandbox
that checks every answer (never a 5xx, no traceback, no redirect leaving for somewhere not allowed), and the
check of a REST 4xx body in PagerDuty's format.

The REST and page fuzzing is in three files by what it sends (test_fuzz_rest_reads.py, test_fuzz_rest_changes.py,
test_fuzz_pages_and_forms.py) so that pytest-xdist, which runs a whole file on one worker, can share them out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_pagerduty.app import create_app
from fake_pagerduty.settings import Settings
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.test_rest_params import served
from tests.in_thread_client import InThreadClient
from tests.openapi import spec

FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
ALLOWED_HOSTS = ("127.0.0.1", "localhost")


class Client:
    def __init__(self, client: InThreadClient, incident_id: str) -> None:
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
    """A sandbox of the module's own (in-process, its lifespan running) with one triggered incident."""
    db_path = str(tmp_path_factory.mktemp("fuzz-rest") / "sandbox.db")
    app = create_app(Settings(db_path=db_path, public_url="http://sandbox.test"))
    with InThreadClient(app, base_url="http://sandbox.test") as test_client:
        answer = test_client.post("/v2/enqueue", json={
            "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "fuzz",
            "payload": {"summary": "fuzz", "source": "fuzz", "severity": "error"}})
        assert answer.status_code == 202
        incidents = test_client.get("/api/incidents", headers=REST_HEADERS).json()["incidents"]
        yield Client(test_client, incidents[0]["id"])


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


def rest_operations(reads: bool):
    """schemathesis's operations for the REST routes the sandbox serves (fake_pagerduty/routes.py, as they are
    now): its GETs (`reads`) or everything else, as pytest params named `METHOD path`."""
    served_methods: dict[str, tuple[str, ...]] = {}
    for method, path in served():
        if (method == "GET") == reads:
            served_methods[path] = (*served_methods.get(path, ()), method.lower())
    raw = spec("rest.json")
    paths = {path: {m: op for m, op in raw["paths"][path].items() if m in methods or m == "parameters"}
             for path, methods in served_methods.items()}
    schema = schemathesis.openapi.from_dict({**raw, "paths": paths, "servers": [{"url": "/api"}]})
    for result in schema.get_all_operations():
        operation = result.ok()
        yield pytest.param(operation, id=f"{operation.method.upper()} {operation.path}")


def send_schemathesis_cases(client: Client, operation) -> None:
    """60 cases of one operation, positive and negative, with the account's key; path ids random or real."""
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
