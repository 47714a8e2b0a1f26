"""pytest fixtures for partner test suites, registered through the `pytest11` entry point.

- `fake_pagerduty`: a real sandbox process (HTTP and HTTPS on free 127.0.0.1 ports, temporary database,
  strict mode on), started once per session on first use and reset before each test that uses it.
- `fake_pagerduty_app`: an `httpx.AsyncClient` bound in-process to a fresh sandbox app (no ports); an async
  fixture, so it needs pytest-asyncio (any mode: it is declared with `pytest_asyncio.fixture`).
- `fake_pagerduty_serve_args` (session): extra `serve` flags; override it in your conftest.py to change them.

Nothing heavy is imported until a fixture is used, so suites that never ask for these pay nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SAMPLE_ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"  # the seeded "Acme Website" integration
SANDBOX_API_KEY = "sandbox-api-key-acme"
START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0
REST_ACCEPT = "application/vnd.pagerduty+json;version=2"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxProcess:
    """`python -m fake_pagerduty serve …` in a subprocess, on free ports, with its log in `workdir`."""

    def __init__(self, workdir: Path, extra_args: list[str] | tuple[str, ...] = ()) -> None:
        self.workdir = Path(workdir)
        self.extra_args = list(extra_args)
        self.port = self.https_port = 0
        self.log_path = self.workdir / "fake-pagerduty.log"
        self.ca_pem_path = self.workdir / "ca" / "ca.pem"
        self._process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start and wait until both listeners answer; RuntimeError with the server's log if they do not."""
        for _attempt in range(3):  # a free port can be taken between choosing it and binding it
            self._spawn()
            if self._wait_until_up(timeout):
                return
            exit_code = self._process.poll()
            lost_race = "address already in use" in self.log()
            self.stop()
            if not lost_race:
                break
        what = (f"exited with code {exit_code} before it came up" if exit_code is not None
                else f"did not come up within {timeout:g} s")
        raise RuntimeError(f"fake-pagerduty {what} ({' '.join(self._command())}); its log:\n{self.log()}")

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "fake_pagerduty", "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--https-port", str(self.https_port),
            "--db", str(self.workdir / "sandbox.db"), "--ca-dir", str(self.workdir / "ca"),
            *self.extra_args,
        ]

    def _spawn(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port, self.https_port = _free_port(), _free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=self.workdir,
            )

    def _wait_until_up(self, timeout: float) -> bool:
        """True once both listeners answer; False as soon as the process dies or the time is up."""
        import ssl

        import httpx

        deadline = time.monotonic() + timeout
        pending = [self.http_url, self.https_url]
        context: ssl.SSLContext | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if context is None and self.ca_pem_path.is_file():
                context = ssl.create_default_context(cafile=str(self.ca_pem_path))
            for url in list(pending):
                if url.startswith("https") and context is None:
                    continue
                try:
                    response = httpx.get(f"{url}/_sandbox/ca.pem", verify=context or True, timeout=1.0)
                except (httpx.TransportError, ssl.SSLError):
                    continue
                if response.status_code == 200:
                    pending.remove(url)
            if not pending:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class FakePagerDuty:
    """What a test gets from the `fake_pagerduty` fixture: the sandbox's URLs, keys, and its controls."""

    routing_key = SAMPLE_ROUTING_KEY
    api_key = SANDBOX_API_KEY

    def __init__(self, server: SandboxProcess) -> None:
        self.server = server
        self.url = server.http_url
        self.https_url = server.https_url
        self.ca_pem_path = server.ca_pem_path
        self.events_v1_url = f"{self.url}/generic/2010-04-15/create_event.json"
        self.events_v2_url = f"{self.url}/v2/enqueue"
        self.change_events_url = f"{self.url}/v2/change/enqueue"
        self.rest_url = f"{self.url}/api"
        self._client = None

    # ---- plumbing ----------------------------------------------------------------------------------------

    @property
    def client(self):
        """An `httpx.Client` for the sandbox's plain-HTTP address."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(base_url=self.url, timeout=30.0)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(self, method: str, path: str, **kwargs) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    @staticmethod
    def _listed(body: Any, key: str) -> list:
        return body[key] if isinstance(body, dict) and key in body else body

    # ---- controls ----------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded defaults: no incidents, empty journal, no faults, clock at real time."""
        self._call("POST", "/_sandbox/reset")

    def events(self, **filters: Any) -> list[dict]:
        """The events journal, newest first; filters: routing_key, dedup_key, outcome."""
        return self._listed(self._call("GET", "/_sandbox/events", params=filters), "events")

    def wait_for_event(self, timeout: float = 10.0, **filters: Any) -> dict:
        """The first journaled event matching `filters`, waiting up to `timeout` seconds for it."""
        params = {**filters, "timeout": timeout}
        response = self.client.get("/_sandbox/events/wait", params=params, timeout=timeout + 10.0)
        if response.status_code == 408:
            raise AssertionError(
                f"no event matching {filters} within {timeout:g} s; the journal holds: {self.events()}"
            )
        if response.status_code >= 400:
            raise AssertionError(f"GET /_sandbox/events/wait answered {response.status_code}: {response.text}")
        return self._listed(response.json(), "event")

    def incidents(self, **params: Any) -> list[dict]:
        """`GET /api/incidents` with the seeded API key (all statuses unless `statuses[]` is given)."""
        headers = {"Authorization": f"Token token={self.api_key}", "Accept": REST_ACCEPT}
        return self._call("GET", "/api/incidents", params=params, headers=headers)["incidents"]

    def add_fault(self, status: int = 500, *, count: int | None = 1, endpoint: str | None = None,
                  match: dict | None = None, **fields: Any) -> dict:
        """Make the next `count` matching requests fail with `status`, e.g. `add_fault(429, endpoint="v2")`."""
        selector = dict(match or {})
        if endpoint is not None:
            selector["endpoint"] = endpoint
        body = {"match": selector, "status": status, **fields}
        if count is not None:
            body["count"] = count
        return self._call("POST", "/_sandbox/faults", json=body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    def advance_clock(self, seconds: float) -> dict:
        """Move the sandbox clock forward (service timeouts fall due as if the time had passed)."""
        return self._call("POST", "/_sandbox/clock", json={"advance_seconds": seconds})


@pytest.fixture(scope="session")
def fake_pagerduty_serve_args() -> list[str]:
    """Extra flags for `fake-pagerduty serve`. Strict mode is on, so every journaled event lists its warnings."""
    return ["--strict"]


@pytest.fixture(scope="session")
def fake_pagerduty_server(tmp_path_factory, fake_pagerduty_serve_args) -> Iterator[SandboxProcess]:
    """One sandbox process for the whole session, started when a test first needs it."""
    server = SandboxProcess(tmp_path_factory.mktemp("fake-pagerduty"), fake_pagerduty_serve_args)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _fake_pagerduty_session(fake_pagerduty_server) -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty(fake_pagerduty_server)
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def fake_pagerduty(_fake_pagerduty_session) -> FakePagerDuty:
    """The session's sandbox, reset to its seeded defaults for this test."""
    _fake_pagerduty_session.reset()
    return _fake_pagerduty_session


def _asgi_client_fixture():
    async def fake_pagerduty_app():
        """An httpx.AsyncClient talking to a fresh, seeded sandbox app in-process (httpx.ASGITransport)."""
        import httpx

        from fake_pagerduty.app import create_app
        from fake_pagerduty.settings import Settings

        app = create_app(Settings(db_path=":memory:"))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://fake-pagerduty.test") as client:
                client.app = app  # for tests that want app.state (the store, the clock)
                yield client

    try:
        import pytest_asyncio
    except ImportError:
        @pytest.fixture
        def fake_pagerduty_app():
            pytest.skip("fake_pagerduty_app needs pytest-asyncio (pip install pytest-asyncio)")

        return fake_pagerduty_app
    return pytest_asyncio.fixture(fake_pagerduty_app)


fake_pagerduty_app = _asgi_client_fixture()
