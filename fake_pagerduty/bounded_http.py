"""uvicorn's HTTP protocol with the two limits it lacks against slow clients: a deadline for reading each request,
and a cap on open connections. `uvicorn.Config(app, http=BoundedHttpProtocol, …)`; the demo monitor uses it too.
Its access log writes uvicorn's line for less (`access_log.py`).

uvicorn closes idle keep-alive connections (`timeout_keep_alive`), but waits as long as it takes for a request
sent a byte at a time (slowloris), and keeps every connection it is offered. Here a connection must deliver a
whole request, head and body, within REQUEST_TIMEOUT seconds of opening (or of the request's first byte, on a
kept-alive connection), else it is closed. A request being answered (a long poll, an event stream) is not timed:
the deadline ends once the request has been read. Connections beyond MAX_CONNECTIONS are closed as they open.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fake_pagerduty.access_log import fast_access_logger

REQUEST_TIMEOUT = 10.0  # seconds to send one whole request; a local client needs milliseconds
# How long an idle kept-alive connection stays open (uvicorn's `timeout_keep_alive`; its default is 5 s). Longer
# than clients keep theirs (httpx 5 s, aiohttp 15 s): with equal times a client can send its next request on a
# connection the server is closing that very moment, and gets a bare ReadError it did nothing to deserve.
KEEP_ALIVE_SECONDS = 75
MAX_CONNECTIONS = 512  # open at once (the benchmarks use up to 64; each browser tab holds one or two)


class BoundedHttpProtocol(HttpToolsProtocol):
    request_timeout = REQUEST_TIMEOUT
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        if self.access_log:
            self.access_logger = fast_access_logger(self.access_logger)  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.close()
            return
        self._start_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the next request on a kept-alive connection
            self._start_deadline()

    def on_message_complete(self) -> None:
        self._stop_deadline()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def _start_deadline(self) -> None:
        self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.logger.debug("closed a connection that took over %g s to send its request", self.request_timeout)
            self.transport.close()
