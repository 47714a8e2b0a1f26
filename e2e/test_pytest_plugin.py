"""The `fake_pagerduty` fixture over a real sandbox process: its URLs, its helpers, reset, and failing fast."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _trigger(fake, dedup_key: str, summary: str = "Disk full on db-1") -> None:
    event = {"routing_key": fake.routing_key, "event_action": "trigger", "dedup_key": dedup_key,
             "payload": {"summary": summary, "source": "db-1", "severity": "error"}}
    assert httpx.post(fake.events_v2_url, json=event).status_code == 202


def test_urls_reach_each_surface(fake_pagerduty):
    v1 = {"service_key": fake_pagerduty.routing_key, "event_type": "trigger", "incident_key": "v1/key",
          "description": "v1 trigger"}
    assert httpx.post(fake_pagerduty.events_v1_url, json=v1).json()["incident_key"] == "v1/key"
    change = {"routing_key": fake_pagerduty.routing_key, "payload": {"summary": "deployed"}}
    assert httpx.post(fake_pagerduty.change_events_url, json=change).status_code == 202
    _trigger(fake_pagerduty, "v2/key")
    rest = httpx.get(f"{fake_pagerduty.rest_url}/services",
                     headers={"Authorization": f"Token token={fake_pagerduty.api_key}"})
    assert [s["name"] for s in rest.json()["services"]] == ["Acme Website"]
    assert [(e["api"], e["outcome"]) for e in fake_pagerduty.events()] == [
        ("v2", "created"), ("change", "recorded"), ("v1", "created")]
    assert fake_pagerduty.events(outcome="recorded")[0]["api"] == "change"
    assert fake_pagerduty.https_url.startswith("https://127.0.0.1:")
    assert fake_pagerduty.ca_pem_path.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_wait_for_event_reports_what_the_journal_holds_on_timeout(fake_pagerduty):
    _trigger(fake_pagerduty, "present")
    with pytest.raises(AssertionError, match=r"no event matching \{'dedup_key': 'absent'\} within 0.2 s.*present"):
        fake_pagerduty.wait_for_event(dedup_key="absent", timeout=0.2)


def test_faults_can_be_added_and_cleared(fake_pagerduty):
    fault = fake_pagerduty.add_fault(503, endpoint="v2", count=None)["fault"]
    assert (fault["status"], fault["count"], fault["match"]["endpoint"]) == (503, None, "v2")
    event = {"routing_key": fake_pagerduty.routing_key, "event_action": "trigger",
             "payload": {"summary": "s", "source": "s", "severity": "info"}}
    assert httpx.post(fake_pagerduty.events_v2_url, json=event).status_code == 503
    fake_pagerduty.clear_faults()
    assert httpx.post(fake_pagerduty.events_v2_url, json=event).status_code == 202


def test_advance_clock_makes_service_timeouts_fall_due(fake_pagerduty):
    _trigger(fake_pagerduty, "clock/ack")
    ack = {"routing_key": fake_pagerduty.routing_key, "event_action": "acknowledge", "dedup_key": "clock/ack"}
    assert httpx.post(fake_pagerduty.events_v2_url, json=ack).status_code == 202
    assert [i["status"] for i in fake_pagerduty.incidents()] == ["acknowledged"]
    fake_pagerduty.advance_clock(1801)  # the seeded service's acknowledgement timeout is 1800 s
    assert [i["status"] for i in fake_pagerduty.incidents()] == ["triggered"]


def _run_partner_suite(tmp_path, conftest: str, tests: str) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(conftest))
    (tmp_path / "test_partner.py").write_text(textwrap.dedent(tests))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_each_test_starts_from_a_reset_sandbox(tmp_path):
    result = _run_partner_suite(tmp_path, "", """
        import httpx

        def trigger(fake):
            event = {"routing_key": fake.routing_key, "event_action": "trigger", "dedup_key": "same",
                     "payload": {"summary": "s", "source": "s", "severity": "info"}}
            assert httpx.post(fake.events_v2_url, json=event).status_code == 202

        def test_first(fake_pagerduty):
            trigger(fake_pagerduty)
            fake_pagerduty.add_fault(500, endpoint="change")
            assert len(fake_pagerduty.incidents()) == 1

        def test_second(fake_pagerduty):
            assert fake_pagerduty.events() == [] and fake_pagerduty.incidents() == []
            assert fake_pagerduty.client.get("/_sandbox/faults").json() == {"faults": []}
            trigger(fake_pagerduty)
            assert fake_pagerduty.events()[0]["outcome"] == "created"  # not deduplicated into test_first's
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_sandbox_that_cannot_start_fails_fast_with_its_log(tmp_path):
    result = _run_partner_suite(tmp_path, """
        import pytest

        @pytest.fixture(scope="session")
        def fake_pagerduty_serve_args():
            return ["--seed", "no-such-seed.toml"]
    """, """
        def test_never_runs(fake_pagerduty):
            raise AssertionError("the fixture should have failed")
    """)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout
    assert "fake-pagerduty exited with code 2 before it came up" in result.stdout
    assert "cannot read seed file no-such-seed.toml" in result.stdout
    assert "the fixture should have failed" not in result.stdout
