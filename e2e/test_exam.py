"""The demo monitor is the reference integration: it passes the integration exam (issue 20), Events API and
webhooks, run by `fake-pagerduty exam` against the real sandbox while servers break and recover, each event
meeting the exam's faults (429, 5xx, a cut connection, a late answer, three 503s in a row) on the way. Also: the
exam started from the Sandbox page and followed to its grade, and the pytest plugin's `exam()` over a real sandbox
process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import ROOT, SAMPLE_KEY, Screens, Stack, connect_directly, delivered

DURATION = "40"  # the most the faults may take (a loaded CI machine); the exam ends once the monitor got through all


def test_the_demo_monitor_passes_the_exam_while_servers_break(stack: Stack, page: Page, screens: Screens):
    connect_directly(stack)
    exam = subprocess.Popen(
        [sys.executable, "-m", "fake_pagerduty", "exam", "--url", stack.sandbox_url, "--routing-key", SAMPLE_KEY,
         "--duration", DURATION, "--seed", "1", "--vendor-key", "demo-monitor", "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        servers = [server["name"] for server in stack.monitor_json("/api/servers")["servers"]]
        for n, name in enumerate(servers[:8]):  # one server at a time breaks and recovers, until the exam is over
            if exam.poll() is not None:
                break
            stack.set_fault(name, *(("memory_usage", 98) if n % 2 else ("disk_usage", 99)))  # critical, error
            stack.wait_for_alert(name, lambda a: delivered(a, "trigger"), "its trigger delivered", timeout=30)
            stack.clear_fault(name)
            stack.wait_for_alert(name, lambda a: delivered(a, "resolve"), "its resolve delivered", timeout=30)
        out, err = exam.communicate(timeout=90)
    finally:
        if exam.poll() is None:
            exam.kill()
            exam.communicate()
    assert exam.returncode == 0, out + err
    result = json.loads(out)
    checks = {c["id"]: c for c in result["result"]["checks"]}
    assert result["status"] == "passed"
    for check_id in ("retries_429", "retries_5xx", "retries_cut_connection", "survives_latency", "backoff_grows",
                     "sane_total", "delivered_once_in_order", "webhook_genuine", "webhook_forged",
                     "webhook_replayed", "follow_ups_find_their_trigger", "stable_dedup_keys", "severity"):
        assert checks[check_id]["status"] == "pass", checks[check_id]
    # the exam may end while a server is still broken: its incident is legitimately open (a warning at most)
    assert not [c for c in checks.values() if c["status"] == "fail"]
    assert all(step["hits"] for step in result["progress"]["steps"]), result["progress"]
    assert result["progress"]["webhooks"]["probes"]["forged"]["status"] == 401
    assert result["progress"]["webhooks"]["probes"]["replayed"]["status"] == 400

    # the exam's page and the report, as a partner sees them
    page.goto(stack.sandbox_url + result["url"])
    expect(page.get_by_role("heading", name=f"Exam {result['id']}: passed")).to_be_visible()
    expect(page.get_by_role("row", name="Refuses a webhook with a forged signature")).to_contain_text("pass")
    page.get_by_role("link", name="The report for this key since the exam began").click()
    expect(page.get_by_role("cell", name="Resolves what it opens")).to_be_visible()
    screens.take(page, "60-sandbox-report")
    evidence = page.get_by_role("row", name="Dedup keys stay the same").get_by_role("link").first
    assert evidence.get_attribute("href").startswith("/events/")


def test_start_the_exam_from_the_sandbox_page_and_follow_it(sandbox_server, page: Page):
    page.goto(sandbox_server.url + "/_sandbox")
    page.get_by_label("Seconds").fill("1")
    page.get_by_role("button", name="Start the exam").click()
    expect(page.locator("#exam-status")).to_contain_text("started: send events with this key now.")
    page.get_by_role("link", name="Follow the exam").click()
    expect(page).to_have_url(re.compile(re.escape(sandbox_server.url) + r"/_sandbox/exam/E\w+$"))
    # nothing was sent: nothing graded, which is no pass; the page refreshes itself until the exam is over
    expect(page.get_by_role("heading", name=re.compile(r"^Exam E\w+: not graded$"))).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("nothing graded: no request with this routing key met a fault")
    expect(page.get_by_role("row", name="Retries a 429 (throttled)")).to_contain_text("not seen")


def _problems(url: str, routing_key: str, *, retries: bool, count: int = 12) -> None:
    """A partner's client: `count` problems, each triggered and resolved; retrying 429, 5xx and network errors
    with growing waits (or not at all)."""
    with httpx.Client(timeout=10) as http:
        for n in range(count):
            for action in ("trigger", "resolve"):
                event = {"routing_key": routing_key, "event_action": action, "dedup_key": f"disk-{n}",
                         "payload": {"summary": f"Disk {n} full on db-{n}", "source": f"db-{n}",
                                     "severity": "error"}}
                for attempt in range(1, 9 if retries else 2):
                    try:
                        answer = http.post(url, json=event)
                        if answer.status_code < 500 and answer.status_code != 429:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.1 * 2 ** (attempt - 1))


def test_the_pytest_plugins_exam_passes_a_good_client_and_names_a_bad_ones_fails(fake_pagerduty):
    fake = fake_pagerduty
    exam = fake.exam(drive=lambda: _problems(fake.events_v2_url, fake.routing_key, retries=True), duration=10, seed=1,
                     latency_ms=300)
    assert exam["status"] == "passed"
    assert all(step["hits"] for step in exam["progress"]["steps"])
    with pytest.raises(AssertionError) as failed:
        fake.exam(drive=lambda: _problems(fake.events_v2_url, fake.routing_key, retries=False), duration=6, seed=1,
                  latency_ms=300)
    report = str(failed.value)
    assert report.splitlines()[0].endswith(f"for routing key {fake.routing_key}: failed")
    assert "  FAIL  Retries a 429 (throttled)" in report
    assert f"        {fake.url}/events/" in report
