"""pytest fixtures for partner test suites, registered through the `pytest11` entry point.

- `fake_pagerduty`: a real sandbox process (HTTP and HTTPS on free 127.0.0.1 ports, temporary database,
  strict mode on), started once per session on first use and reset before each test that uses it.
- `fake_pagerduty_app`: an `httpx.AsyncClient` bound in-process to a fresh sandbox app (no ports); the app
  runs in pytest-asyncio's session event loop, so it needs pytest-asyncio (any mode).
- `fake_pagerduty_serve_args` (session): extra `serve` flags; override it in your conftest.py to change them.

Nothing heavy is imported until a fixture is used, so suites that never ask for these pay nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_pagerduty.server_process import ServerProcess

SAMPLE_ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"  # the seeded "Acme Website" integration
SANDBOX_API_KEY = "sandbox-api-key-acme"
START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0
REST_ACCEPT = "application/vnd.pagerduty+json;version=2"


class SandboxProcess(ServerProcess):
    """`python -m fake_pagerduty serve …` in a subprocess, HTTP and HTTPS on free ports, its CA and log in
    `workdir`, its database in memory (fake_pagerduty/server_process.py: ports picked again if another process takes one meanwhile,
    RuntimeError with the server's log if it does not come up)."""

    def __init__(self, workdir: Path, extra_args: list[str] | tuple[str, ...] = ()) -> None:
        self.workdir = Path(workdir)
        self.extra_args = list(extra_args)
        super().__init__(
            "fake-pagerduty",
            ["-m", "fake_pagerduty", "serve", "--host", "127.0.0.1", "--port", "{port}", "--https-port", "{https_port}",
             "--db", ":memory:", "--ca-dir", str(self.workdir / "ca"),  # the database lives as long as the session
             "--sqlite-on-loop", *self.extra_args],  # one test client at a time: no threads, no writer process
            log_path=self.workdir / "fake-pagerduty.log", ready_path="/_sandbox/ca.pem", port=0, https_port=0,
            ca_pem_path=self.workdir / "ca" / "ca.pem", cwd=self.workdir,
            ready_timeout=START_TIMEOUT_SECONDS, stop_timeout=STOP_TIMEOUT_SECONDS,
        )

    @property
    def http_url(self) -> str:
        return self.url


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
        self._control = None  # http.client connection for the controls (see `_request`)

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
        if self._control is not None:
            self._control.close()
            self._control = None

    def _request(self, method: str, path: str, params: dict | None = None, json_body: Any = None,
                 headers: dict | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
        """The controls' own requests: http.client on a kept-alive connection (a third of httpx's cost per
        call, which a test pays at least for the reset), made again once on a new connection if the kept one
        was closed meanwhile (the server closes idle connections after a few seconds)."""
        import http.client
        import json
        from urllib.parse import urlencode

        if params:
            path += "?" + urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        body = None if json_body is None else json.dumps(json_body).encode()
        headers = {**(headers or {}), **({"Content-Type": "application/json"} if body is not None else {})}
        for attempt in (1, 2):
            if self._control is None:
                self._control = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
            self._control.timeout = timeout
            if self._control.sock is not None:
                self._control.sock.settimeout(timeout)
            try:
                self._control.request(method, path, body=body, headers=headers)
                response = self._control.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.CannotSendRequest) as exc:
                self._control.close()
                self._control = None
                if attempt == 2 or isinstance(exc, ConnectionRefusedError):
                    raise
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
              headers: dict | None = None) -> Any:
        import json as json_module

        status, content = self._request(method, path, params, json, headers)
        if status >= 400:
            raise AssertionError(f"{method} {path} answered {status}: {content.decode(errors='replace')}")
        return json_module.loads(content) if content else None

    @staticmethod
    def _listed(body: Any, key: str) -> list:
        return body[key] if isinstance(body, dict) and key in body else body

    # ---- controls ----------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded defaults (`POST /_sandbox/reset?full=true`): every table as seeded (no incidents,
        an empty journal, nothing a test added or changed), no faults, no rate limit, clock at real time."""
        self._call("POST", "/_sandbox/reset", params={"full": "true"})

    def events(self, **filters: Any) -> list[dict]:
        """The events journal, newest first; filters: routing_key, dedup_key, outcome."""
        return self._listed(self._call("GET", "/_sandbox/events", params=filters), "events")

    def wait_for_event(self, timeout: float = 10.0, **filters: Any) -> dict:
        """The first journaled event matching `filters`, waiting up to `timeout` seconds for it."""
        import json

        params = {**filters, "timeout": timeout}
        status, content = self._request("GET", "/_sandbox/events/wait", params, timeout=timeout + 10.0)
        if status == 408:
            raise AssertionError(
                f"no event matching {filters} within {timeout:g} s; the journal holds: {self.events()}"
            )
        if status >= 400:
            raise AssertionError(f"GET /_sandbox/events/wait answered {status}: {content.decode(errors='replace')}")
        return self._listed(json.loads(content), "event")

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

    def exam(self, drive: Any = None, *, routing_key: str | None = None, duration: float = 20.0, seed: int = 0,
             vendor_key: str | None = None, latency_ms: int | None = None, check: bool = True) -> dict:
        """Grade your integration (docs/grade-your-integration.md): start an exam for `routing_key` (the seeded
        one by default), call `drive()` (your code sending events: faults meet them meanwhile), wait for the
        grade and return the exam as `GET /_sandbox/exam/{id}` shows it. With `check`, any failed check raises
        AssertionError listing each with its reason and the journal entries that prove it."""
        from fake_pagerduty.exam_cli import ExamClient, failed, format_exam, patience

        client = ExamClient(self.url)
        try:
            exam = client.start(routing_key or self.routing_key, duration=duration, seed=seed, vendor_key=vendor_key,
                                latency_ms=latency_ms)
            if drive is not None:
                drive()
            exam = client.wait(exam, patience=patience(duration))
        finally:
            client.close()
        if check and failed(exam):
            raise AssertionError(format_exam(exam, self.url))
        return exam


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


IN_PROCESS_FIXTURE = "fake_pagerduty_app"
IN_PROCESS_LOOP_SCOPE = "session"
IN_PROCESS_HOST = "fake-pagerduty.test"


_IN_PROCESS_CLASSES: list = []  # (transport, client) classes, made on first use (httpx is imported only then)
_MERGED_URLS: dict = {}  # (base URL, URL as the test wrote it) -> httpx.URL as httpx merged them
MERGED_URLS_KEPT = 1024


def sets_cookies(response: Any) -> bool:
    """Whether an httpx answer sets a cookie: otherwise `http.cookiejar` would look at it (a urllib request and
    response built around it) and store nothing. Its default policy ignores Set-Cookie2."""
    return "set-cookie" in response.headers


def _in_process_classes() -> tuple[type, type]:
    """The in-process fixture's transport and client classes:

    - an httpx.ASGITransport to the app, refusing (clearly, instead of hanging) calls made from another event
      loop than the one its lifespan runs in;
    - an httpx.AsyncClient whose cookies are read from a response only when it sets some: `http.cookiejar`
      looks at every response otherwise (a urllib request and response built around it, ~0.03 ms a request
      here, a tenth of an in-process request), and finds nothing in most;
    - and that keeps, for the session, the URL httpx made of each URL string and base URL it was given (a
      test's few paths, again and again): httpx parses both and the merge again at every request, ~0.03 ms
      of its ~0.055 ms to build one. `build_request` is given the URL httpx itself made the first time.
    """
    if not _IN_PROCESS_CLASSES:
        import asyncio

        import httpx

        class SameLoopTransport(httpx.ASGITransport):
            def __init__(self, app, loop) -> None:
                super().__init__(app=app)
                self.loop = loop

            async def handle_async_request(self, request):
                if asyncio.get_running_loop() is not self.loop:
                    raise RuntimeError(
                        f"{IN_PROCESS_FIXTURE} was used from another event loop than pytest-asyncio's session"
                        " loop, where the sandbox app runs: give async fixtures that use it"
                        " loop_scope=\"session\" (or set asyncio_default_fixture_loop_scope = session), and leave"
                        " the test's own loop scope unset")
                return await super().handle_async_request(request)

        class SetCookies(httpx.Cookies):
            def extract_cookies(self, response) -> None:
                if sets_cookies(response):
                    super().extract_cookies(response)

        class InProcessClient(httpx.AsyncClient):
            BASE_URL = httpx.URL(f"http://{IN_PROCESS_HOST}")  # parsed once: half of a new client's cost

            def __init__(self, *args, cookies=None, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                self.cookies = cookies

            def build_request(self, method, url, **kwargs):
                if isinstance(url, str):  # its merge with base_url, as httpx made it the first time
                    key = (str(self.base_url), url)
                    merged = _MERGED_URLS.get(key)
                    if merged is None:
                        if len(_MERGED_URLS) >= MERGED_URLS_KEPT:
                            _MERGED_URLS.clear()
                        merged = _MERGED_URLS[key] = super().build_request("GET", url).url
                    url = merged
                return super().build_request(method, url, **kwargs)

            @property
            def cookies(self) -> httpx.Cookies:
                return self._set_cookies

            @cookies.setter
            def cookies(self, cookies) -> None:
                self._set_cookies = SetCookies(cookies)

        _IN_PROCESS_CLASSES.extend((SameLoopTransport, InProcessClient))
    return _IN_PROCESS_CLASSES[0], _IN_PROCESS_CLASSES[1]


def _freeze_long_lived() -> bool:
    """Once the session's app is up: every object the process holds (the app, its modules, pytest's collected
    tests) is left out of the garbage collector's full passes (`gc.freeze`) until the session's end, when it is
    given back (`gc.unfreeze`). They live the whole session, and with the app the heap is ~100,000 objects that
    each full pass walked again (~50 ms, about one pass per 150 tests of the partner loop: ~0.3 ms a test).
    Only when the collector is on and nothing else froze objects (their freeze stays theirs). Returns whether
    it froze."""
    if not gc.isenabled() or gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def _in_process_fixtures():
    """`fake_pagerduty_app`: one app per session, reset as new before each test. Tests that use it run in
    pytest-asyncio's session event loop (see `pytest_collection_modifyitems`), where the app's lifespan runs."""
    try:
        import pytest_asyncio
    except ImportError:
        @pytest.fixture
        def fake_pagerduty_app():
            pytest.skip("fake_pagerduty_app needs pytest-asyncio (pip install pytest-asyncio)")

        return None, fake_pagerduty_app

    @pytest_asyncio.fixture(scope="session", loop_scope=IN_PROCESS_LOOP_SCOPE)
    async def _fake_pagerduty_in_process():
        """The session's sandbox app, and the event loop it runs in (pytest-asyncio's session loop)."""
        import asyncio

        from fake_pagerduty.reset import SandboxApp
        from fake_pagerduty.settings import Settings

        # the client's made-up name is one the app answers at (its Host check, against DNS rebinding)
        settings = Settings(db_path=":memory:", allowed_hosts=(IN_PROCESS_HOST,))
        async with SandboxApp(settings) as sandbox:
            frozen = _freeze_long_lived()
            try:
                yield sandbox, asyncio.get_running_loop()
            finally:
                if frozen:
                    gc.unfreeze()

    @pytest.fixture
    def fake_pagerduty_app(_fake_pagerduty_in_process):
        """An httpx.AsyncClient talking in-process (httpx.ASGITransport) to the session's sandbox app, reset to
        what a new app would be: seeded defaults, ids from 1, every in-memory control back to new.

        A plain fixture that runs the reset in the app's loop, between tests (when that loop is not running):
        pytest-asyncio runs an async fixture's setup and teardown each as a task of their own, ~0.15 ms a test
        more (docs/benchmarks.md, eighth pass). An in-process client holds nothing to close."""
        sandbox, loop = _fake_pagerduty_in_process
        loop.run_until_complete(sandbox.reset())
        transport_class, client_class = _in_process_classes()
        client = client_class(transport=transport_class(sandbox.app, loop), base_url=client_class.BASE_URL)
        client.app = sandbox.app  # for tests that want app.state (the store, the clock)
        return client

    return _fake_pagerduty_in_process, fake_pagerduty_app


_fake_pagerduty_in_process, fake_pagerduty_app = _in_process_fixtures()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Tests that use `fake_pagerduty_app` run in pytest-asyncio's session loop, where the session's app runs,
    unless they chose a loop scope themselves."""
    for item in items:
        if IN_PROCESS_FIXTURE not in getattr(item, "fixturenames", ()):
            continue
        marker = item.get_closest_marker("asyncio")
        if marker is not None and not (marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")):
            item.add_marker(pytest.mark.asyncio(loop_scope=IN_PROCESS_LOOP_SCOPE), append=False)
