"""The alert lists filter in SQL, before their limit: what matches is found however many newer alerts there are
(the API's state filter, a server's page, the alerts page, and the alerts a cleared rule resolves)."""

from __future__ import annotations

import contextlib
import sqlite3

from tests.demo_monitor.conftest import ticks


def insert_alerts(db_path: str, rows: list[tuple[int, str, int, str]]) -> None:
    """Alerts (number, server, rule_id, state) written straight into the database, as a long history would be."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as db, db:
        db.executemany(
            "INSERT INTO alerts (id, number, server, metric, rule_id, severity, operator, threshold, value, "
            "description, state, opened_at) VALUES (?, ?, ?, 'memory_usage', ?, 'critical', '>', 90, 98, ?, ?, "
            "'2026-11-26T00:00:00Z')",
            [(f"alert-{n}-seeded", n, server, rule_id, f"Server {server} running low on memory", state)
             for n, server, rule_id, state in rows],
        )


async def test_the_api_filters_by_state_before_its_limit(app, client, monitor_settings):
    # the 10 acknowledged alerts are older than the newest 500
    insert_alerts(monitor_settings.db_path,
                  [(n, "www2", 1, "acknowledged" if n <= 10 else "open") for n in range(1, 601)])
    alerts = (await client.get("/api/alerts", params={"state": "acknowledged"})).json()["alerts"]
    assert [a["number"] for a in alerts] == list(range(10, 0, -1))
    assert (await client.get("/api/alerts", params={"state": "resolved"})).json()["alerts"] == []
    assert len((await client.get("/api/alerts")).json()["alerts"]) == 500


async def test_the_alerts_page_filters_by_state_before_its_limit(app, client, monitor_settings):
    insert_alerts(monitor_settings.db_path,
                  [(n, "www2", 1, "resolved" if n <= 3 else "open") for n in range(1, 601)])
    page = (await client.get("/alerts", params={"state": "resolved"})).text
    assert [n for n in range(1, 601) if f"/alerts/alert-{n}-seeded\"" in page] == [1, 2, 3]


async def test_a_servers_page_shows_its_alerts_however_many_newer_ones_other_servers_have(
        app, client, monitor_settings):
    insert_alerts(monitor_settings.db_path,
                  [(n, "www3" if n <= 5 else "www2", 1, "open") for n in range(1, 601)])
    page = (await client.get("/servers/www3")).text
    assert [n for n in range(1, 601) if f"/alerts/alert-{n}-seeded\"" in page] == [1, 2, 3, 4, 5]


async def test_recovery_resolves_an_alert_behind_ten_thousand_newer_open_ones(app, clock, monitor_settings):
    await app.state.monitor.set_fault("www15", "memory_usage", 98)
    await ticks(app, 5, clock)
    [alert] = await app.state.store.list_alerts()
    # a long history of open alerts, all newer, on a server that is no longer in the fleet
    insert_alerts(monitor_settings.db_path, [(n, "retired1", 1, "open") for n in range(2, 10_002)])
    await app.state.monitor.clear_fault("www15", "memory_usage")
    await ticks(app, 4, clock)
    assert (await app.state.store.get_alert(alert.id)).state == "resolved"


async def test_after_a_restart_recovery_resolves_an_alert_behind_ten_thousand_newer_open_ones(
        make_app, clock, monitor_settings):
    app = make_app()
    async with app.router.lifespan_context(app):
        await app.state.monitor.set_fault("www15", "memory_usage", 98)
        await ticks(app, 5, clock)
        [alert] = await app.state.store.list_alerts()
        await app.state.monitor.clear_fault("www15", "memory_usage")
    insert_alerts(monitor_settings.db_path, [(n, "retired1", 1, "open") for n in range(2, 10_002)])

    app = make_app()
    async with app.router.lifespan_context(app):  # the open alert's rule is firing again, found at start-up
        await ticks(app, 4, clock)
        assert (await app.state.store.get_alert(alert.id)).state == "resolved"
