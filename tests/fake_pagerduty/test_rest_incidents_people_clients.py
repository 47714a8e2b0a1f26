"""Incidents to people through real clients (issue 15): PagerDuty's official client (`RestApiV2Client`) creates
an incident with `rpost("incidents", json=…)`, adds and lists notes, reassigns it and reads the account's log
entries; pdpyras (`APISession`) does the same. In-process over the bridges of client_bridges.py (no ports)."""

from __future__ import annotations

import asyncio

import pagerduty

from tests.conftest import API_KEY
from tests.fake_pagerduty.client_bridges import REST_BASE, bridge, pdpyras_session  # noqa: F401 (the fixtures)

NEW = {"type": "incident", "title": "The server is on fire.", "service": {"id": "PWEBS00", "type": "service_reference"},
       "urgency": "high", "incident_key": "fire-from-a-client",
       "body": {"type": "incident_body", "details": "A disk is getting full."}}


async def test_the_official_client_creates_an_incident_and_notes_it(bridge):  # noqa: F811
    def scenario() -> dict:
        rest = pagerduty.RestApiV2Client(API_KEY, default_from="demo@acme.test", base_url=REST_BASE,
                                         transport=bridge)
        incident = rest.rpost("incidents", json={"incident": NEW})
        note = rest.rpost(f"incidents/{incident['id']}/notes", json={"note": {"content": "On it."}})
        reassigned = rest.rput(f"incidents/{incident['id']}", json={"incident": {
            "type": "incident_reference", "assignments": [{"assignee": {"id": "PSAMR00", "type": "user_reference"}}]}})
        return {"incident": incident, "note": note, "notes": rest.rget(f"incidents/{incident['id']}/notes"),
                "reassigned": reassigned,
                "log": [e["type"] for e in rest.iter_all("log_entries", params={"is_overview": "true"})]}

    result = await asyncio.to_thread(scenario)
    assert result["incident"]["incident_key"] == "fire-from-a-client"
    assert [a["assignee"]["id"] for a in result["incident"]["assignments"]] == ["PDANA00"]
    assert result["note"]["content"] == "On it." and result["notes"] == [result["note"]]
    assert [a["assignee"]["id"] for a in result["reassigned"]["assignments"]] == ["PSAMR00"]
    # newest first, without the notifications
    assert result["log"] == ["assign_log_entry", "annotate_log_entry", "assign_log_entry", "trigger_log_entry"]


async def test_pdpyras_creates_an_incident_and_refuses_a_second_with_the_same_key(pdpyras_session):  # noqa: F811
    session = pdpyras_session

    def scenario() -> dict:
        made = session.rpost("incidents", json={"incident": NEW})
        second = session.post("incidents", json={"incident": NEW})
        session.rpost(f"incidents/{made['id']}/notes", json={"note": {"content": "Looking."}})
        return {"made": made, "second": (second.status_code, second.json()),
                "notes": session.rget(f"incidents/{made['id']}/notes")}

    result = await asyncio.to_thread(scenario)
    assert result["made"]["title"] == "The server is on fire."
    assert result["second"] == (400, {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": [
        "Open incident with key 'fire-from-a-client' already exists"]}})
    assert [n["content"] for n in result["notes"]] == ["Looking."]
