"""The live stream: a dashboard connected to /api/stream receives each tick as a server-sent event."""

import asyncio
import json


async def test_a_connected_dashboard_receives_the_tick_as_an_sse_event(app):
    chunks: list[bytes] = []
    got_tick = asyncio.Event()

    async def receive():
        await got_tick.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            chunks.append(b"status %d\n" % message["status"])
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if b"event: tick" in b"".join(chunks):
                got_tick.set()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/api/stream", "raw_path": b"/api/stream", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"monitor.test")], "client": ("127.0.0.1", 5000), "server": ("monitor.test", 80)}
    task = asyncio.create_task(app(scope, receive, send))
    for _ in range(1000):
        if app.state.broadcaster.subscribers:
            break
        await asyncio.sleep(0)
    assert app.state.broadcaster.subscribers == 1
    await app.state.monitor.tick()
    await asyncio.wait_for(task, timeout=10)
    text = b"".join(chunks).decode()
    assert text.startswith("status 200")
    events = [line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event: ")]
    assert events[:3] == ["alerts", "integration", "tick"]  # the current state first, then live
    tick_at = text.index("event: tick")
    data_line = next(line for line in text[tick_at:].splitlines() if line.startswith("data: "))
    message = json.loads(data_line.removeprefix("data: "))
    assert message["metrics"] == ["cpu_usage", "memory_usage", "disk_usage", "latency_ms", "error_rate"]
    assert len(message["servers"]) == 24
    assert message["servers"][14][0] == "www15" and message["servers"][14][1] == "ok"
    assert app.state.broadcaster.subscribers == 0


async def test_a_burst_of_delivery_updates_reaches_dashboards_as_one_alerts_message(app, clock):
    from tests.demo_monitor.conftest import connect, ticks

    await connect(app)
    monitor = app.state.monitor
    for server in ("www1", "www2", "www3"):
        await monitor.set_fault(server, "memory_usage", 98)
    stream = app.state.broadcaster.subscribe()
    await ticks(app, 5, clock)  # three alerts open: tick messages and one alerts message per tick that opened some
    await app.state.worker.run_once()  # three deliveries
    await monitor._publisher
    # every message is on the queue once the publisher is done (publish is put_nowait): take them without a
    # timer (a 10 ms drain could stop early on a busy machine)
    messages = []
    while not stream._queue.empty():
        messages.append(stream._queue.get_nowait())
    alerts_messages = [json.loads(m["data"]) for m in messages if m["event"] == "alerts"]
    last = alerts_messages[-1]
    assert [a["delivery"]["status"] for a in last["open"]] == ["sent", "sent", "sent"]
    assert last["changed"] is None  # several alerts changed at once
    # one message for the tick that opened the alerts, one for the burst of deliveries
    assert len(alerts_messages) == 2
    stream.close()
