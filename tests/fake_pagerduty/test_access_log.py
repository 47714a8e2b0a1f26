"""The access log line: `serve`'s HTTP protocol writes the very line uvicorn's own logger and formatter write, for
less (fake_pagerduty/access_log.py), and leaves any other logging configuration to the logger (no ports here)."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from fake_pagerduty.access_log import FastAccessLogger, fast_access_logger
from fake_pagerduty.bounded_http import BoundedHttpProtocol

REQUESTS = [  # (request head, status the app answers)
    (b"POST /v2/enqueue HTTP/1.1", 202),
    (b"GET /api/incidents?limit=2&offset=1 HTTP/1.1", 200),
    (b"GET /caf%C3%A9/x%20y HTTP/1.1", 404),
    (b"DELETE /v2/enqueue HTTP/1.1", 405),
    (b"GET /odd HTTP/1.1", 599),  # a code HTTPStatus does not know: no phrase
    (b"POST /generic/2010-04-15/create_event.json HTTP/1.0", 400),  # last: HTTP/1.0 closes the connection
]


async def _app(scope, receive, send):
    if scope["type"] != "http":
        return
    status = next(code for head, code in REQUESTS
                  if head.split(b" ")[:2] == [scope["method"].encode(), scope["raw_path"]] or
                  head.split(b" ")[1] == scope["raw_path"] + b"?" + scope["query_string"])
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 50312), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def write(self, data):
        pass

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def _uvicorn_access_handler(monkeypatch, stream: io.StringIO, *, use_colors: bool = False) -> logging.Handler:
    """The `uvicorn.access` logger as uvicorn's LOGGING_CONFIG sets it up, writing to `stream`."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter(LOGGING_CONFIG["formatters"]["access"]["fmt"], use_colors=use_colors))
    logger = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(logger, "handlers", [handler])
    monkeypatch.setattr(logger, "propagate", False)
    monkeypatch.setattr(logger, "level", logging.INFO)
    monkeypatch.setattr(logger, "disabled", False)
    return handler


async def _serve_requests(protocol_class) -> HttpToolsProtocol:
    config = uvicorn.Config(_app, log_config=None, access_log=True, lifespan="off")
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(_Transport())
    for head, _ in REQUESTS:
        protocol.data_received(head + b"\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        for _ in range(20):  # the app's task answers on the loop
            await asyncio.sleep(0)
    protocol.connection_lost(None)
    return protocol


async def test_the_line_is_uvicorns_own_for_every_request(monkeypatch):
    theirs, ours = io.StringIO(), io.StringIO()
    _uvicorn_access_handler(monkeypatch, theirs)
    await _serve_requests(HttpToolsProtocol)  # uvicorn's own protocol: the logger and AccessFormatter
    _uvicorn_access_handler(monkeypatch, ours)
    protocol = await _serve_requests(BoundedHttpProtocol)
    assert isinstance(protocol.access_logger, FastAccessLogger)
    assert ours.getvalue() == theirs.getvalue()
    assert ours.getvalue().splitlines() == [
        'INFO:     127.0.0.1:50312 - "POST /v2/enqueue HTTP/1.1" 202 Accepted',
        'INFO:     127.0.0.1:50312 - "GET /api/incidents?limit=2&offset=1 HTTP/1.1" 200 OK',
        'INFO:     127.0.0.1:50312 - "GET /caf%C3%A9/x%20y HTTP/1.1" 404 Not Found',
        'INFO:     127.0.0.1:50312 - "DELETE /v2/enqueue HTTP/1.1" 405 Method Not Allowed',
        'INFO:     127.0.0.1:50312 - "GET /odd HTTP/1.1" 599 ',
        'INFO:     127.0.0.1:50312 - "POST /generic/2010-04-15/create_event.json HTTP/1.0" 400 Bad Request',
    ]


def _configure(monkeypatch, how: str) -> logging.Logger:
    logger = logging.getLogger("uvicorn.access")
    handler = _uvicorn_access_handler(monkeypatch, io.StringIO(), use_colors=how == "colours")
    if how == "propagating":
        monkeypatch.setattr(logger, "propagate", True)
    elif how == "a filter":
        monkeypatch.setattr(logger, "filters", [logging.Filter("someone")])
    elif how == "another format":
        handler.setFormatter(AccessFormatter("%(client_addr)s %(status_code)s", use_colors=False))
    elif how == "two handlers":
        monkeypatch.setattr(logger, "handlers", [handler, logging.StreamHandler(io.StringIO())])
    elif how == "a file":
        monkeypatch.setattr(logger, "handlers", [logging.FileHandler("/dev/null")])
    return logger


@pytest.mark.parametrize("how", ["colours", "propagating", "a filter", "another format", "two handlers", "a file"])
def test_any_other_configuration_goes_through_the_logger(monkeypatch, how):
    logger = _configure(monkeypatch, how)
    assert fast_access_logger(logger) is logger


def test_a_configuration_changed_later_goes_through_the_logger(monkeypatch):
    stream = io.StringIO()
    handler = _uvicorn_access_handler(monkeypatch, stream)
    fast = fast_access_logger(logging.getLogger("uvicorn.access"))
    assert isinstance(fast, FastAccessLogger)
    handler.setFormatter(AccessFormatter("%(levelprefix)s %(request_line)s", use_colors=False))
    fast.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/", "1.1", 200)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    fast.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/", "1.1", 200)
    assert stream.getvalue() == "INFO:     GET / HTTP/1.1\n"
