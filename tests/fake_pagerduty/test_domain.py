"""Pure rules: validation wording, decisions, urgency, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fake_pagerduty.domain import lifecycle
from fake_pagerduty.domain.clock import Clock, iso, parse_iso
from fake_pagerduty.domain.events import AlertEvent, validate_change, validate_v1, validate_v2

KEY = "e93facc04764012d7bfb002500d5d1a6"


def test_v2_normalises_a_trigger():
    event = validate_v2({"routing_key": KEY, "event_action": "trigger", "dedup_key": "k",
                         "payload": {"summary": "s", "source": "h", "severity": "warning", "component": 7,
                                     "custom_details": {"a": [1]}},
                         "links": [{"href": "https://x.test", "text": "x"}], "images": [{"src": "https://i.test"}]})
    assert isinstance(event, AlertEvent)
    assert (event.api, event.action, event.dedup_key, event.severity, event.component) == (
        "v2", "trigger", "k", "warning", "7")
    assert event.custom_details == {"a": [1]}
    assert event.links == [{"href": "https://x.test", "text": "x"}] and event.images == [{"src": "https://i.test"}]


def test_v2_link_and_image_problems_are_named_by_index():
    errors = validate_v2({"routing_key": KEY, "event_action": "resolve", "dedup_key": "k",
                          "links": [{"text": "no href"}], "images": "nope"})
    assert errors == ["'links[0].href' is missing or blank", "'images' is invalid (must be a list)"]


def test_v2_bad_timestamp():
    errors = validate_v2({"routing_key": KEY, "event_action": "trigger",
                          "payload": {"summary": "s", "source": "h", "severity": "info", "timestamp": "yesterday"}})
    assert errors == ["'payload.timestamp' is invalid (must be an ISO 8601 timestamp)"]


def test_v1_maps_contexts_to_links_and_images():
    event = validate_v1({"service_key": KEY, "event_type": "trigger", "description": "d",
                         "contexts": [{"type": "link", "href": "https://a.test"},
                                      {"type": "image", "src": "https://b.test/c.png", "alt": "c"}]})
    assert event.links == [{"href": "https://a.test"}]
    assert event.images == [{"src": "https://b.test/c.png", "alt": "c"}]
    assert event.severity == "error"


def test_v1_context_problems():
    errors = validate_v1({"service_key": KEY, "event_type": "trigger", "description": "d",
                          "contexts": [{"type": "video"}, {"type": "link"}]})
    assert errors == ["contexts[0].type is invalid (must be one of: link image)", "contexts[1].href is missing or blank"]


def test_v2_wording_for_a_dedup_key_payload_or_severity_of_the_wrong_kind():
    base = {"routing_key": KEY, "event_action": "trigger"}
    assert validate_v2({**base, "dedup_key": ["k"], "payload": "text"}) == [
        "'dedup_key' is invalid (must be a string)", "'payload' is invalid (must be an object)"]
    assert validate_v2({**base, "payload": {"summary": "s", "source": "h", "severity": " "}}) == [
        "'payload.severity' is missing or blank"]


def test_v2_keeps_every_field_of_a_full_trigger():
    event = validate_v2({
        "routing_key": KEY, "event_action": "trigger", "dedup_key": "d", "client": "Acme", "client_url": 7,
        "links": [{"href": "https://a.test", "text": "runbook"}], "images": [{"src": "https://a.test/i.png"}],
        "payload": {"summary": "s", "source": "h", "severity": "warning", "component": False, "group": 5,
                    "class": True, "timestamp": "2026-01-02T03:04:05.000+01:00", "custom_details": ["x"]}})
    assert event == AlertEvent(
        api="v2", routing_key=KEY, action="trigger", dedup_key="d", summary="s", severity="warning", source="h",
        component="false", group="5", class_="true", timestamp="2026-01-02T03:04:05.000+01:00", custom_details=["x"],
        client="Acme", client_url="7", links=[{"href": "https://a.test", "text": "runbook"}],
        images=[{"src": "https://a.test/i.png"}])


def test_v2_dedup_key_up_to_255_characters_and_blank_is_none():
    base = {"routing_key": KEY, "event_action": "trigger", "payload": {"summary": "s", "source": "h",
                                                                       "severity": "info"}}
    assert validate_v2({**base, "dedup_key": "k" * 255}).dedup_key == "k" * 255
    assert validate_v2({**base, "dedup_key": "  "}).dedup_key is None  # PagerDuty makes one up


def test_v2_acknowledge_without_a_payload_keeps_nothing_of_one():
    assert validate_v2({"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "d"}) == AlertEvent(
        api="v2", routing_key=KEY, action="acknowledge", dedup_key="d")


def test_v1_keeps_every_context_field_and_the_client_as_source():
    event = validate_v1({"service_key": KEY, "event_type": "trigger", "description": "d", "client": "Acme",
                         "client_url": "https://acme.test", "vendor": "Acme Monitor", "details": {"a": 1},
                         "incident_key": 42,
                         "contexts": [{"type": "image", "src": "https://b.test/c.png", "href": "https://b.test",
                                       "alt": "c", "extra": "dropped"},
                                      {"type": "link", "href": "https://a.test", "text": "runbook"}]})
    image = {"type": "image", "src": "https://b.test/c.png", "href": "https://b.test", "alt": "c"}
    link = {"type": "link", "href": "https://a.test", "text": "runbook"}
    assert event == AlertEvent(
        api="v1", routing_key=KEY, action="trigger", dedup_key="42", summary="d", severity="error", source="Acme",
        custom_details={"a": 1}, client="Acme", client_url="https://acme.test",
        links=[{"href": "https://a.test", "text": "runbook"}],
        images=[{"src": "https://b.test/c.png", "href": "https://b.test", "alt": "c"}], contexts=[image, link],
        vendor="Acme Monitor")


def test_v1_problems_worded_as_pagerduty_words_them():
    assert validate_v1({}) == ["Service key is missing or blank",
                               "event_type is invalid (must be one of: trigger acknowledge resolve)"]
    base = {"service_key": KEY, "event_type": "trigger", "description": "d"}
    assert validate_v1({**base, "incident_key": ["k"], "contexts": "a link"}) == [
        "Incident key is invalid (must be a string)", "contexts is invalid (must be a list)"]
    assert validate_v1({**base, "incident_key": "k" * 256}) == ["Incident key is too long (maximum is 255 characters)"]
    assert validate_v1({**base, "contexts": ["a link", {"type": "link", "href": 5}, {"type": "image", "src": 5},
                                             {"type": "image"}, {"type": "link", "href": " "}]}) == [
        "contexts[0].type is invalid (must be one of: link image)", "contexts[1].href is missing or blank",
        "contexts[2].src is missing or blank", "contexts[3].src is missing or blank",
        "contexts[4].href is missing or blank"]


def test_change_keeps_its_timestamp_links_and_images():
    from fake_pagerduty.domain.events import ChangeEvent

    event = validate_change({"routing_key": KEY, "payload": {
        "summary": "Deployed", "source": "ci", "timestamp": "2026-01-02T03:04:05Z", "custom_details": {"v": 2}},
        "links": [{"href": "https://ci.test/1", "text": "build"}],
        "images": [{"src": "https://ci.test/i.png", "href": "https://ci.test", "alt": 3},
                   {"src": "https://ci.test/j.png", "alt": {"not": "text"}}]})
    assert event == ChangeEvent(KEY, "Deployed", "ci", "2026-01-02T03:04:05Z", {"v": 2},
                                [{"href": "https://ci.test/1", "text": "build"}],
                                [{"src": "https://ci.test/i.png", "href": "https://ci.test", "alt": "3"},
                                 {"src": "https://ci.test/j.png", "alt": ""}])


def test_change_problems_are_all_named():
    assert validate_change({"payload": "Deployed", "links": "x", "images": [{}, {"src": 1}]}) == [
        "'routing_key' is missing or blank", "'payload' is invalid (must be an object)",
        "'links' is invalid (must be a list)", "'images[0].src' is missing or blank",
        "'images[1].src' is missing or blank"]
    assert validate_change({"routing_key": KEY, "payload": {"summary": "s", "timestamp": "yesterday"}}) == [
        "'payload.timestamp' is invalid (must be an ISO 8601 timestamp)"]


def test_events_cross_to_the_writer_process_intact():
    import pickle

    from fake_pagerduty.domain.events import ChangeEvent

    alert = validate_v2({"routing_key": KEY, "event_action": "trigger", "dedup_key": "d",
                         "payload": {"summary": "s", "source": "h", "severity": "info"}})
    change = ChangeEvent(KEY, "Deployed", None, None, None, [], [])
    assert pickle.loads(pickle.dumps(alert)) == alert
    assert pickle.loads(pickle.dumps(change)) == change


def test_change_needs_a_summary():
    assert validate_change({"routing_key": KEY, "payload": {}}) == ["'payload.summary' is missing or blank"]
    assert validate_change({"routing_key": KEY}) == ["'payload' is missing or blank"]


def _event(action: str) -> AlertEvent:
    return AlertEvent(api="v2", routing_key=KEY, action=action, dedup_key="k")


@pytest.mark.parametrize(
    ("action", "open_alert", "outcome"),
    [("trigger", None, "created"), ("trigger", True, "deduplicated"), ("acknowledge", True, "acknowledged"),
     ("resolve", True, "resolved"), ("acknowledge", None, "dropped"), ("resolve", None, "dropped")],
)
def test_decide(action, open_alert, outcome):
    alert = lifecycle.OpenAlert("A", "I", "triggered") if open_alert else None
    assert lifecycle.decide(_event(action), alert).outcome == outcome


def test_only_an_open_incident_changes_and_only_to_acknowledged_or_resolved():
    assert lifecycle.can_change_status("triggered", "acknowledged")
    assert lifecycle.can_change_status("acknowledged", "resolved")
    assert lifecycle.can_change_status("triggered", "resolved")
    assert not lifecycle.can_change_status("acknowledged", "triggered")
    assert not lifecycle.can_change_status("resolved", "acknowledged")
    assert not lifecycle.can_change_status("resolved", "resolved")


def test_urgency_rule_can_fix_it():
    assert lifecycle.urgency("severity_based", "info") == "low"
    assert lifecycle.urgency("high", "info") == "high"
    assert lifecycle.urgency("low", "critical") == "low"


def test_timestamps():
    assert iso(datetime(2026, 11, 26, 11, 14, 43, 999, tzinfo=UTC)) == "2026-11-26T11:14:43Z"
    assert parse_iso("2015-07-17T08:42:58.315+0000") == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert parse_iso("2015-07-17T08:42:58Z") == datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)
    assert parse_iso("soon") is None


def test_clock_only_moves_forward():
    clock = Clock()
    before = clock.now()
    clock.advance(3600)
    assert (clock.now() - before).total_seconds() >= 3600
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_sliding_window_forgets_hits_older_than_the_window():
    from fake_pagerduty.domain.sliding_window import SlidingWindow

    window = SlidingWindow(60)
    for moment in (0, 10, 59):
        window.add("k", moment)
    assert window.count("k", 59) == 3
    assert window.count("k", 60) == 2  # the hit at 0 is exactly one window old: gone
    assert window.count("k", 119) == 0
    assert window.count("other", 0) == 0
    window.add("k", 200)
    window.add("other", 200)
    window.clear("k")
    assert (window.count("k", 200), window.count("other", 200)) == (0, 1)  # one key forgotten, not the others
    window.add("k", 200)
    window.clear()
    assert (window.count("k", 200), window.count("other", 200)) == (0, 0)


def test_webhook_event_data_adds_number_assignees_and_bridge_to_the_incident():
    from fake_pagerduty.domain.webhooks import event_data

    incident = {"id": "Q1", "incident_number": 7, "assignments": [{"assignee": {"id": "PDANA00"}}, {"at": "t"}]}
    assert event_data(incident) == {**incident, "number": 7, "assignees": [{"id": "PDANA00"}],
                                    "conference_bridge": None}
    assert event_data({"id": "Q2"}) == {"id": "Q2", "number": None, "assignees": [], "conference_bridge": None}
    shown = {"id": "Q3", "number": 3, "assignees": [{"id": "PSAM000"}], "conference_bridge": {"url": "x"}}
    assert event_data(shown) == shown  # what the incident already shows is kept


def test_the_rest_limiter_allows_960_a_minute_per_key_and_says_when_one_frees():
    from fake_pagerduty.domain.rate_limits import RateLimitSettings, SlidingWindowLimiter

    limiter = SlidingWindowLimiter()
    assert limiter.allow_rest("k", 0) == (True, 960, 0)  # the switch off: nothing counted
    limiter.configure(RateLimitSettings(enabled=True))
    answers = [limiter.allow_rest("k", 10 + i / 100) for i in range(960)]
    assert answers[:2] == [(True, 959, 60), (True, 958, 60)] and answers[-1] == (True, 0, 51)
    assert limiter.allow_rest("k", 20) == (False, 0, 50)  # the oldest hit, at 10 s, frees one at 70 s
    assert limiter.allow_rest("j", 20) == (True, 959, 60)  # per key
    assert limiter.allow_rest("k", 70) == (True, 0, 1)  # the hit at 10 s slid out; the next frees within a second
    assert limiter.allow_rest("k", 70) == (False, 0, 1)


def test_the_events_rate_limiter_counts_per_key_only_when_enabled():
    from fake_pagerduty.domain.rate_limits import RateLimitSettings, SlidingWindowLimiter

    limiter = SlidingWindowLimiter()  # off, as the sandbox starts
    assert all(limiter.allow("k", 0) for _ in range(200))
    limiter.configure(RateLimitSettings(enabled=True, limit=2, window_seconds=60))
    assert [limiter.allow("k", 0), limiter.allow("k", 1), limiter.allow("k", 2), limiter.allow("j", 2)] == [
        True, True, False, True]
    assert limiter.allow("k", 60) and not limiter.allow("k", 60.5)  # the hit at 0 slid out, the one at 1 not yet
