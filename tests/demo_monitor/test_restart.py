"""State that must survive a restart of the monitor: faults, open alerts, pending events, the integration."""

from tests.demo_monitor.conftest import connect, ticks


async def test_a_restart_keeps_faults_alerts_and_pending_events(make_app, clock, fake_pd):
    import httpx

    fake_pd.script = [httpx.ConnectError("refused")]
    app = make_app()
    async with app.router.lifespan_context(app):
        await connect(app)
        await app.state.monitor.set_fault("www15", "memory_usage", 98)
        await ticks(app, 5, clock)
        await app.state.worker.run_once()
        [alert] = await app.state.store.list_alerts()
        assert (await app.state.store.list_outbox())[0]["status"] == "retrying"

    app = make_app()
    async with app.router.lifespan_context(app):
        assert (await app.state.connection.integration_json())["connected"] is True
        await ticks(app, 3, clock)
        # the fault is held, so the alert stays the one open alert: no duplicate
        alerts = await app.state.store.list_alerts()
        assert [(a.id, a.state) for a in alerts] == [(alert.id, "open")]
        assert app.state.monitor.fleet.servers["www15"].current["memory_usage"] == 98.0
        clock.advance(60)
        await app.state.worker.run_once()
        assert [(r["event_type"], r["status"]) for r in await app.state.store.list_outbox()] == [("trigger", "sent")]
        # recovery after the restart resolves the alert and tells PagerDuty
        await app.state.monitor.clear_fault("www15", "memory_usage")
        await ticks(app, 4, clock)
        await app.state.worker.run_once()
        assert [q["body"]["event_type"] for q in fake_pd.requests] == ["trigger", "resolve"]  # the refused attempt never arrived
        assert (await app.state.store.get_alert(alert.id)).state == "resolved"


async def test_a_restart_in_the_middle_of_the_scenario_still_ends_it(make_app, clock):
    app = make_app()
    async with app.router.lifespan_context(app):
        await app.state.monitor.play_scenario("memory-leak")
        await ticks(app, 15, clock)
        assert [(a.server, a.state) for a in await app.state.store.list_alerts()] == [("www15", "open")]

    app = make_app()
    async with app.router.lifespan_context(app):
        assert app.state.monitor.scenario_name == "memory-leak"
        await ticks(app, 35, clock)
        assert [(a.server, a.state) for a in await app.state.store.list_alerts()] == [("www15", "resolved")]
        assert await app.state.store.list_faults() == []
        assert app.state.monitor.scenario_name is None
