"""A tiny in-process wake-up signal: writers `notify()`, long-polls await `waiter()` instead of polling.

Register the waiter BEFORE checking the condition it waits for; a notify that lands between the check and
the await then still wakes it.
"""

from __future__ import annotations

import asyncio


class Signal:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def waiter(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(future)
        future.add_done_callback(self._waiters.discard)
        return future

    @property
    def waiting(self) -> int:
        """How many waiters are parked (for tests and the state page)."""
        return sum(1 for future in self._waiters if not future.done())

    def notify(self) -> None:
        for future in list(self._waiters):
            if not future.done():
                future.set_result(None)
