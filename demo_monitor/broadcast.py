"""Fan one serialized message out to every live dashboard (server-sent events).

Each message is built once and the same string is put on every subscriber's small queue; a slow subscriber
loses its oldest messages instead of slowing the others.
"""

from __future__ import annotations

import asyncio
import json


class Subscription:
    """One dashboard's queue: registered as soon as it is made (so nothing published after that is missed),
    iterated for messages, closed when the dashboard goes away."""

    def __init__(self, hub: Broadcaster, queue: asyncio.Queue) -> None:
        self._hub = hub
        self._queue = queue

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict:
        return await self._queue.get()

    def close(self) -> None:
        self._hub._queues.discard(self._queue)


class Broadcaster:
    def __init__(self, queue_size: int = 16) -> None:
        self._queues: set[asyncio.Queue] = set()
        self._queue_size = queue_size

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    @staticmethod
    def message(event: str, data: object) -> dict:
        return {"event": event, "data": json.dumps(data, separators=(",", ":"))}

    def publish(self, event: str, data: object) -> None:
        message = self.message(event, data)
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    def subscribe(self) -> Subscription:
        queue: asyncio.Queue = asyncio.Queue(maxsize=self._queue_size)
        self._queues.add(queue)
        return Subscription(self, queue)
