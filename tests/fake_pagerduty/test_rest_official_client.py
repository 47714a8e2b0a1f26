"""PagerDuty's official Python client (PyPI `pagerduty`) driving the sandbox in-process, no ports.

How it is wired: see client_bridges.py (the official client in a worker thread, its `transport` an httpx2
transport into the app on the test's event loop). A test over real HTTPS and a real port lives in
e2e/test_https_official_client.py.
"""

from __future__ import annotations

import asyncio

import pagerduty

from tests.conftest import API_KEY, SAMPLE_KEY
from tests.fake_pagerduty.client_bridges import EVENTS_BASE, REST_BASE, bridge  # noqa: F401 (the fixture)


async def test_official_clients_trigger_list_acknowledge_resolve(bridge):  # noqa: F811
    def scenario() -> dict:
        events = pagerduty.EventsApiV2Client(SAMPLE_KEY, base_url=EVENTS_BASE, transport=bridge)
        dedup_key = events.trigger("Disk full on web-1", "web-1", dedup_key="disk-web-1", severity="critical")
        events.trigger("CPU warm on web-2", "web-2", dedup_key="cpu-web-2", severity="warning")

        rest = pagerduty.RestApiV2Client(API_KEY, default_from="demo@acme.test", base_url=REST_BASE,
                                         transport=bridge)
        listed = rest.list_all("incidents", params={"statuses[]": ["triggered"]})
        # iter_all pages through with limit/offset/more: page size 1 forces two pages.
        paged = list(rest.iter_all("incidents", page_size=1))
        target = next(i for i in listed if i["incident_key"] == dedup_key)
        acked = rest.rput(f"incidents/{target['id']}", json={"type": "incident_reference",
                                                             "status": "acknowledged"})
        resolved = rest.rput("incidents", json=[{"id": target["id"], "type": "incident_reference",
                                                 "status": "resolved"}])
        fetched = rest.rget(f"incidents/{target['id']}")
        found = rest.find("services", "Acme Website")
        alerts = rest.list_all(f"incidents/{target['id']}/alerts")
        return {"dedup_key": dedup_key, "listed": listed, "paged": paged, "acked": acked, "resolved": resolved,
                "fetched": fetched, "found": found, "alerts": alerts}

    result = await asyncio.to_thread(scenario)

    assert result["dedup_key"] == "disk-web-1"
    assert [(i["title"], i["urgency"], i["status"]) for i in result["listed"]] == [
        ("Disk full on web-1", "high", "triggered"), ("CPU warm on web-2", "low", "triggered")]
    assert [i["incident_number"] for i in result["paged"]] == [1, 2]
    assert result["acked"]["status"] == "acknowledged"
    assert result["acked"]["acknowledgements"][0]["acknowledger"]["summary"] == "Dana Demo"
    assert [i["status"] for i in result["resolved"]] == ["resolved"]
    assert result["fetched"]["status"] == "resolved"
    assert result["fetched"]["last_status_change_by"]["id"] == "PDANA00"
    assert result["found"]["id"] == "PWEBS00"
    assert [(a["alert_key"], a["status"]) for a in result["alerts"]] == [("disk-web-1", "resolved")]


async def test_official_client_sees_pagerduty_errors(bridge):  # noqa: F811
    def scenario() -> tuple[int, dict, int]:
        rest = pagerduty.RestApiV2Client("wrong-key", base_url=REST_BASE, transport=bridge)
        try:
            rest.rget("incidents")
        except pagerduty.Error as exc:
            unauthorized = exc.response.status_code
        no_from = pagerduty.RestApiV2Client(API_KEY, base_url=REST_BASE, transport=bridge)
        try:
            no_from.rput("incidents/QNOPE", json={"type": "incident_reference", "status": "resolved"})
        except pagerduty.Error as exc:
            missing_from = (exc.response.status_code, exc.response.json())
        return unauthorized, *missing_from

    unauthorized, status, body = await asyncio.to_thread(scenario)
    assert unauthorized == 401
    assert status == 400
    assert body["error"]["code"] == 2016
