"""A server as a child process, for tests: the pytest plugin's sandbox and the end-to-end suite's apps.

`python -m <module> serve …` (any argv) in its own process group, output to a log file, on free 127.0.0.1 ports:
- ports: `{port}` and `{https_port}` in the args stand for the ports. A port given as 0 is picked at start; when
  the child fails because another process took it meanwhile ("address already in use"), it starts again on
  newly picked ports. Once up, the ports are kept: `start()` after `stop()` (or `restart()`) uses the same ones,
  waiting a little for them to come free, and raises `PortTaken` if another process holds one.
- ready: once `ready_path` answers (below 500) over HTTP, and over HTTPS too when there is an HTTPS port (trusting
  the CA in `ca_pem_path` once the server has written it), from a listener that is the child's own.
- fails fast: `ServerFailed` with the server's own log as soon as the child exits or the time is up.
- stop: SIGTERM to the whole group, SIGKILL after `stop_timeout`; `kill()` is `kill -9` of the group.

Servers that must know each other's ports before they start use `start_together`.

Standard library only (the plugin imports this module, and must load nothing heavy)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 3  # starts on newly picked ports when another process takes one meanwhile
PORT_FREE_WAIT = 5.0  # how long a start on kept ports waits for them to come free
PORT_TAKEN = "address already in use"  # uvicorn's words (and the OS's) when a bind fails


class ServerFailed(RuntimeError):
    """The server did not come up; the message ends with its log."""


class PortTaken(ServerFailed):
    """The server could not bind its port: another process holds it."""


def free_ports(count: int = 1) -> list[int]:
    """`count` different ports free on 127.0.0.1 now (nothing holds them: bind them soon, and retry if one is
    taken meanwhile)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return ports


def bound_socket() -> socket.socket:
    """A socket bound to a free 127.0.0.1 port, not yet listening: for servers in this process (pass it to
    `uvicorn.Server.run(sockets=[…])` or listen on it yourself), so no other process can take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    return sock


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _group_pids(group: int) -> list[str] | None:
    """The live (not zombie) processes of process group `group`, from Linux's /proc; None where it cannot tell."""
    if not os.path.isdir("/proc/self"):
        return None
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, IndexError, ValueError), open(f"/proc/{pid}/stat") as stat:
            state, _ppid, pgrp = stat.read().rsplit(")", 1)[1].split()[:3]
            if int(pgrp) == group and state not in "ZX":
                pids.append(pid)
    return pids


def _group_alive(group: int) -> bool:
    pids = _group_pids(group)
    if pids is not None:
        return bool(pids)
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _listens(group: int, port: int) -> bool | None:
    """Whether a process of process group `group` holds the socket listening on `port` (Linux's /proc); None
    where it cannot tell."""
    pids = _group_pids(group)
    if pids is None:
        return None
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError, IndexError, ValueError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    listening.add(f"socket:[{fields[9]}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in listening:
                        return True
    return False


class ServerProcess:
    """One server, `[sys.executable, *args]`, as a child process in its own process group (see the module)."""

    def __init__(self, name: str, args: Sequence[str], *, log_path: Path, ready_path: str = "/", port: int = 0,
                 https_port: int | None = None, ca_pem_path: Path | None = None, cwd: Path | None = None,
                 ready_timeout: float = READY_TIMEOUT, stop_timeout: float = STOP_TIMEOUT) -> None:
        self.name = name
        self.args = list(args)
        self.log_path = Path(log_path)
        self.ready_path = ready_path
        self.port = port
        self.https_port = https_port
        self.ca_pem_path = ca_pem_path
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen | None = None
        self._log_start = 0  # where this run's output begins in the log
        self._came_up = False  # on these ports, once

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def https_url(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """The whole log: every run of this server."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def command(self) -> list[str]:
        """The child's argv: `{port}` and `{https_port}` in the args stand for the ports."""
        return [sys.executable, *(arg.replace("{port}", str(self.port)).replace("{https_port}", str(self.https_port))
                                  for arg in self.args)]

    # ---- starting ---------------------------------------------------------------------------------------

    def start(self) -> ServerProcess:
        """Start and wait until it is ready (see the module); ServerFailed, with its log, if it does not come up."""
        if self.running:
            raise ServerFailed(f"{self.name} is already running")
        chosen = [name for name in self._port_names() if not getattr(self, name)]
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._launch()
                self._ready()
                return self
            except BaseException as exc:
                self.stop()
                for name in chosen:  # the next attempt, or a later start, picks again
                    setattr(self, name, 0)
                if chosen and isinstance(exc, PortTaken) and attempt < PORT_ATTEMPTS:
                    continue  # another process took a picked port meanwhile: pick again
                raise
        raise AssertionError("unreachable")

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def _port_names(self) -> list[str]:
        names = ["port"] + (["https_port"] if self.https_port is not None else [])
        if 0 < sum(1 for name in names if not getattr(self, name)) < len(names):
            raise ValueError("give every port, or none (0: picked at start)")
        return names

    def _launch(self) -> None:
        """A start's first half: ports picked (0) or checked (taken: PortTaken), the child started."""
        if self.running:
            raise ServerFailed(f"{self.name} is already running")
        names = self._port_names()
        chosen = [name for name in names if not getattr(self, name)]
        for name, port in zip(chosen, free_ports(len(chosen)), strict=True):
            setattr(self, name, port)
        if not chosen:
            self._wait_for_ports([getattr(self, name) for name in names])
        self._spawn()

    def _ready(self) -> None:
        """A start's second half: wait until it is ready (see the module)."""
        self._wait_until_ready()
        self._came_up = True

    def _wait_for_ports(self, ports: list[int]) -> None:
        """Given ports: taken ones fail at once; on a start again (same ports, clients know them), after waiting a
        little for them to come free."""
        deadline = time.monotonic() + (PORT_FREE_WAIT if self._came_up else 0)
        while not all(_port_is_free(port) for port in ports):
            if time.monotonic() > deadline:
                taken = ", ".join(str(port) for port in ports if not _port_is_free(port))
                if self._came_up:
                    raise PortTaken(f"{self.name} cannot start again on port {taken}: another process took it"
                                    f" while {self.name} was stopped")
                raise PortTaken(f"{self.name} cannot start on port {taken}: another process holds it")
            time.sleep(0.1)

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self._log_start = log.tell()
            log.write(f"\n=== {self.name}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=self.cwd, start_new_session=True,
            )

    def _this_run(self) -> str:
        with contextlib.suppress(FileNotFoundError), self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode("utf-8", errors="replace")
        return ""

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        pending = [(self.port, False)] + ([(self.https_port, True)] if self.https_port is not None else [])
        while pending:
            if not self.running:
                code = self.process.returncode
                failure = PortTaken if PORT_TAKEN in self._this_run().lower() else ServerFailed
                raise failure(self._failure(f"exited with code {code} before it came up"))
            if time.monotonic() > deadline:
                self.stop()
                raise ServerFailed(self._failure(f"did not come up within {self.ready_timeout:g} s"))
            pending = [(port, https) for port, https in pending if not self._answers(port, https)]
            if pending:
                time.sleep(0.05)

    def _answers(self, port: int, https: bool) -> bool:
        """`ready_path` answers below 500 on `port`, from the child's own listener (not another process's that
        took the port meanwhile)."""
        import http.client
        import ssl

        if https:
            if self.ca_pem_path is None or not self.ca_pem_path.is_file():
                return False
            connection = http.client.HTTPSConnection(
                HOST, port, timeout=2.0, context=ssl.create_default_context(cafile=str(self.ca_pem_path)))
        else:
            connection = http.client.HTTPConnection(HOST, port, timeout=2.0)
        try:
            connection.request("GET", self.ready_path)
            answered = connection.getresponse().status < 500
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()
        return answered and _listens(self.process.pid, port) is not False

    def _failure(self, what: str) -> str:
        return f"{self.name} {what} ({' '.join(self.command())}); its log:\n{self.log()}"

    # ---- stopping ---------------------------------------------------------------------------------------

    def stop(self) -> None:
        """SIGTERM to the server, then to what is left of its process group once it has exited; SIGKILL to what
        is left after `stop_timeout` seconds. The server first: its children are its own to stop (signalled
        with it, the sandbox's events writer died under a sandbox still shutting down, which started another)."""
        process, self.process = self.process, None
        if process is None:
            return
        group = process.pid
        deadline = time.monotonic() + self.stop_timeout
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            pass
        if _group_alive(group):  # children it left behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._kill_group(process)

    def kill(self) -> None:
        """`kill -9` the whole process group, as a crash would."""
        process, self.process = self.process, None
        if process is not None:
            self._kill_group(process)

    @staticmethod
    def _kill_group(process: subprocess.Popen) -> None:
        if _group_alive(process.pid):  # while the group has members, its id cannot go to another process
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()



def start_together(build: Callable[[], Sequence[ServerProcess]],
                   attempts: int = PORT_ATTEMPTS) -> list[ServerProcess]:
    """Servers that must know each other's ports before they start: `build` picks the ports (`free_ports`)
    and makes the servers; they start at the same time (each waits for none of the others: their starts
    overlap), and when one finds its port taken by another process meanwhile, all stop and `build` picks
    again. Returns the running servers, once every one is ready."""
    for attempt in range(1, attempts + 1):
        servers = list(build())
        try:
            for server in servers:
                server._launch()
            for server in servers:
                server._ready()
            return servers
        except PortTaken:
            for server in reversed(servers):
                server.stop()
            if attempt == attempts:
                raise
        except BaseException:
            for server in reversed(servers):
                server.stop()
            raise
    raise AssertionError("unreachable")
