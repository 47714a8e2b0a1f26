"""fake_pagerduty/server_process.py with a tiny child server (http.server): free ports and the port race, ready
only when the child's own listener answers, failing fast with the log, restarts on the same port, and stopping
the whole process group."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fake_pagerduty import server_process
from fake_pagerduty.server_process import PortTaken, ServerFailed, ServerProcess, start_together

CHILD = r"""
import os, subprocess, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, grandchild_pid_file = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None
if grandchild_pid_file:  # a grandchild that ignores SIGTERM: only SIGKILL to the group ends it
    grandchild = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
    open(grandchild_pid_file, "w").write(str(grandchild.pid))

class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"child {os.getpid()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", port), Answer)  # a port taken: OSError, "Address already in use"
print("listening on", port, flush=True)
server.serve_forever()
"""


def child(tmp_path, *extra: str, **options) -> ServerProcess:
    return ServerProcess("tiny", ["-c", CHILD, "{port}", *extra], log_path=tmp_path / "tiny.log", **options)


def get(server: ServerProcess) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.fixture
def picks_first(monkeypatch):
    """Make the helper's next pick of ports start with the given ones (then free ones as usual)."""

    def rig(*ports: int) -> None:
        queue, real = list(ports), server_process.free_ports

        def free_ports(count: int = 1) -> list[int]:
            picked = [queue.pop(0) for _ in range(min(count, len(queue)))]
            return picked + real(count - len(picked))

        monkeypatch.setattr(server_process, "free_ports", free_ports)

    return rig


def test_starts_on_a_free_port_answers_and_stops(tmp_path):
    server = child(tmp_path).start()
    try:
        assert server.running and server.port > 0
        assert get(server) == f"child {server.process.pid}"
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert f"listening on {server.port}" in server.log()
    finally:
        server.stop()
    assert not server.running and server.process is None


def test_free_ports_are_different():
    ports = server_process.free_ports(5)
    assert len(set(ports)) == 5


def test_a_port_taken_meanwhile_is_picked_again(tmp_path, picks_first):
    with socket.socket() as held:  # bound, not listening: the child's bind fails
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        picks_first(taken)
        server = child(tmp_path).start()
        try:
            assert server.port != taken
            assert get(server) == f"child {server.process.pid}"
            assert "address already in use" in server.log().lower()  # the first attempt's, kept in the log
        finally:
            server.stop()


def test_another_server_on_the_picked_port_is_not_taken_for_the_child(tmp_path, picks_first):
    class Impostor(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"impostor")

        def log_message(self, *args):
            pass

    impostor = ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    try:
        picks_first(impostor.server_port)
        server = child(tmp_path).start()
        try:
            assert server.port != impostor.server_port
            assert get(server) == f"child {server.process.pid}"
        finally:
            server.stop()
    finally:
        impostor.shutdown()
        impostor.server_close()


def test_a_child_that_exits_at_once_fails_fast_with_its_log(tmp_path):
    server = ServerProcess("broken", ["-c", "import sys; print('cannot read the config'); sys.exit(3)"],
                           log_path=tmp_path / "broken.log")
    started = time.monotonic()
    with pytest.raises(ServerFailed) as failure:
        server.start()
    assert time.monotonic() - started < 10
    assert not isinstance(failure.value, PortTaken)
    message = str(failure.value)
    assert message.startswith("broken exited with code 3 before it came up (")
    assert message.endswith("its log:\n" + server.log()) and "cannot read the config" in message
    assert not server.running and server.port == 0  # a later start picks again


def test_a_child_that_never_answers_fails_after_the_timeout_and_is_stopped(tmp_path):
    server = ServerProcess("silent", ["-c", "import time; print('thinking'); time.sleep(60)"],
                           log_path=tmp_path / "silent.log", ready_timeout=0.5, stop_timeout=2)
    with pytest.raises(ServerFailed, match=r"(?s)silent did not come up within 0.5 s .*thinking"):
        server.start()
    assert not server.running


def test_restart_keeps_the_port_and_the_log(tmp_path):
    server = child(tmp_path).start()
    try:
        port, first = server.port, server.process.pid
        server.restart()
        assert server.port == port and server.process.pid != first
        assert get(server) == f"child {server.process.pid}"
        assert server.log().count("=== tiny:") == 2
    finally:
        server.stop()


def test_a_start_again_says_so_when_another_process_took_the_port(tmp_path, monkeypatch):
    monkeypatch.setattr(server_process, "PORT_FREE_WAIT", 0.3)
    server = child(tmp_path).start()
    server.stop()
    with socket.socket() as thief:
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        thief.bind(("127.0.0.1", server.port))
        thief.listen()
        with pytest.raises(PortTaken, match=f"tiny cannot start again on port {server.port}: another process took it"):
            server.start()
    assert not server.running


def test_stop_ends_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    server = child(tmp_path, str(pid_file), stop_timeout=1).start()
    grandchild = int(pid_file.read_text())
    assert alive(grandchild)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:  # killed; reaped by init
        time.sleep(0.05)
    assert not alive(grandchild)


PARENT = r"""
import signal, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, marker = int(sys.argv[1]), sys.argv[2]
# a worker that notes a SIGTERM and otherwise ends when its parent closes its stdin
worker = subprocess.Popen([sys.executable, "-c", "import signal, sys\n"
    f"signal.signal(signal.SIGTERM, lambda *_: (open({marker!r}, 'w').write('signalled'), sys.exit(1)))\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
worker.stdout.readline()  # its handler is in place

def stop(*_):
    worker.stdin.close()
    worker.wait()
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)

class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

server = HTTPServer(("127.0.0.1", port), Answer)
server.serve_forever()
"""


def test_stop_signals_the_server_and_leaves_its_children_to_it(tmp_path):
    """The sandbox stops its events writer itself; signalled with it, the writer died under a sandbox still
    shutting down, which started another."""
    marker = tmp_path / "worker-signalled"
    server = ServerProcess("parent", ["-c", PARENT, "{port}", str(marker)], log_path=tmp_path / "parent.log").start()
    group = server.process.pid
    server.stop()
    assert not server_process._group_alive(group)
    assert not marker.exists(), "the server's worker got the SIGTERM meant for the server"


def test_kill_is_kill_9_of_the_group_and_a_start_after_it_keeps_the_port(tmp_path):
    server = child(tmp_path).start()
    try:
        port, process = server.port, server.process
        server.kill()
        assert process.returncode == -9 and server.process is None
        server.start()
        assert server.port == port and get(server) == f"child {server.process.pid}"
    finally:
        server.stop()


def test_start_together_picks_every_port_again_when_one_was_taken(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        builds: list[list[ServerProcess]] = []

        def build() -> list[ServerProcess]:
            first, second = server_process.free_ports(2) if builds else (server_process.free_ports(1)[0], taken)
            servers = [child(tmp_path / f"{len(builds)}a", port=first), child(tmp_path / f"{len(builds)}b", port=second)]
            builds.append(servers)
            return servers

        servers = start_together(build)
        try:
            assert len(builds) == 2 and not any(s.running for s in builds[0])
            assert all(s.running for s in servers) and taken not in (servers[0].port, servers[1].port)
        finally:
            for server in servers:
                server.stop()


WAITS_FOR = r"""
import os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, started, waits_for = int(sys.argv[1]), sys.argv[2], sys.argv[3]
open(started, "w").close()
while waits_for != "-" and not os.path.exists(waits_for):
    time.sleep(0.02)

class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

HTTPServer(("127.0.0.1", port), Answer).serve_forever()
"""


def test_start_together_starts_each_server_before_waiting_for_any(tmp_path):
    """The first server comes up only once the second has started: one after the other, it never would."""
    def server(name: str, waits_for: str, port: int) -> ServerProcess:
        return ServerProcess(name, ["-c", WAITS_FOR, "{port}", str(tmp_path / f"{name}.started"), waits_for],
                             port=port, log_path=tmp_path / f"{name}.log", ready_timeout=10)

    def build() -> list[ServerProcess]:
        first, second = server_process.free_ports(2)
        return [server("first", str(tmp_path / "second.started"), first), server("second", "-", second)]

    servers = start_together(build)
    try:
        assert all(s.running for s in servers)
    finally:
        for s in servers:
            s.stop()


def test_start_together_does_not_retry_other_failures(tmp_path):
    calls = []

    def build() -> list[ServerProcess]:
        calls.append(1)
        return [child(tmp_path / "ok"), ServerProcess("broken", ["-c", "raise SystemExit(2)"],
                                                      log_path=tmp_path / "broken.log")]

    with pytest.raises(ServerFailed, match="broken exited with code 2"):
        start_together(build)
    assert len(calls) == 1


def test_the_child_inherits_the_environment_at_start(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVER_PROCESS_TEST", "set at start")
    server = ServerProcess("env", ["-c", "import os, sys; print(os.environ['SERVER_PROCESS_TEST']); sys.exit(1)"],
                           log_path=tmp_path / "env.log")
    with pytest.raises(ServerFailed, match="set at start"):
        server.start()
    assert os.environ["SERVER_PROCESS_TEST"] == "set at start"
