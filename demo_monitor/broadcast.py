"""Fan one serialized message out to every live dashboard (server-sent events).

Each message is built once and the same string is put on every subscriber's small queue; a slow subscriber
loses its oldest messages instead of slowing the others.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator


class Broadcaster:
    def __init__(self, queue_size: int = 16) -> None:
        self._queues: set[asyncio.Queue] = set()
        self._queue_size = queue_size

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: str, data: object) -> None:
        message = {"event": event, "data": json.dumps(data, separators=(",", ":"))}
        for queue in self._queues:
            if queue.full():
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:  # pragma: no cover - cannot happen with one consumer
                    pass
            queue.put_nowait(message)

    async def subscribe(self) -> AsyncIterator[dict]:
        queue: asyncio.Queue = asyncio.Queue(maxsize=self._queue_size)
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)
