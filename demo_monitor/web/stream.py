"""Server-sent events: every dashboard gets the same serialized tick, alert and integration messages."""

from __future__ import annotations

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request


async def events(request: Request):
    broadcaster = request.app.state.broadcaster
    return EventSourceResponse(broadcaster.subscribe(), ping=15, send_timeout=10)
