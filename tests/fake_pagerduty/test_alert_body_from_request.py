"""An alert's body is made from the request that opened it, as the journal keeps it (migration 0015): the alert
row points at its journal row and stores no body of its own; REST, the console and `/_sandbox/state` show what
`AlertEvent.alert_body` made of the request, as when the body was stored. Alerts stored before keep their body."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_pagerduty.domain import event_requests
from fake_pagerduty.store import Store
from fake_pagerduty.store.database import migrations
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.schema_before import database_before

V1, V2 = "/generic/2010-04-15/create_event.json", "/v2/enqueue"

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
details = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                       | text, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                       max_leaves=8)


@st.composite
def v2_triggers(draw) -> dict:
    payload = {"summary": draw(text.filter(str.strip)), "source": draw(text.filter(str.strip)),
               "severity": draw(st.sampled_from(["critical", "error", "warning", "info"]))}
    for field in ("component", "group", "class"):
        if draw(st.booleans()):
            payload[field] = draw(text)
    if draw(st.booleans()):
        payload["custom_details"] = draw(details)
    event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "payload": payload}
    if draw(st.booleans()):
        event["dedup_key"] = draw(text.filter(str.strip))
    for field in ("client", "client_url"):
        if draw(st.booleans()):
            event[field] = draw(text)
    if draw(st.booleans()):
        event["links"] = [{"href": draw(text.filter(str.strip)), "text": draw(text)}]
    if draw(st.booleans()):
        event["images"] = [{"src": draw(text.filter(str.strip)), "alt": draw(text)}]
    return event


@st.composite
def v1_triggers(draw) -> dict:
    event = {"service_key": SAMPLE_KEY, "event_type": "trigger", "description": draw(text.filter(str.strip))}
    if draw(st.booleans()):
        event["incident_key"] = draw(text.filter(str.strip))
    for field in ("client", "client_url"):
        if draw(st.booleans()):
            event[field] = draw(text)
    if draw(st.booleans()):
        event["details"] = draw(details)
    if draw(st.booleans()):
        event["contexts"] = [{"type": "link", "href": draw(text.filter(str.strip))}]
    return event


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["v1", "v2"]).flatmap(lambda api: st.tuples(
    st.just(api), v1_triggers() if api == "v1" else v2_triggers())))
def test_the_body_made_from_a_request_is_the_body_its_event_had(case):
    api, event = case
    raw = json.dumps(event).encode()
    decision = event_requests.decide(event_requests.SURFACES[api], raw)
    assert decision.event is not None, decision.body
    # under the alert's key: the request's own, or the one PagerDuty made up when it had none
    assert event_requests.alert_body(api, raw, decision.dedup_key) == decision.event.alert_body()


@pytest.mark.parametrize(("api", "raw"), [
    ("v2", b'{"routing_key": "x"}'),  # refused: no alert
    ("v2", b"not json"),
    ("change", json.dumps({"routing_key": SAMPLE_KEY, "payload": {"summary": "deployed", "source": "ci"}}).encode()),
    ("v3", b"{}"),
])
def test_a_request_that_opened_no_alert_makes_no_body(api, raw):
    assert event_requests.alert_body(api, raw, "k") == {}


async def test_a_new_alert_keeps_its_request_and_every_reader_shows_the_body(sandbox, sandbox_settings):
    event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "client": "Demo Monitor",
             "payload": {"summary": "Disk full on web-1", "source": "web-1", "severity": "warning",
                         "custom_details": {"free_mb": 12}},
             "links": [{"href": "http://monitor.test/runbook", "text": "Runbook"}]}
    answer = await sandbox.post(V2, json=event)
    assert answer.status_code == 202
    made_up = answer.json()["dedup_key"]  # PagerDuty's own key: the request had none
    expected = event_requests.decide(event_requests.V2, json.dumps(event).encode()).event.with_dedup_key(
        made_up).alert_body()
    with sqlite3.connect(sandbox_settings.db_path) as db:
        body, event_id, alert_id = db.execute("SELECT body, event_id, id FROM alerts").fetchone()
        journal = db.execute("SELECT id, alert_id, raw_body FROM events").fetchall()
    assert body is None  # not stored again: 750 bytes and a tenth of the writer's time per new incident
    assert [(event_id, alert_id)] == [(row[0], row[1]) for row in journal]
    assert json.loads(journal[0][2]) == event

    incident = (await sandbox.get("/api/incidents", headers=REST_HEADERS)).json()["incidents"][0]
    alerts = (await sandbox.get(f"/api/incidents/{incident['id']}/alerts", headers=REST_HEADERS)).json()["alerts"]
    assert [a["body"] for a in alerts] == [expected]
    assert expected["cef_details"]["dedup_key"] == made_up and expected["details"] == {"free_mb": 12}
    state = (await sandbox.get("/_sandbox/state")).json()
    (shown,) = state["incidents"][0]["alerts"]
    assert shown["body"] == expected and "request_body" not in shown and "request_api" not in shown


async def test_alerts_stored_before_keep_their_body_and_order(tmp_path):
    path = str(tmp_path / "old.db")
    assert database_before(path, 15) == 14
    stamp = "2026-01-01T00:00:00Z"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("INSERT INTO accounts (id, subdomain, name, created_at) VALUES ('PACME00', 'acme', 'Acme', ?)",
                   (stamp,))
        db.execute("INSERT INTO services (id, account_id, name, created_at, updated_at) VALUES ('PWEBS00', 'PACME00',"
                   " 'Web', ?, ?)", (stamp, stamp))
        db.execute("INSERT INTO integrations (id, service_id, integration_key, name, created_at) VALUES ('PINTG00',"
                   " 'PWEBS00', ?, 'Events API', ?)", (SAMPLE_KEY, stamp))
        db.execute("INSERT INTO incidents (id, account_id, service_id, incident_number, title, status, urgency,"
                   " created_at, updated_at, last_status_change_at) VALUES ('QOLD', 'PACME00', 'PWEBS00', 1, 'Old',"
                   " 'triggered', 'high', ?, ?, ?)", (stamp, stamp, stamp))
        for n, key in enumerate(("b-second-by-id", "a-first-by-id")):  # inserted out of their ids' order
            db.execute("INSERT INTO alerts (id, account_id, service_id, integration_id, incident_id, alert_key, status,"
                       " severity, summary, body, created_at) VALUES (?, 'PACME00', 'PWEBS00', 'PINTG00', 'QOLD', ?,"
                       " 'triggered', 'error', 'Old', ?, ?)",
                       (f"QOLD{1 - n}", key, json.dumps({"type": "alert_body", "kept": key}), stamp))
        db.commit()
    store = Store(path)
    await store.open()
    try:
        assert await store.schema_version() == migrations()[-1][0]
        kept = await store.incidents.alerts("QOLD")
    finally:
        await store.close()
    assert [(a["id"], a["body"], a["event_id"]) for a in kept] == [
        ("QOLD0", {"type": "alert_body", "kept": "a-first-by-id"}, None),
        ("QOLD1", {"type": "alert_body", "kept": "b-second-by-id"}, None)]
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert [r[0] for r in db.execute("SELECT id FROM alerts ORDER BY rowid")] == ["QOLD1", "QOLD0"]
        assert {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'alerts'"
                                               " AND type = 'index' AND sql IS NOT NULL")} == {
            "alerts_one_open_per_key", "alerts_incident"}
        (old_sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'alerts'").fetchone()
    assert "body            TEXT," in old_sql and "event_id" in old_sql  # the body may now be NULL
