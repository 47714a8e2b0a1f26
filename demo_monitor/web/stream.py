"""Server-sent events: every dashboard gets the same serialized tick, alert and integration messages.

A new dashboard first gets the current open alerts and connection state, so nothing that changed between
rendering its page and opening the stream is missed.
"""

from __future__ import annotations

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request


async def events(request: Request):
    broadcaster = request.app.state.broadcaster
    monitor = request.app.state.monitor

    async def messages():
        subscription = broadcaster.subscribe()  # before the snapshot: later changes are queued, not lost
        try:
            open_alerts = await monitor.active_alerts_json()
            yield broadcaster.message("alerts", {"open": open_alerts, "changed": None, "snapshot": True})
            yield broadcaster.message("integration", await request.app.state.connection.integration_json())
            async for message in subscription:
                yield message
        finally:
            subscription.close()

    return EventSourceResponse(messages(), ping=15, send_timeout=10)
