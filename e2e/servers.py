"""Real server processes for the end-to-end suite: start on a free 127.0.0.1 port, wait until a URL answers,
fail fast with the server's own log, stop with SIGTERM (then SIGKILL), restart on the same port and database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


class ServerFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `condition` until it returns something truthy (returned), or raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
        except (httpx.HTTPError, OSError) as exc:
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


class ServerProcess:
    """One app (`python -m <module> serve …`) as a child process with its output in a log file."""

    def __init__(self, name: str, args: list[str], *, port: int, log_path: Path, ready_path: str = "/") -> None:
        self.name = name
        self.args = args
        self.port = port
        self.log_path = log_path
        self.ready_path = ready_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> ServerProcess:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {self.name}: {' '.join(self.args)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, *self.args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )
        try:
            wait_for(self._ready, timeout=READY_TIMEOUT, what=f"{self.name} at {self.url}{self.ready_path}")
        except (TimeoutError, ServerFailed) as exc:
            self.stop()
            raise ServerFailed(f"{self.name} did not come up: {exc}\n--- {self.name} log ---\n{self.log()}") from None
        return self

    def _ready(self) -> bool:
        if not self.running:
            raise ServerFailed(f"the process exited with code {self.process.returncode}")
        response = httpx.get(self.url + self.ready_path, timeout=2.0)
        return response.status_code < 500

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()
