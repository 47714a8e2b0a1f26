"""The integration report (issue 20), `GET /_sandbox/report`: a good client passes; each deliberately bad one
fails exactly the checks it should, with the journal entries that prove it linked."""

from __future__ import annotations

import json

import pytest

from fake_pagerduty.domain import payload_checks, report_checks
from fake_pagerduty.domain.report_terms import Sent
from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.exam_clients import Client

PAGE = {"Accept": "text/html,application/xhtml+xml"}


async def _report(sandbox, **params) -> dict:
    response = await sandbox.get("/_sandbox/report", params=params or {"routing_key": SAMPLE_KEY})
    assert response.status_code == 200, response.text
    return response.json()["report"]


def _fails(report: dict) -> dict[str, list[int]]:
    return {c["id"]: [e["event_id"] for e in c["evidence"]] for c in report["checks"] if c["status"] == "fail"}


def _check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


async def _ids(sandbox) -> list[int]:
    return [e["id"] for e in (await sandbox.get("/_sandbox/events", params={"order": "asc"})).json()["events"]]


async def test_a_good_client_fails_nothing_and_every_check_has_a_row(sandbox):
    client = Client(sandbox)
    for n in range(3):
        await client.problem(n)
    report = await _report(sandbox)
    assert [c["id"] for c in report["checks"]] == [
        "resolves_what_it_opens", "follow_ups_find_their_trigger", "stable_dedup_keys", "severity", "summary",
        "source", "timestamps", "custom_details_size", "strict_warnings", "no_repeated_4xx", "rate_limit"]
    assert _fails(report) == {}
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["resolves_what_it_opens"] == statuses["stable_dedup_keys"] == "pass"
    assert statuses["timestamps"] == "warn"  # its triggers carry no payload.timestamp
    assert statuses["no_repeated_4xx"] == statuses["strict_warnings"] == "not_seen"
    assert report["status"] == "warn"
    assert report["events_seen"] == 6
    assert report["filter"] == {"routing_key": SAMPLE_KEY}
    resolved = _check(report, "resolves_what_it_opens")
    assert resolved["reason"] == "Every one of the 3 incidents it opened is resolved."
    first = resolved["evidence"][0]
    assert first == {"event_id": 1, "console_url": "/events/1", "journal_url": "/_sandbox/events?since=1&order=asc&limit=1"}
    linked = (await sandbox.get(first["journal_url"])).json()["events"]
    assert [e["id"] for e in linked] == [1]


async def test_a_client_that_retries_400s_fails_only_no_repeated_4xx(sandbox):
    client = Client(sandbox, retry_4xx=True, max_attempts=4, backoff=lambda attempt: 0)
    await client.problem(0)
    answer = await client.send({"routing_key": SAMPLE_KEY, "event_action": "retrigger", "dedup_key": "disk-0"})
    assert answer.status_code == 400
    await client.problem(1)
    report = await _report(sandbox)
    refused = (await _ids(sandbox))[2:6]
    assert _fails(report) == {"no_repeated_4xx": refused}
    check = _check(report, "no_repeated_4xx")
    assert check["reason"] == ("A request PagerDuty refused with a 400 was sent again unchanged (4 requests in all):"
                               " it will be refused every time.")


async def test_a_client_that_makes_a_new_dedup_key_per_event_fails_stable_keys_and_its_resolves_find_nothing(sandbox):
    client = Client(sandbox, new_key_each_time=True)
    for n in range(3):
        await client.problem(n)
    report = await _report(sandbox)
    ids = await _ids(sandbox)
    assert _fails(report) == {"stable_dedup_keys": ids[0::2], "follow_ups_find_their_trigger": ids[1::2]}
    stable = _check(report, "stable_dedup_keys")
    assert stable["reason"] == ("3 triggers repeated the same source and summary within 5 minutes under a new dedup"
                                " key: each repeat opens another incident instead of joining the first.")


async def test_a_client_that_never_resolves_fails_only_resolves_what_it_opens(sandbox):
    client = Client(sandbox, resolves=False)
    for n in range(3):
        await client.problem(n)
    report = await _report(sandbox)
    assert _fails(report) == {"resolves_what_it_opens": await _ids(sandbox)}
    check = _check(report, "resolves_what_it_opens")
    assert check["reason"] == ("It opened 3 incidents and never sent a resolve: responders are left with incidents"
                               " nobody closes when the problem clears.")


async def test_the_report_takes_one_filter_and_since(sandbox):
    await Client(sandbox).problem(0)
    other = "0123456789abcdef0123456789abcdef"
    for params in ({}, {"routing_key": SAMPLE_KEY, "client": "x"}, {"routing_key": SAMPLE_KEY, "since": "yesterday"},
                   {"routing_key": SAMPLE_KEY, "since": "9" * 30}, {"routing_key": " "}):
        response = await sandbox.get("/_sandbox/report", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == 400
    assert (await _report(sandbox, routing_key=other))["events_seen"] == 0
    assert (await _report(sandbox, routing_key=SAMPLE_KEY, since="2"))["events_seen"] == 1
    assert (await _report(sandbox, routing_key=SAMPLE_KEY, since="2000-01-01T00:00:00Z"))["events_seen"] == 2
    assert (await _report(sandbox, client="nobody"))["events_seen"] == 0
    await sandbox.post("/v2/enqueue", content=b"not json", headers={"Content-Type": "application/json"})
    await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": "trigger", "client": "Zabbix",
                                            "payload": {"summary": "s", "source": "h", "severity": "info"}})
    by_client = await _report(sandbox, client="Zabbix")
    assert by_client["events_seen"] == 1 and by_client["filter"] == {"client": "Zabbix"}
    # the seeded key belongs to no partner app's handshake; the demo monitor's vendor key has no key yet
    assert (await _report(sandbox, vendor_key="demo-monitor"))["events_seen"] == 0


async def test_the_report_page_shows_the_checks_with_their_evidence_escaped(sandbox):
    await Client(sandbox).problem(0)
    await sandbox.post("/v2/enqueue", json={"routing_key": "<b>key</b>", "event_action": "trigger",
                                            "payload": {"summary": "s", "source": "h", "severity": "info"}})
    index = await sandbox.get("/_sandbox/report", headers=PAGE)
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert f'href="/_sandbox/report?routing_key={SAMPLE_KEY}"' in index.text
    assert "&lt;b&gt;key&lt;/b&gt;" in index.text and "<b>key</b>" not in index.text
    page = await sandbox.get("/_sandbox/report", params={"routing_key": SAMPLE_KEY}, headers=PAGE)
    assert "Resolves what it opens" in page.text
    assert "Every one of the 1 incident it opened is resolved." in page.text
    assert '<a href="/events/1">#1</a>' in page.text
    assert 'href="/_sandbox/events?since=1&amp;order=asc&amp;limit=1"' in page.text


async def test_with_a_sandbox_token_the_json_needs_it_and_the_page_shows_nothing(sandbox_app, sandbox):
    sandbox_app.state.settings = settings = sandbox_app.state.settings.__class__(
        **{**sandbox_app.state.settings.__dict__, "sandbox_token": "s3cret"})
    await Client(sandbox).problem(0)
    assert (await sandbox.get("/_sandbox/report", params={"routing_key": SAMPLE_KEY})).status_code == 401
    answer = await sandbox.get("/_sandbox/report", params={"routing_key": SAMPLE_KEY},
                               headers={"X-Sandbox-Token": settings.sandbox_token})
    assert answer.status_code == 200
    page = await sandbox.get("/_sandbox/report", params={"routing_key": SAMPLE_KEY}, headers=PAGE)
    assert "need the sandbox token" in page.text and "Resolves what it opens" not in page.text


# ---- the rules themselves, over plain rows ---------------------------------------------------------------------


def _row(id: int, body: dict | bytes, *, status: int = 202, outcome: str = "created", at: str = "2026-12-01T10:00:00Z",
         action: str = "trigger", dedup_key: str | None = None) -> Sent:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Sent.from_row({"id": id, "received_at": at, "api": "v2", "action": action, "response_status": status,
                          "outcome": outcome, "fault_id": None, "raw_body": raw, "warnings": "[]",
                          "dedup_key": dedup_key or (body.get("dedup_key") if isinstance(body, dict) else None)})


def _trigger(id: int, **payload) -> Sent:
    return _row(id, {"event_action": "trigger", "dedup_key": f"k{id}",
                     "payload": {"summary": f"s{id}", "source": "h", "severity": "error", **payload}})


@pytest.mark.parametrize(("payload", "status", "reason"), [
    ({"timestamp": "2026-12-01T10:00:00Z"}, "pass", "1 timestamp, all valid."),
    ({"timestamp": "2026-12-01T10:06:00Z"}, "fail",
     "1 timestamp lay more than 5 minutes in the future: is the sender's clock right?"),
    ({"timestamp": "last tuesday"}, "fail", "1 timestamp was not ISO 8601."),
])
def test_timestamps(payload, status, reason):
    check = payload_checks.timestamps([_trigger(1, **payload)])
    assert (check.status, check.reason) == (status, reason)


def test_every_alert_critical_is_a_warning_and_a_long_summary_a_fail():
    critical = [_trigger(i, severity="critical") for i in range(5)]
    assert payload_checks.severity(critical).status == "warn"
    assert payload_checks.severity(critical[:4]).status == "pass"
    # four events, one of them refused four times by the exam's faults before it got through: four triggers
    refused = [_row(10 + i, {"event_action": "trigger", "dedup_key": "k3", "payload": {
        "summary": "s3", "source": "h", "severity": "critical"}}, status=503, outcome="fault") for i in range(4)]
    check = payload_checks.severity(critical[:4] + refused)
    assert (check.status, check.reason) == ("pass", "Severities used: critical.")
    check = payload_checks.severity(critical + refused)
    assert (check.status, check.reason) == ("warn", "All 5 triggers were critical: when everything is critical,"
                                                    " nothing is.")
    check = payload_checks.summary([_trigger(1, summary="x" * 1025)])
    assert (check.status, check.evidence) == ("fail", [1])


def test_more_than_120_requests_a_minute_or_hammering_through_429s_fails_the_rate_limit():
    steady = [_trigger(i, summary=f"s{i}") for i in range(121)]
    assert report_checks.rate_limit(steady).status == "fail"
    assert report_checks.rate_limit(steady[:120]).status == "pass"
    throttled = [_row(i, {"n": i}, status=429, outcome="rejected") for i in range(5)]
    check = report_checks.rate_limit(throttled)
    assert (check.status, check.evidence) == ("fail", [0, 1, 2, 3, 4])


async def test_the_sandbox_page_links_the_report_and_starts_the_exam(sandbox):
    page = (await sandbox.get("/_sandbox")).text
    assert '<a href="/_sandbox/report">integration report</a>' in page
    assert '<button type="button" class="primary" data-action="start-exam">Start the exam</button>' in page


async def test_vendor_key_grades_the_keys_a_partner_apps_handshakes_made_and_the_exam_probes_its_webhook(
        sandbox, sandbox_app):
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    [account] = (await sandbox.get("/_sandbox/state")).json()["accounts"]
    service_id = await store.services.upsert(id="PVENDOR", account_id=account["id"], name="Made by a handshake",
                                             vendor_key="demo-monitor", now=now)
    handshake_key = "a" * 32
    await store.services.upsert_integration(id="PINTEGR", service_id=service_id, integration_key=handshake_key,
                                            name="Demo Monitor", now=now)
    await Client(sandbox, routing_key=handshake_key).problem(0)
    await Client(sandbox).problem(1)
    report = await _report(sandbox, vendor_key="demo-monitor")
    assert (report["events_seen"], report["filter"]) == (2, {"vendor_key": "demo-monitor"})
    target = await store.exams.webhook_target(handshake_key, None)
    assert (target["vendor_key"], target["app_id"]) == ("demo-monitor", "PDEMOMN")
    assert await store.exams.webhook_target(SAMPLE_KEY, None) is None


async def test_a_new_dedup_key_after_someone_resolved_the_incident_is_a_new_problem(sandbox):
    """The demo monitor's re-alert: resolved in PagerDuty while still broken, the problem pages again later under a
    new key; that is not churning keys (the earlier incident was closed, by a person)."""
    from tests.conftest import REST_HEADERS

    def trigger(key: str) -> dict:
        return {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": key,
                "payload": {"summary": "Memory 98% on www15", "source": "www15", "severity": "critical"}}

    first = (await sandbox.post("/v2/enqueue", json=trigger("alert-1"))).json()
    assert first["status"] == "success"
    [incident] = (await sandbox.get("/api/incidents", headers=REST_HEADERS)).json()["incidents"]
    answer = await sandbox.put(f"/api/incidents/{incident['id']}", headers={**REST_HEADERS, "From": "demo@acme.test"},
                               json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert answer.status_code == 200, answer.text
    await sandbox.post("/v2/enqueue", json=trigger("alert-2"))
    checks = {c["id"]: c for c in (await _report(sandbox))["checks"]}
    assert checks["stable_dedup_keys"]["status"] == "pass", checks["stable_dedup_keys"]
    # the one a person resolved is not "still open"; the new one is
    assert checks["resolves_what_it_opens"]["status"] == "warn"
    assert [e["event_id"] for e in checks["resolves_what_it_opens"]["evidence"]] == [2]


def test_strict_warnings_are_counted_but_a_latency_faults_note_is_not():
    def with_warnings(id: int, *warnings: str) -> Sent:
        row = {"id": id, "received_at": "2026-12-01T10:00:00Z", "api": "v2", "action": "trigger",
               "response_status": 202, "outcome": "created", "fault_id": None, "raw_body": b"{}",
               "warnings": json.dumps(list(warnings)), "dedup_key": "k"}
        return Sent.from_row(row)

    rows = [with_warnings(1, "payload.severity: 'urgent' is not one of …", "unknown field 'x'"),
            with_warnings(2, "fault F1: delayed 2000 ms"), with_warnings(3)]
    check = payload_checks.strict_warnings(rows, strict=True)
    assert (check.status, check.evidence) == ("warn", [1])
    assert check.reason.startswith("2 strict-mode warnings on 1 request: ")
    assert payload_checks.strict_warnings(rows[1:], strict=True).status == "pass"
    assert payload_checks.strict_warnings(rows, strict=False).status == "not_seen"


def test_big_custom_details_warn_and_an_event_over_512_kb_fails():
    assert payload_checks.custom_details_size([_trigger(1, custom_details={"x": "y" * 40_000})]).status == "warn"
    huge = _row(2, {"event_action": "trigger", "payload": {"summary": "s", "source": "h", "severity": "info",
                                                           "custom_details": {"x": "y" * 600_000}}})
    check = payload_checks.custom_details_size([huge])
    assert (check.status, check.evidence) == ("fail", [2])
