"""Bad input on the Events API: property-based (hypothesis) and schema-based (schemathesis, PagerDuty's own
events-v1.json / events-v2.json) fuzzing, plus a hand-written corpus of nasty bodies.

Whatever comes in: never a 5xx; every 4xx in PagerDuty's Events API format (`{"status", "message",
"errors"?}`); every 2xx the success body; every request journaled. Over 2,000 generated cases a run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_pagerduty.app import create_app
from fake_pagerduty.domain import event_requests
from fake_pagerduty.settings import Settings
from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.fuzzing import FUZZ
from tests.in_thread_client import InThreadClient
from tests.openapi import spec

V1 = "/generic/2010-04-15/create_event.json"
V2 = "/v2/enqueue"
CHANGE = "/v2/change/enqueue"
ENDPOINTS = [V1, V2, V2 + "/", CHANGE, CHANGE + "/"]
# The tests that generate cases (each passes its node id to Fuzzer.post): see the last test
GENERATORS = frozenset({
    "test_any_json_document_gets_a_pagerduty_answer", "test_near_valid_v2_events", "test_near_valid_v1_events",
    "test_near_valid_change_events", "test_any_bytes_with_any_content_type",
    "test_schemathesis_cases_from_pagerdutys_openapi",
})


def plan(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


class Fuzzer:
    """A client over the in-process sandbox that checks every answer and counts what it sent."""

    def __init__(self, client: InThreadClient, db_path: str) -> None:
        self.client, self.db_path, self.sent = client, db_path, 0
        self.generated, self.generating_tests = 0, set()

    def post(self, path: str, generated_by: str | None = None, **kwargs):
        self.sent += 1
        if generated_by:
            self.generated += 1
            self.generating_tests.add(generated_by)
        answer = self.client.post(path, **kwargs)
        check_events_answer(answer, path)
        return answer


def check_events_answer(answer, path: str) -> None:
    assert answer.status_code < 500, (path, answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body = json.loads(answer.content)
    assert isinstance(body, dict), body
    if 200 <= answer.status_code < 300:
        assert answer.status_code == (200 if path == V1 else 202)
        assert body["status"] == "success" and body["message"] == "Event processed", body
        return
    assert 400 <= answer.status_code < 500, answer.status_code
    assert set(body) <= {"status", "message", "errors"}, body
    assert isinstance(body["status"], str) and body["status"], body
    assert isinstance(body["message"], str) and body["message"], body
    if "errors" in body:
        assert isinstance(body["errors"], list) and body["errors"], body
        assert all(isinstance(error, str) and error for error in body["errors"]), body
    assert "Traceback" not in answer.text


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory) -> Iterator[Fuzzer]:
    db_path = str(tmp_path_factory.mktemp("fuzz") / "sandbox.db")
    app = create_app(Settings(db_path=db_path, public_url="http://sandbox.test"))
    with InThreadClient(app, base_url="http://sandbox.test") as client:
        yield Fuzzer(client, db_path)


# ---- hypothesis: any JSON, near-valid events, any bytes ---------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
any_json = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def maybe(strategy):
    """A field that is well-formed, or any JSON at all."""
    return strategy | any_json


routing_keys = st.sampled_from([SAMPLE_KEY, "0" * 32, "", "short"]) | st.text(min_size=31, max_size=33)
actions = st.sampled_from(["trigger", "acknowledge", "resolve", "", "TRIGGER"])
severities = st.sampled_from(["critical", "error", "warning", "info", "fatal", ""])
links = st.lists(st.fixed_dictionaries({"href": maybe(st.text())}, optional={"text": maybe(st.text())}), max_size=3)
images = st.lists(st.fixed_dictionaries({"src": maybe(st.text())},
                                        optional={"href": maybe(st.text()), "alt": maybe(st.text())}), max_size=3)
timestamps = st.sampled_from(["2026-11-26T11:14:43Z", "2015-07-17T08:42:58.315+0000", "yesterday", ""])

v2_payloads = st.fixed_dictionaries({}, optional={
    "summary": maybe(st.text(max_size=1100)), "source": maybe(st.text()), "severity": maybe(severities),
    "timestamp": maybe(timestamps), "component": maybe(st.text()), "group": maybe(st.text()),
    "class": maybe(st.text()), "custom_details": any_json,
})
v2_events = st.fixed_dictionaries({}, optional={
    "routing_key": maybe(routing_keys), "event_action": maybe(actions), "dedup_key": maybe(st.text(max_size=300)),
    "payload": maybe(v2_payloads), "links": maybe(links), "images": maybe(images), "client": maybe(st.text()),
    "client_url": maybe(st.text()),
})
contexts = st.lists(st.fixed_dictionaries({"type": maybe(st.sampled_from(["link", "image", "other"]))},
                                          optional={"href": maybe(st.text()), "src": maybe(st.text()),
                                                    "text": maybe(st.text()), "alt": maybe(st.text())}),
                    max_size=3)
v1_events = st.fixed_dictionaries({}, optional={
    "service_key": maybe(routing_keys), "event_type": maybe(actions), "incident_key": maybe(st.text(max_size=300)),
    "description": maybe(st.text(max_size=1100)), "details": any_json, "client": maybe(st.text()),
    "client_url": maybe(st.text()), "contexts": maybe(contexts), "vendor": maybe(st.text()),
})
change_events = st.fixed_dictionaries({}, optional={
    "routing_key": maybe(routing_keys),
    "payload": maybe(st.fixed_dictionaries({}, optional={
        "summary": maybe(st.text(max_size=1100)), "source": maybe(st.text()), "timestamp": maybe(timestamps),
        "custom_details": any_json})),
    "links": maybe(links), "images": maybe(images),
})
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data", "", "*/*"])


@plan(300)
@given(path=st.sampled_from(ENDPOINTS), document=any_json)
def test_any_json_document_gets_a_pagerduty_answer(fuzzer, request, path, document):
    fuzzer.post(path, request.node.nodeid, content=json.dumps(document).encode(), headers={"Content-Type": "application/json"})


@plan(500)
@given(event=v2_events)
def test_near_valid_v2_events(fuzzer, request, event):
    answer = fuzzer.post(V2, request.node.nodeid, json=event)
    if answer.status_code == 400:
        assert answer.json()["status"] == "invalid event" or answer.json()["status"] == "unrecognized object"


@plan(400)
@given(event=v1_events)
def test_near_valid_v1_events(fuzzer, request, event):
    fuzzer.post(V1, request.node.nodeid, json=event)


@plan(250)
@given(event=change_events)
def test_near_valid_change_events(fuzzer, request, event):
    fuzzer.post(CHANGE, request.node.nodeid, json=event)


@plan(250)
@given(path=st.sampled_from(ENDPOINTS), body=st.binary(max_size=300), content_type=content_types)
def test_any_bytes_with_any_content_type(fuzzer, request, path, body, content_type):
    answer = fuzzer.post(path, request.node.nodeid, content=body, headers={"Content-Type": content_type})
    if answer.status_code == 400 and answer.json()["status"] == "unrecognized object":
        assert answer.json() == {"status": "unrecognized object", "message": "Event object format is unrecognized",
                                 "errors": ["JSON parse error"]}


# ---- schemathesis: PagerDuty's own OpenAPI files, positive and negative ---------------------------------

def _operations():
    for name, base in (("events-v1.json", "/generic/2010-04-15"), ("events-v2.json", "/v2")):
        schema = schemathesis.openapi.from_dict(spec(name))
        for result in schema.get_all_operations():
            operation = result.ok()
            yield pytest.param(operation, base, id=f"{name}:{operation.method.upper()} {operation.path}")


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
@pytest.mark.parametrize(("operation", "base"), list(_operations()))
def test_schemathesis_cases_from_pagerdutys_openapi(fuzzer, request, operation, base, mode):
    sent_before = fuzzer.sent

    @plan(110)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        kwargs = case.as_transport_kwargs(base_url="http://sandbox.test" + base)
        path = kwargs.pop("url").removeprefix("http://sandbox.test")
        kwargs.pop("method")
        if isinstance(kwargs.get("data"), bytes | str):  # a raw body: httpx calls that `content`
            kwargs["content"] = kwargs.pop("data")
        sent = {k: v for k, v in kwargs.items() if k in ("headers", "json", "content", "data", "params")}
        answer = fuzzer.post(path, request.node.nodeid, **sent)
        if mode is schemathesis.GenerationMode.POSITIVE and answer.status_code == 400:
            # What the spec calls valid may still break PagerDuty's documented rules (lengths, required
            # payload fields): then the answer says which rule, in PagerDuty's words.
            assert answer.json()["status"] == "invalid event", answer.json()

    run()
    assert fuzzer.sent > sent_before


# ---- the hand-written corpus ------------------------------------------------------------------------------

def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def v2_trigger(**overrides) -> dict:
    event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "corpus",
             "payload": {"summary": "Corpus", "source": "fuzz", "severity": "info"}}
    event.update(overrides)
    return event


UNICODE = "Zürich ☃ 日本語 \U0001f525 \u202e\u200b \x00 <script>alert(1)</script> \"quotes\" \\ 'single'"
CORPUS = {
    "invalid utf-8": (V2, b'{"routing_key": "\xff\xfe", "event_action": "trigger"}', "application/json", 400),
    "lone surrogate escape": (V2, b'{"routing_key": "\\ud800", "event_action": "trigger"}', "application/json", 400),
    "lone surrogate in a trigger": (V2, json.dumps(v2_trigger(dedup_key="a\ud800")).encode(), "application/json",
                                    400),
    "lone surrogate in v1": (V1, b'{"service_key": "' + SAMPLE_KEY.encode() + b'", "event_type": "trigger",'
                             b' "description": "\\udfff"}', "application/json", 400),
    "utf-16 body": (V2, json.dumps(v2_trigger()).encode("utf-16"), "application/json", 400),
    "deep nesting 100k": (V2, nested(100_000), "application/json", 400),
    "deep nesting in payload": (V2, json.dumps(v2_trigger())[:-1].encode() + b',"x":' + nested(5000) + b"}",
                                "application/json", 400),
    "deep arrays": (V1, b"[" * 200_000 + b"]" * 200_000, "application/json", 400),
    "600 KB body": (V2, json.dumps(v2_trigger(payload={"summary": "big", "source": "s", "severity": "info",
                                                       "custom_details": {"x": "a" * 600_000}})).encode(),
                    "application/json", 400),
    "600 KB garbage": (CHANGE, b"x" * 600_000, "application/octet-stream", 400),
    "NaN": (V2, b'{"routing_key": "' + SAMPLE_KEY.encode() + b'", "event_action": "trigger", "x": NaN}',
            "application/json", 400),
    "Infinity": (V1, b'{"service_key": "' + SAMPLE_KEY.encode() + b'", "event_type": "trigger", "x": -Infinity}',
                 "application/json", 400),
    "huge exponent": (V2, b'{"routing_key": "' + SAMPLE_KEY.encode() + b'", "event_action": "trigger", "x": 1e999}',
                      "application/json", 400),
    "huge integer": (V2, json.dumps(v2_trigger(payload={"summary": "s", "source": "s", "severity": "info",
                                                        "custom_details": {"n": 10 ** 4000}})).encode(),
                     "application/json", 202),
    "integer past 4300 digits": (V2, b'{"routing_key": "' + SAMPLE_KEY.encode() + b'", "x": 1' + b"0" * 5000 + b"}",
                                 "application/json", 400),
    "escaped surrogate pair": (V2, json.dumps(v2_trigger(dedup_key="\U0001f525")).encode(), "application/json", 202),
    "duplicate keys": (V2, b'{"routing_key": "x", "routing_key": "' + SAMPLE_KEY.encode() + b'", "event_action":'
                       b' "trigger", "dedup_key": "dup", "payload": {"summary": "s", "source": "s",'
                       b' "severity": "info", "severity": "nope"}}', "application/json", 400),
    "text/plain content type": (V2, json.dumps(v2_trigger()).encode(), "text/plain", 202),
    "form content type": (V2, b"routing_key=" + SAMPLE_KEY.encode() + b"&event_action=trigger",
                          "application/x-www-form-urlencoded", 400),
    "no content type": (V1, json.dumps({"service_key": SAMPLE_KEY, "event_type": "trigger",
                                        "description": "d"}).encode(), None, 200),
    "empty body v1": (V1, b"", "application/json", 400),
    "empty body v2": (V2, b"", "application/json", 400),
    "empty body change": (CHANGE, b"", "application/json", 400),
    "whitespace body": (V2, b" \n\t ", "application/json", 400),
    "json null": (V2, b"null", "application/json", 400),
    "json array": (V2, json.dumps([v2_trigger()]).encode(), "application/json", 400),
    "json string": (CHANGE, b'"hello"', "application/json", 400),
    "trailing garbage": (V2, json.dumps(v2_trigger()).encode() + b"}}", "application/json", 400),
    "bom": (V2, b"\xef\xbb\xbf" + json.dumps(v2_trigger()).encode(), "application/json", 400),
    "huge dedup key": (V2, json.dumps(v2_trigger(dedup_key="k" * 100_000)).encode(), "application/json", 400),
    "huge incident key": (V1, json.dumps({"service_key": SAMPLE_KEY, "event_type": "trigger", "description": "d",
                                          "incident_key": "k" * 256}).encode(), "application/json", 400),
    "dedup key of 255": (V2, json.dumps(v2_trigger(dedup_key="k" * 255)).encode(), "application/json", 202),
    "huge routing key": (V2, json.dumps(v2_trigger(routing_key="r" * 400_000)).encode(), "application/json", 400),
    "null bytes": (V2, json.dumps(v2_trigger(dedup_key="a\x00b")).encode(), "application/json", 202),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_hand_written_corpus(fuzzer, name):
    path, body, content_type, expected = CORPUS[name]
    headers = {"Content-Type": content_type} if content_type is not None else {}
    answer = fuzzer.post(path, content=body, headers=headers)
    assert answer.status_code == expected, answer.text[:300]


def test_unicode_in_every_field_is_kept_exactly(fuzzer):
    event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "ünïcode " + UNICODE,
             "client": UNICODE, "client_url": "https://example.test/" + UNICODE,
             "links": [{"href": "https://example.test/☃", "text": UNICODE}],
             "images": [{"src": "https://example.test/☃.png", "href": UNICODE, "alt": UNICODE}],
             "payload": {"summary": UNICODE, "source": UNICODE, "severity": "critical", "component": UNICODE,
                         "group": UNICODE, "class": UNICODE, "custom_details": {UNICODE: [UNICODE]}}}
    answer = fuzzer.post(V2, json=event)
    assert answer.status_code == 202
    assert answer.json()["dedup_key"] == "ünïcode " + UNICODE
    with sqlite3.connect(fuzzer.db_path) as db:
        title, key = db.execute("SELECT title, incident_key FROM incidents WHERE incident_key = ?",
                                ("ünïcode " + UNICODE,)).fetchone()
        api, raw = db.execute("SELECT e.api, e.raw_body FROM alerts a JOIN events e ON e.id = a.event_id"
                              " AND e.alert_id = a.id WHERE a.alert_key = ?", ("ünïcode " + UNICODE,)).fetchone()
    assert (title, key) == (UNICODE, "ünïcode " + UNICODE)
    stored = event_requests.alert_body(api, raw, key)  # the alert's body, made from the request it keeps
    assert stored["payload"]["custom_details"] == {UNICODE: [UNICODE]}
    assert stored["client"] == UNICODE and stored["contexts"] == [
        {"type": "link", "href": "https://example.test/☃", "text": UNICODE},
        {"type": "image", "src": "https://example.test/☃.png", "href": UNICODE, "alt": UNICODE}]

    v1 = {"service_key": SAMPLE_KEY, "event_type": "trigger", "incident_key": "v1 " + UNICODE,
          "description": UNICODE, "details": {UNICODE: UNICODE}, "client": UNICODE, "client_url": UNICODE,
          "contexts": [{"type": "link", "href": "https://example.test/" + UNICODE, "text": UNICODE}]}
    assert fuzzer.post(V1, json=v1).json()["incident_key"] == "v1 " + UNICODE
    change = {"routing_key": SAMPLE_KEY, "payload": {"summary": UNICODE, "source": UNICODE,
                                                      "custom_details": {UNICODE: UNICODE}}}
    assert fuzzer.post(CHANGE, json=change).status_code == 202


def test_every_fuzzed_request_was_journaled_and_enough_were_generated(fuzzer, request):
    """Runs last in this module: each request above left exactly one journal row, every generating test that
    ran generated, and a full run of the module generated at least 2,000 cases. With some generating tests
    deselected the floor cannot hold: then this test says so as a skip (it used to pass silently, issue 19)."""
    with sqlite3.connect(fuzzer.db_path) as db:
        (journaled,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
    assert journaled == fuzzer.sent
    module = request.node.parent
    every = {item.nodeid for item in module.collect() if getattr(item, "originalname", None) in GENERATORS}
    selected = {item.nodeid for item in request.session.items
                if item.parent is module and getattr(item, "originalname", None) in GENERATORS}
    assert every and selected <= every
    assert fuzzer.generating_tests <= selected, sorted(fuzzer.generating_tests - selected)  # GENERATORS is stale
    if selected != every:
        pytest.skip(f"{len(selected)} of the {len(every)} generating tests were selected: the 2,000-case floor"
                    " is checked on a run of the whole module")
    assert fuzzer.generating_tests == every, sorted(every - fuzzer.generating_tests)
    print(f"{fuzzer.generated} generated cases")
    assert fuzzer.generated >= 2000, fuzzer.generated
