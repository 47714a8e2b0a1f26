"""The integration exam (issue 20): `POST /_sandbox/exam` runs a seeded schedule of faults for one routing key in
the app's background and grades what the sender did with each. A good client passes; a client that never
retries, one that retries at once, and a webhook receiver that ignores signatures each fail exactly the checks
they should, with the journal entries linked. Exams here last seconds: the schedule ends as soon as the client
met every fault and got its events through, and the tests wait on the exam, never on the clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from demo_monitor.domain.webhooks import is_replay, verify_signature
from fake_pagerduty.domain import exam as exam_rules
from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.exam_clients import Client

SEED = 1  # the schedule this seed gives: 503, 3 x 503, late, 502, 429, cut, 500
LATENCY_MS = 100  # the late answer: the shortest the exam takes (MIN_LATENCY_MS), so the tests are quick
EVENT_CHECKS = ["retries_429", "retries_5xx", "retries_cut_connection", "survives_latency", "backoff_grows",
                "sane_total", "delivered_once_in_order"]


async def _start(sandbox, **body) -> dict:
    response = await sandbox.post("/_sandbox/exam", json={"routing_key": SAMPLE_KEY, "duration_seconds": 4,
                                                          "seed": SEED, "latency_ms": LATENCY_MS, **body})
    assert response.status_code == 202, response.text
    exam = response.json()["exam"]
    assert response.headers["location"] == f"/_sandbox/exam/{exam['id']}"
    return exam


async def _sit(sandbox, sandbox_app, client: Client, **body) -> dict:
    """Start an exam, let `client` send problems until it ends, and answer the graded exam."""
    exam = await _start(sandbox, **body)
    runner = sandbox_app.state.exams
    done = asyncio.Event()
    waiting = asyncio.create_task(runner.wait(exam["id"]))
    waiting.add_done_callback(lambda _: done.set())
    await client.until(done.is_set)
    async with asyncio.timeout(30):
        await waiting
    answer = await sandbox.get(exam["url"])
    assert answer.status_code == 200
    return answer.json()["exam"]


def _statuses(exam: dict, group: str | None = None) -> dict[str, str]:
    return {c["id"]: c["status"] for c in exam["result"]["checks"] if group in (None, c["group"])}


def _fails(exam: dict) -> set[str]:
    return {check for check, status in _statuses(exam).items() if status == "fail"}


async def test_a_client_that_retries_with_backoff_passes_every_event_check(sandbox, sandbox_app):
    exam = await _sit(sandbox, sandbox_app, Client(sandbox))
    assert exam["status"] == "passed"
    assert exam["result"]["status"] == "warn"  # the report's warnings (no payload.timestamp) are not fails
    assert _statuses(exam, "events") == dict.fromkeys(EVENT_CHECKS, "pass")
    assert [s["kind"] for s in exam["progress"]["steps"]] == ["503", "burst", "latency", "502", "429", "cut", "500"]
    assert all(len(s["hits"]) == (3 if s["kind"] == "burst" else 1) for s in exam["progress"]["steps"])
    backoff = next(c for c in exam["result"]["checks"] if c["id"] == "backoff_grows")
    assert backoff["reason"].startswith("Waits between attempts grew: ")
    assert [e["event_id"] for e in backoff["evidence"]] == exam["progress"]["steps"][1]["hits"] + [
        exam["progress"]["steps"][1]["hits"][-1] + 1]
    assert backoff["evidence"][0]["console_url"] == f"/events/{backoff['evidence'][0]['event_id']}"
    page = await sandbox.get(exam["url"], headers={"Accept": "text/html"})
    assert page.status_code == 200 and "refresh" not in page.text
    for heading in ("Events API under faults", "Webhooks", "Report: the exam&#39;s requests"):
        assert f'<th colspan="4" scope="rowgroup">{heading}</th>' in page.text
    assert "Waits longer after each failure (backoff)" in page.text
    # nothing of the exam stays in force
    assert (await sandbox.get("/_sandbox/faults")).json() == {"faults": []}
    assert _statuses(exam, "webhooks") == dict.fromkeys(["webhook_genuine", "webhook_forged", "webhook_replayed"],
                                                        "not_seen")


async def test_a_client_that_never_retries_fails_the_retry_checks_and_loses_events(sandbox, sandbox_app):
    exam = await _sit(sandbox, sandbox_app, Client(sandbox, retry=False))
    assert exam["status"] == "failed"
    # and the resolve that followed its first lost trigger found no incident to resolve
    assert _fails(exam) == {"retries_429", "retries_5xx", "retries_cut_connection", "backoff_grows",
                            "delivered_once_in_order", "follow_ups_find_their_trigger"}
    lost = next(c for c in exam["result"]["checks"] if c["id"] == "retries_429")
    hit = next(s["hits"] for s in exam["progress"]["steps"] if s["kind"] == "429")
    assert lost["reason"] == "After a 429 the same event was never sent again: it is lost."
    assert [e["event_id"] for e in lost["evidence"]] == hit
    journal = (await sandbox.get(lost["evidence"][0]["journal_url"])).json()["events"]
    assert [(e["id"], e["response"]["status"], e["outcome"]) for e in journal] == [(hit[0], 429, "fault")]


async def test_a_client_that_retries_at_once_fails_only_the_backoff(sandbox, sandbox_app):
    exam = await _sit(sandbox, sandbox_app, Client(sandbox, backoff=lambda attempt: 0))
    assert _fails(exam) == {"backoff_grows"}
    check = next(c for c in exam["result"]["checks"] if c["id"] == "backoff_grows")
    assert check["reason"].startswith("It retried at once (")


async def test_a_client_that_retries_at_once_on_a_slow_sandbox_still_retried_at_once(sandbox, sandbox_app,
                                                                                      monkeypatch):
    """A loaded machine makes the sandbox slow to journal and answer each 503: the client's waits are measured from
    an answer to its next request, so the sandbox's own 150 ms are not taken for the client's patience (measured
    from one request to the next, they were, and the check said the waits "did not grow")."""
    events = sandbox_app.state.store.events
    record = events.record

    async def slow_record(entry):
        await asyncio.sleep(0.15)
        return await record(entry)

    monkeypatch.setattr(events, "record", slow_record)
    exam = await _sit(sandbox, sandbox_app, Client(sandbox, backoff=lambda attempt: 0))
    check = next(c for c in exam["result"]["checks"] if c["id"] == "backoff_grows")
    assert check["status"] == "fail"
    # timed from one request to the next, each wait was >= 0.15 s and the verdict "did not grow"; from an answer to
    # the next request, most are ~0 (a busy machine adds a few ms: the verdict, not the figures, is asserted)
    assert check["reason"].startswith("It retried at once (")


def _receiver(*, checks_signature: bool, refuses_replays: bool):
    """A partner's webhook endpoint, as an httpx transport the sandbox delivers through."""
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = request.content
        if checks_signature and not verify_signature("demo-webhook-secret", body,
                                                     request.headers.get("x-pagerduty-signature")):
            return httpx.Response(401)
        occurred_at = httpx.Response(200, content=body).json()["event"]["occurred_at"]
        if refuses_replays and is_replay(occurred_at, __import__("time").time()):
            return httpx.Response(400)
        return httpx.Response(200)

    return httpx.MockTransport(handle), seen


@pytest.mark.parametrize(("checks_signature", "refuses_replays", "fails"), [
    (True, True, set()),
    (False, True, {"webhook_forged"}),
    (False, False, {"webhook_forged", "webhook_replayed"}),
], ids=["good", "ignores-signatures", "ignores-signatures-and-age"])
async def test_the_webhook_probes_grade_the_partner_apps_receiver(sandbox, sandbox_app, checks_signature,
                                                                  refuses_replays, fails):
    transport, seen = _receiver(checks_signature=checks_signature, refuses_replays=refuses_replays)
    sandbox_app.state.webhook_transport = transport
    exam = await _sit(sandbox, sandbox_app, Client(sandbox), vendor_key="demo-monitor")
    assert [r.url for r in seen] == ["http://127.0.0.1:8000/integrations/pagerduty/webhook"] * 3
    assert _statuses(exam, "webhooks") == {
        check: "fail" if check in fails else "pass" for check in ("webhook_genuine", "webhook_forged",
                                                                    "webhook_replayed")}
    assert _fails(exam) == fails
    probes = exam["progress"]["webhooks"]["probes"]
    assert probes["genuine"]["status"] == 200
    if "webhook_forged" in fails:
        forged = next(c for c in exam["result"]["checks"] if c["id"] == "webhook_forged")
        assert forged["reason"] == ("A delivery signed with the wrong secret: answered 200 in"
                                    f" {probes['forged']['seconds']:.2f} s, so it was taken as real; verify"
                                    " X-PagerDuty-Signature (HMAC-SHA256 of the raw body) and answer 401.")


async def test_bad_exam_requests_get_a_400_and_an_unknown_exam_a_404(sandbox):
    for body in ({}, {"routing_key": ""}, {"routing_key": SAMPLE_KEY, "duration_seconds": 0},
                 {"routing_key": SAMPLE_KEY, "seed": "x"}, {"routing_key": SAMPLE_KEY, "minutes": 1}, [],
                 {"routing_key": SAMPLE_KEY, "seed": 2**64}, {"routing_key": SAMPLE_KEY, "seed": -1},
                 {"routing_key": 7}, {"routing_key": SAMPLE_KEY, "vendor_key": ""},
                 {"routing_key": SAMPLE_KEY, "latency_ms": 99}, {"routing_key": SAMPLE_KEY, "latency_ms": 1.5}):
        response = await sandbox.post("/_sandbox/exam", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["message"] == "Invalid exam"
    for raw in (b"[" * 40_000, b"{", b"", b'{"routing_key": "k", "duration_seconds": NaN}',
                b'{"routing_key": "k", "duration_seconds": Infinity}'):
        response = await sandbox.post("/_sandbox/exam", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, raw[:40]
    assert (await sandbox.get("/_sandbox/state")).json()["faults"] == []
    response = await sandbox.get("/_sandbox/exam/ENOSUCH")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "No exam with id 'ENOSUCH'", "code": 404}}


async def test_a_running_exam_shows_its_progress_and_a_reset_stops_it(sandbox, sandbox_app):
    exam = await _start(sandbox, duration_seconds=600)
    running = (await sandbox.get(exam["url"])).json()["exam"]
    assert running["status"] == "running" and running["result"] is None
    assert running["progress"]["step"] == 1 and running["progress"]["note"] == "fault in force: 503"
    [rule] = (await sandbox.get("/_sandbox/faults")).json()["faults"]
    assert rule["id"] == f"exam-{exam['id']}-1" and rule["match"]["routing_key"] == SAMPLE_KEY
    again = await sandbox.post("/_sandbox/exam", json={"routing_key": SAMPLE_KEY})
    assert again.status_code == 409
    assert again.json() == {"error": {"message": f"An exam of this routing key is running already: {exam['url']}",
                                      "code": 409}}
    page = await sandbox.get(exam["url"], headers={"Accept": "text/html"})
    assert page.status_code == 200 and '<meta http-equiv="refresh" content="2">' in page.text
    assert "fault in force: 503" in page.text
    await sandbox_app.state.exams.stop()
    stopped = (await sandbox.get(exam["url"])).json()["exam"]
    assert stopped["status"] == "stopped"
    assert stopped["progress"]["note"] == "the exam was stopped (the sandbox stopped or was reset)"
    assert (await sandbox.get("/_sandbox/faults")).json() == {"faults": []}
    assert sandbox_app.state.faults.rules() == []


async def test_an_exam_left_running_by_a_crash_is_stopped_at_the_next_start(sandbox_settings):
    from fake_pagerduty.app import create_app
    from fake_pagerduty.store import Store

    store = Store(sandbox_settings.db_path)  # the row a running exam leaves when the process is killed
    await store.open()
    await store.exams.add(id="ECRASH1", routing_key=SAMPLE_KEY, vendor_key=None, seed=0, duration_seconds=60,
                          started_at="2026-12-01T00:00:00Z", since_id=0, progress={"steps": []})
    await store.close()
    app = create_app(sandbox_settings)
    async with app.router.lifespan_context(app):
        exam = await app.state.store.exams.get("ECRASH1")
    assert exam["status"] == "stopped"
    assert exam["progress"]["note"] == "the sandbox stopped before the exam ended"


def test_backoff_grows_over_a_run_of_failures_or_fails():
    """Waits measured between one event's attempts over the three 503s: growing passes; constant, or none at all,
    fails; a sender that gave up mid-run fails."""
    from fake_pagerduty.domain import exam
    from fake_pagerduty.domain.report_terms import Sent

    def attempts(*times: float) -> list[Sent]:
        return [Sent(id=i + 1, at=t, api="v2", action="trigger", dedup_key="k", status=503 if i < 3 else 202,
                     outcome="fault" if i < 3 else "created", fault_id="f" if i < 3 else None,
                     body={"dedup_key": "k"}, body_hash="h", size=1) for i, t in enumerate(times)]

    def grade(*times: float) -> tuple[str, str]:
        sent = attempts(*times)
        check = exam.backoff_grows(exam.faulted([("burst", [1, 2, 3])], sent))
        return check.status, check.reason

    assert grade(0, 0.25, 1.0, 2.5) == ("pass", "Waits between attempts grew: 0.25 s, 0.75 s, 1.50 s.")
    assert grade(0, 1, 2, 3)[0] == "fail"  # a constant second
    assert grade(0, 0.001, 0.002, 0.004)[1].startswith("It retried at once (0.00 s, 0.00 s, 0.00 s")
    # retrying at once on a stalled machine: one wait long, the others none; still retrying at once
    assert grade(0, 0.001, 0.2, 0.201)[1].startswith("It retried at once (0.00 s, 0.20 s, 0.00 s")
    assert grade(0, 0.06, 0.12, 0.3)[0] == "pass"  # a short first wait that grows is backing off
    assert grade(0, 0.3, 0.6) == ("fail", "It stopped retrying during a run of failures.")


def test_a_resolve_that_overtakes_its_retried_trigger_fails_delivered_in_order():
    from fake_pagerduty.domain import exam
    from fake_pagerduty.domain.report_terms import Sent

    def sent(id: int, action: str, status: int, outcome: str) -> Sent:
        return Sent(id=id, at=float(id), api="v2", action=action, dedup_key="k", status=status, outcome=outcome,
                    fault_id="f" if outcome == "fault" else None, body={"dedup_key": "k"}, body_hash=action,
                    size=1)

    rows = [sent(1, "trigger", 503, "fault"), sent(2, "resolve", 202, "dropped"), sent(3, "trigger", 202, "created")]
    check = exam.delivered_once_in_order(exam.faulted([("503", [1])], rows), rows)
    assert (check.status, check.evidence) == ("fail", [2])
    assert check.reason == "An acknowledge or resolve got through before its trigger, so PagerDuty dropped it."
    in_order = [rows[0], sent(2, "trigger", 202, "created"), sent(3, "resolve", 202, "resolved")]
    assert exam.delivered_once_in_order(exam.faulted([("503", [1])], in_order), in_order).status == "pass"


def test_an_event_that_takes_more_than_ten_attempts_or_a_minute_fails_the_sane_total():
    from fake_pagerduty.domain import exam
    from fake_pagerduty.domain.report_terms import Sent

    def attempts(times: list[float]) -> list[Sent]:
        last = len(times) - 1
        return [Sent(id=i + 1, at=t, api="v2", action="trigger", dedup_key="k", status=202 if i == last else 503,
                     outcome="created" if i == last else "fault", fault_id=None if i == last else "f",
                     body={"dedup_key": "k"}, body_hash="h", size=1) for i, t in enumerate(times)]

    def grade(times: list[float]) -> tuple[str, str]:
        rows = attempts(times)
        check = exam.sane_total(exam.faulted([("503", [1])], rows))
        return check.status, check.reason

    assert grade([0, 1, 3, 7]) == ("pass", "The slowest event took 7.0 s to get through.")
    assert grade([0, 30, 61]) == ("fail", "One event took 3 attempts and 61.0 s (at most 10 and 60 s is sane).")
    assert grade([i * 0.1 for i in range(11)])[0] == "fail"


async def test_an_exam_whose_faults_someone_cleared_still_ends_graded(sandbox, sandbox_app):
    exam = await _start(sandbox, duration_seconds=1)
    assert (await sandbox.delete("/_sandbox/faults")).json() == {"deleted": 1}
    await Client(sandbox).problem(0)  # meets no fault now
    async with asyncio.timeout(10):
        await sandbox_app.state.exams.wait(exam["id"])
    graded = (await sandbox.get(exam["url"])).json()["exam"]
    # nothing met a fault: not a pass (a CI job whose client sent elsewhere must not go green)
    assert (graded["status"], graded["progress"]["note"]) == ("not_graded", exam_rules.NOT_GRADED_NOTE)
    assert _statuses(graded, "events") == dict.fromkeys(EVENT_CHECKS, "not_seen")
    page = (await sandbox.get(exam["url"], headers={"Accept": "text/html"})).text
    assert "not graded</span></h2>" in page and exam_rules.NOT_GRADED_NOTE in page


def test_a_dedup_key_used_again_after_its_incident_was_resolved_is_a_new_event_not_a_duplicate():
    """Keys derived from the problem (host + check, as the docs advise) come back: trigger, resolve, and the
    same key triggered again later opens a new incident at PagerDuty. That is not an event delivered twice, and
    the later occurrence is not one more attempt of the event that met the fault."""
    from fake_pagerduty.domain import exam
    from fake_pagerduty.domain.report_terms import Sent

    def sent(id: int, action: str, status: int, outcome: str) -> Sent:
        return Sent(id=id, at=float(id), api="v2", action=action, dedup_key="host1-disk", status=status,
                    outcome=outcome, fault_id="f" if outcome == "fault" else None,
                    body={"dedup_key": "host1-disk", "event_action": action}, body_hash=action, size=1)

    again = [sent(1, "trigger", 503, "fault"), sent(2, "trigger", 202, "created"),
             sent(3, "resolve", 202, "resolved"), sent(4, "trigger", 202, "created"),
             sent(5, "resolve", 202, "resolved")]
    faults = exam.faulted([("503", [1])], again)
    assert [s.id for s in faults[0].attempts] == [1, 2]
    check = exam.delivered_once_in_order(faults, again)
    assert (check.status, check.evidence) == ("pass", [2])

    late = [sent(1, "trigger", 202, "created"), sent(2, "resolve", 202, "resolved"),
            sent(3, "trigger", 202, "created")]  # the late answer's event, then the same key's next problem
    assert exam.survives_latency(exam.faulted([("latency", [1])], late), 300).status == "pass"

    # a keyless trigger sent again does open a second incident: that is still a duplicate
    keyless = [Sent(id=i, at=float(i), api="v2", action="trigger", dedup_key=f"gen{i}", status=status,
                    outcome=outcome, fault_id=None, body={"event_action": "trigger"}, body_hash="same", size=1)
               for i, status, outcome in [(1, 202, "created"), (2, 202, "created")]]
    check = exam.survives_latency(exam.faulted([("latency", [1])], keyless), 300)
    assert (check.status, check.reason) == ("fail", "A retry after the slow answer opened a second incident.")
    check = exam.delivered_once_in_order(exam.faulted([("latency", [1])], keyless), keyless)
    assert (check.status, check.evidence) == ("fail", [1, 2])


async def test_an_exam_of_a_routing_key_or_vendor_key_the_sandbox_does_not_have_is_a_400(sandbox):
    """A typo in --routing-key would run an exam nobody can take (the Events API refuses that key's events)."""
    response = await sandbox.post("/_sandbox/exam", json={"routing_key": "0" * 32})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid exam", "code": 400, "errors": [
        f"no integration in the sandbox has routing key {'0' * 32!r}: use the integration key your client sends"
        " events with"]}}
    response = await sandbox.post("/_sandbox/exam", json={"routing_key": SAMPLE_KEY, "vendor_key": "nope"})
    assert response.status_code == 400
    assert response.json()["error"]["errors"] == ["no partner app in the sandbox has vendor key 'nope'"]
    assert (await sandbox.get("/_sandbox/state")).json()["faults"] == []
