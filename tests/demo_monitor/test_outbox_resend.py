"""Issue 13: a crash between an event's send and its being marked sent re-sends it after the restart (at least
once), and the repeat is harmless: the sandbox (as PagerDuty) deduplicates it, and the monitor's alert shows one
delivery sent twice, never two deliveries. In-process against the real sandbox app, Events API v2 (the
default); the same story with a real kill -9 is e2e/test_monitor_resend.py."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from demo_monitor.app import create_app
from demo_monitor.settings import Settings
from tests.demo_monitor.conftest import SERVICE_KEY, break_www15, connect, ticks
from tests.demo_monitor.test_outbox import Crash
from tests.demo_monitor.test_with_sandbox import incidents


@contextlib.asynccontextmanager
async def running_monitor(db_path: str, clock, sandbox_app) -> AsyncIterator:
    settings = Settings(db_path=db_path, pagerduty_url="http://sandbox.test", public_url="http://monitor.test",
                        autostart=False)
    assert settings.events_api_version == 2  # the default is what this covers
    app = create_app(settings, transport=httpx.ASGITransport(app=sandbox_app), backoff=lambda n: 1.0, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


def crash_after(event_type: str):
    def hook(row: dict) -> None:
        if row["event_type"] == event_type:
            raise Crash(event_type)

    return hook


async def journal(sandbox, dedup_key: str) -> list[tuple[str, str, int]]:
    response = await sandbox.get("/_sandbox/events", params={"dedup_key": dedup_key, "order": "asc"})
    assert response.status_code == 200, response.text
    return [(e["action"], e["outcome"], e["response"]["status"]) for e in response.json()["events"]]


async def shown(app, alert_id: str) -> tuple[list[dict], list[str]]:
    """The alert's deliveries as the JSON API gives them, and the rows of the alert page's delivery table."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor.test") as client:
        api = await client.get(f"/api/alerts/{alert_id}")
        page = await client.get(f"/alerts/{alert_id}")
    assert api.status_code == 200 and page.status_code == 200
    table = re.search(r'<tbody id="events-body">(.*?)</tbody>', page.text, re.S)
    assert table, "no delivery table on the alert page"
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)]
    return api.json()["events"], rows


# What the repeat does in the sandbox, as in PagerDuty: the trigger is deduplicated into the open incident, the
# acknowledge acknowledges what is already acknowledged (the status and its time stay as they were; the log lists
# it), the resolve finds nothing open and is dropped.
CASES = {
    "trigger": ([("trigger", "created"), ("trigger", "deduplicated")], "triggered", "deduplicates"),
    "acknowledge": ([("trigger", "created"), ("acknowledge", "acknowledged"), ("acknowledge", "acknowledged")],
                    "acknowledged", "status as it was"),
    "resolve": ([("trigger", "created"), ("resolve", "resolved"), ("resolve", "dropped")],
                "resolved", "changes nothing"),
}


@pytest.mark.parametrize("event_type", list(CASES))
async def test_an_event_sent_again_after_a_crash_is_deduplicated_and_shown_once(tmp_path, clock, sandbox,
                                                                                sandbox_app, event_type):
    db_path = str(tmp_path / "monitor.db")
    expected_journal, incident_status, harmless = CASES[event_type]
    async with running_monitor(db_path, clock, sandbox_app) as monitor:
        await connect(monitor, SERVICE_KEY)
        alert = await break_www15(monitor, clock)
        if event_type != "trigger":
            await monitor.state.worker.run_once()
        if event_type == "acknowledge":
            await monitor.state.monitor.act_on_alert(alert["id"], "acknowledge", who="Sam")
        if event_type == "resolve":
            await monitor.state.monitor.clear_fault("www15", "memory_usage")
            await ticks(monitor, 4, clock)
        monitor.state.worker.after_send = crash_after(event_type)
        with pytest.raises(Crash):  # the sandbox answered 202; the monitor dies before recording it
            await monitor.state.worker.run_once()
        assert (await journal(sandbox, alert["id"]))[-1][:2] == (event_type, expected_journal[-2][1])
        [before] = await incidents(sandbox_app, alert["id"])

    async with running_monitor(db_path, clock, sandbox_app) as monitor:  # the restart, same database
        await monitor.state.worker.run_once()
        assert [(a, o) for a, o, _ in await journal(sandbox, alert["id"])] == expected_journal
        assert all(status == 202 for _, _, status in await journal(sandbox, alert["id"]))
        [incident] = await incidents(sandbox_app, alert["id"])
        assert incident["status"] == incident_status
        assert incident["last_status_change_at"] == before["last_status_change_at"]  # the repeat changed nothing

        events, rows = await shown(monitor, alert["id"])
        mine = [e for e in events if e["event_type"] == event_type]
        assert [(e["status"], e["attempts"], e["interrupted"]) for e in mine] == [("sent", 2, 1)]
        assert harmless in mine[0]["note"] and "cut short" in mine[0]["note"]
        assert [e["event_type"] for e in events] == [e for e, _ in expected_journal[:-1]]  # one row per event
        page_rows = [r for r in rows if r.startswith(event_type + " ")]
        assert len(page_rows) == 1, rows
        assert page_rows[0].startswith(f"{event_type} sent 2 ") and "cut short" in page_rows[0], page_rows

        if event_type == "trigger":  # order per key: the resolve follows the re-sent trigger
            await monitor.state.monitor.clear_fault("www15", "memory_usage")
            await ticks(monitor, 4, clock)
            await monitor.state.worker.run_once()
            assert [(a, o) for a, o, _ in await journal(sandbox, alert["id"])] == [
                *expected_journal, ("resolve", "resolved")]
            [incident] = await incidents(sandbox_app, alert["id"])
            assert incident["status"] == "resolved"
