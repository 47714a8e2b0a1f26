"""Slow clients (slowloris) against real servers on 127.0.0.1: a request must arrive whole within the deadline or
its connection is closed; answers that take long (long polls) are not cut; open connections are capped.

First fake_pagerduty/bounded_http.py's protocol under uvicorn in this process with a short deadline and a small cap,
then both apps as `serve` processes with the real settings."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from fake_pagerduty.bounded_http import REQUEST_TIMEOUT, BoundedHttpProtocol
from fake_pagerduty.server_process import bound_socket

pytestmark = pytest.mark.e2e
DEADLINE = 1.0
CAP = 4


class QuickProtocol(BoundedHttpProtocol):
    request_timeout = DEADLINE
    max_connections = CAP


async def slow_app(scope, receive, send):
    """Reads the request, waits `?wait` seconds, answers with what it read."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["query_string"].startswith(b"wait="):
        import asyncio

        await asyncio.sleep(float(scope["query_string"][5:]))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"read %d bytes" % len(body)})


@pytest.fixture(scope="module")
def quick_server() -> Iterator[int]:
    sock = bound_socket()  # uvicorn listens on it: the port is ours from the start
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(slow_app, host="127.0.0.1", port=port, http=QuickProtocol,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield port
    server.should_exit = True
    thread.join(5)
    sock.close()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(REQUEST_TIMEOUT + 5)
    return sock


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes the connection (reading everything it sends until then)."""
    start = time.monotonic()
    with contextlib.suppress(ConnectionResetError):
        while sock.recv(65536):
            pass
    return time.monotonic() - start


def test_half_a_request_line_is_cut_off_at_the_deadline(quick_server):
    with connect(quick_server) as sock:
        sock.sendall(b"GET /slo")
        assert closed_after(sock) < DEADLINE + 1


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_deadline(quick_server):
    with connect(quick_server) as sock:
        start = time.monotonic()
        with pytest.raises(OSError):  # the server closes while we are still sending
            for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 1000:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
                if time.monotonic() - start > DEADLINE + 2:
                    break
        assert time.monotonic() - start < DEADLINE + 1.5


def test_a_connection_that_sends_nothing_is_closed(quick_server):
    with connect(quick_server) as sock:
        assert closed_after(sock) < DEADLINE + 1


def test_a_body_that_never_finishes_is_cut_off(quick_server):
    with connect(quick_server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly part")
        assert closed_after(sock) < DEADLINE + 1


def test_normal_clients_are_unaffected_and_long_answers_are_not_cut(quick_server):
    with httpx.Client(base_url=f"http://127.0.0.1:{quick_server}", timeout=10) as client:
        assert client.post("/", content=b"x" * 200_000).text == "read 200000 bytes"
        time.sleep(DEADLINE / 2)
        assert client.get("/?wait=%g" % (DEADLINE * 2.5)).status_code == 200  # answering takes past the deadline
        assert client.get("/").status_code == 200  # the same kept-alive connection, a new deadline


def test_connections_beyond_the_cap_are_closed_at_once(quick_server):
    held = [connect(quick_server) for _ in range(CAP)]
    try:
        time.sleep(0.1)
        with connect(quick_server) as extra:
            assert closed_after(extra) < DEADLINE / 2
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    with httpx.Client(timeout=5) as client:
        assert client.get(f"http://127.0.0.1:{quick_server}/").status_code == 200


def test_both_apps_cut_off_slow_clients_and_serve_the_rest(stack):
    """The real servers: half a request line to each is cut off within REQUEST_TIMEOUT; meanwhile (and after)
    both answer normal requests, including a long poll that outlasts the deadline."""
    slow = []
    for url in (stack.sandbox_url, stack.monitor_url):
        sock = connect(int(url.rsplit(":", 1)[1]))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(sock)
    started = time.monotonic()
    with httpx.Client(timeout=REQUEST_TIMEOUT + 10) as client:
        assert client.get(stack.monitor_url + "/healthz").status_code == 200
        poll = client.get(stack.sandbox_url + "/_sandbox/events/wait",
                          params={"timeout": REQUEST_TIMEOUT + 1, "dedup_key": "never"})
        assert poll.status_code == 408  # held past the deadline, answered in full
    for sock in slow:
        with sock:
            closed_after(sock)
    assert REQUEST_TIMEOUT - 1 < time.monotonic() - started < REQUEST_TIMEOUT + 4


def test_both_apps_keep_an_idle_connection_open_longer_than_clients_keep_theirs(stack):
    """A client that reuses a connection after 6 idle seconds (httpx keeps one 5 s) finds it open: at uvicorn's
    default of 5 s the server could close it as the client sends, and the client gets a bare ReadError."""
    connections = []
    for url, path in ((stack.sandbox_url, "/static/favicon.svg"), (stack.monitor_url, "/healthz")):
        conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=10)
        conn.request("GET", path)
        first = conn.getresponse()
        first.read()
        assert first.status == 200 and not first.will_close
        connections.append((conn, conn.sock, path))
    time.sleep(6)
    for conn, sock, path in connections:
        conn.request("GET", path)  # on the same socket: http.client reconnects only if it had closed it
        assert conn.sock is sock
        again = conn.getresponse()  # RemoteDisconnected if the server had closed the connection
        again.read()
        assert again.status == 200
        conn.close()
