"""End-to-end fixtures: the sandbox and the monitor as real uvicorn processes on free ports with fresh databases,
wired to each other, and a headless Chromium driven through Playwright's sync API.

Artifacts go to test-artifacts/ (or $E2E_ARTIFACTS): on failure a screenshot and both servers' logs per test
under failures/<test>/, and on every run the demo's key screens under screens/ (see `screens`)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from e2e.browser import find_chromium
from e2e.servers import wait_for
from fake_pagerduty.server_process import ServerFailed, ServerProcess, free_ports, start_together

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "test-artifacts")).resolve()
TIMEOUT_MS = 15_000
MONITOR_TICK_SECONDS = "0.5"

EMAIL = "demo@acme.test"
PASSWORD = "demo"
API_KEY = "sandbox-api-key-acme"
REST_HEADERS = {"Authorization": f"Token token={API_KEY}", "Accept": "application/vnd.pagerduty+json;version=2"}
WEBHOOK_SECRET = "demo-webhook-secret"

expect.set_options(timeout=TIMEOUT_MS)


# -- artifacts ----------------------------------------------------------------------------------------------

phase_reports = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(phase_reports, {})[report.when] = report
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(phase_reports, {})
    return any(r.failed for r in reports.values())


def _test_dir(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    path = ARTIFACTS / "failures" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_sessionstart(session):
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: the controller has cleaned up already
        return
    for sub in ("failures", "screens"):
        shutil.rmtree(ARTIFACTS / sub, ignore_errors=True)


# The files that take longest (waiting or CPU), longest first. scripts/test runs the suite on pytest-xdist with
# `--dist loadfile --no-loadscope-reorder`: a whole file per worker, handed out in collection order, so these start
# at once (longest processing time first) and the short files fill the gaps; a long file handed out last would
# run alone at the end. Measured with --durations (docs/benchmarks.md, eighth pass); a file not named here keeps
# its place. e2e/test_on_workers.py checks that each still exists.
RUN_FIRST = (
    "test_read_your_writes.py",
    "test_exam.py",
    "test_slow_clients.py",
    "test_xss.py",
    "test_http_hardening.py",
    "test_monitor_resend.py",
    "test_webhook_durability.py",
)


@pytest.fixture(scope="session", autouse=True)
def _children_keep_their_bytecode(tmp_path_factory: pytest.TempPathFactory, pytestconfig) -> Iterator[None]:
    """The servers and pytest runs the suite starts keep the bytecode they compile, in one folder of this run's
    temporary directory (shared by the workers; never in the tree), where PYTHONDONTWRITEBYTECODE had every start
    compile the project again: ~0.2 CPU-seconds less a sandbox start, ~0.1 a monitor's, after the first
    (docs/benchmarks.md, ninth pass)."""
    root = tmp_path_factory.getbasetemp()
    if hasattr(pytestconfig, "workerinput"):  # a pytest-xdist worker: its base is one folder of the run's
        root = root.parent
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPYCACHEPREFIX", str(root / "pycache"))
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        yield


def pytest_collection_modifyitems(items):
    """The fast tier first, whatever the order on the command line (`pytest e2e tests` too): the session's
    Playwright browser (sync API) keeps an event loop running on the main thread, and pytest-asyncio cannot
    start its own loop there afterwards. Then the e2e files of RUN_FIRST, whole, each file's own order kept."""
    e2e_dir = Path(__file__).parent
    rank = {name: n for n, name in enumerate(RUN_FIRST)}

    def key(item: pytest.Item) -> tuple[bool, int]:
        path = Path(item.path)
        in_e2e = path.is_relative_to(e2e_dir)
        return in_e2e, (rank.get(path.name, len(rank)) if path.parent == e2e_dir else len(rank))

    items.sort(key=key)


def pytest_terminal_summary(terminalreporter):
    if (ARTIFACTS / "failures").exists() or (ARTIFACTS / "screens").exists():
        terminalreporter.write_line(f"e2e artifacts (screenshots, server logs): {ARTIFACTS}")


class Screens:
    """Screenshots of the demo's key screens, for people to look at: test-artifacts/screens/<name>.png."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def take(self, page: Page, name: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.directory / f"{name}.png"))


@pytest.fixture
def screens() -> Screens:
    return Screens(ARTIFACTS / "screens")


# -- browser ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    chromium = find_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium.launch_options())
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    if _failed(request):
        try:
            page.screenshot(path=str(_test_dir(request) / "screenshot.png"), full_page=True)
            (_test_dir(request) / "page-url.txt").write_text(page.url + "\n")
        except Exception as exc:  # a crashed page must not hide the test's own failure
            (_test_dir(request) / "screenshot-error.txt").write_text(repr(exc))
    context.close()


TABS_AT_ONCE = 4  # Chromium opens at most 6 connections to one host, and each monitor page keeps one (its EventSource)


def in_tabs(page: Page, urls: list[str], *, prepare: Callable[[Page], None] | None = None,
            wait_until: str = "load") -> Iterator[list[tuple[str, Page]]]:
    """The URLs in tabs of `page`'s context (its cookies: a signed-in person's), TABS_AT_ONCE loading at once:
    yields each batch, (url, tab) pairs, once every tab of it reached `wait_until`, and closes it when the caller
    asks for the next. A walk over many pages waits for a few at a time, not for each in turn. `prepare(tab)`
    runs before the tab navigates (listeners for dialogs or console messages)."""
    for first in range(0, len(urls), TABS_AT_ONCE):
        tabs = []
        try:
            for url in urls[first:first + TABS_AT_ONCE]:
                tab = page.context.new_page()
                tabs.append(tab)
                if prepare is not None:
                    prepare(tab)
                tab.goto(url, wait_until="commit")
            for tab in tabs:
                tab.wait_for_load_state(wait_until)
            yield list(zip(urls[first:first + TABS_AT_ONCE], tabs, strict=True))
        finally:
            for tab in tabs:
                tab.close()


# -- servers ------------------------------------------------------------------------------------------------

@dataclass
class Stack:
    """The sandbox and the monitor, running and wired: the sandbox's demo-monitor partner app posts its
    webhooks to this monitor, and the monitor's PagerDuty is this sandbox."""

    sandbox: ServerProcess
    monitor: ServerProcess

    @property
    def sandbox_url(self) -> str:
        return self.sandbox.url

    @property
    def monitor_url(self) -> str:
        return self.monitor.url

    def monitor_json(self, path: str) -> dict:
        response = httpx.get(self.monitor_url + path, timeout=5)
        response.raise_for_status()
        return response.json()

    def sandbox_rest(self, path: str, **params) -> dict:
        response = httpx.get(f"{self.sandbox_url}/api{path}", headers=REST_HEADERS, params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def incident(self, incident_key: str) -> dict:
        """The sandbox's one incident with this key (REST API)."""
        incidents = self.sandbox_rest("/incidents", incident_key=incident_key)["incidents"]
        assert len(incidents) == 1, incidents
        return incidents[0]

    def set_fault(self, server: str, metric: str, value: float) -> None:
        response = httpx.post(f"{self.monitor_url}/api/servers/{server}/fault",
                              json={"metric": metric, "value": value}, timeout=5)
        assert response.status_code == 200, response.text

    def clear_fault(self, server: str) -> None:
        response = httpx.delete(f"{self.monitor_url}/api/servers/{server}/fault", timeout=5)
        assert response.status_code == 200, response.text

    def alerts(self, server: str | None = None) -> list[dict]:
        alerts = self.monitor_json("/api/alerts")["alerts"]
        return [a for a in alerts if server is None or a["server"] == server]

    def wait_for_alert(self, server: str, condition, what: str, timeout: float = 20) -> dict:
        def find():
            return next((a for a in self.alerts(server) if condition(a)), None)

        return wait_for(find, timeout=timeout, what=f"{what} (server {server})")


def delivery(alert: dict, event_type: str) -> dict | None:
    """The monitor's outbox row for the alert's `event_type` event (trigger, acknowledge, resolve)."""
    return next((e for e in alert["events"] if e["event_type"] == event_type), None)


def delivered(alert: dict, event_type: str) -> bool:
    return (delivery(alert, event_type) or {}).get("status") == "sent"


def _seed_file(directory: Path, monitor_url: str) -> Path:
    path = directory / "sandbox-seed.json"
    path.write_text(json.dumps({
        "partner_apps": [{
            "vendor_key": "demo-monitor",
            "app_id": "PDEMOMN",
            "name": "Demo Monitor",
            "webhook_url": f"{monitor_url}/integrations/pagerduty/webhook",
            "webhook_secret": WEBHOOK_SECRET,
        }]
    }))
    return path


def sandbox_process(directory: Path, port: int, monitor_port: int) -> ServerProcess:
    seed = _seed_file(directory, f"http://127.0.0.1:{monitor_port}")
    return ServerProcess(
        "sandbox",
        ["-m", "fake_pagerduty", "serve", "--host", "127.0.0.1", "--port", "{port}",
         "--db", str(directory / "sandbox.db"), "--seed", str(seed)],
        port=port, log_path=directory / "sandbox.log", ready_path="/",
    )


def monitor_process(directory: Path, port: int, sandbox_port: int) -> ServerProcess:
    return ServerProcess(
        "monitor",
        ["-m", "demo_monitor", "serve", "--host", "127.0.0.1", "--port", "{port}",
         "--db", str(directory / "monitor.db"), "--pagerduty-url", f"http://127.0.0.1:{sandbox_port}",
         "--public-url", "http://127.0.0.1:{port}", "--tick-interval", MONITOR_TICK_SECONDS],
        port=port, log_path=directory / "monitor.log", ready_path="/healthz",
    )


def _wired(directory: Path, *, with_monitor: bool) -> Callable[[], list[ServerProcess]]:
    """Builds the sandbox (and the monitor) on newly picked ports, wired to each other, on fresh databases: what
    `start_together` calls again when another process took a port meanwhile (the seed names the monitor's port,
    the monitor the sandbox's). Alone, the sandbox's webhooks go to a port nobody listens on."""

    def build() -> list[ServerProcess]:
        for name in ("sandbox.db", "monitor.db"):  # a first attempt's, seeded with its ports
            for path in directory.glob(name + "*"):
                path.unlink()
        sandbox_port, monitor_port = free_ports(2)
        sandbox = sandbox_process(directory, sandbox_port, monitor_port)
        return [sandbox, monitor_process(directory, monitor_port, sandbox_port)] if with_monitor else [sandbox]

    return build


@contextlib.contextmanager
def _running(request: pytest.FixtureRequest, build: Callable[[], list[ServerProcess]]) -> Iterator[list[ServerProcess]]:
    """Start the servers `build` makes, in order (picking their ports again on a race); stop them all at once at
    the end; keep their logs if the test failed."""
    servers: list[ServerProcess] = []

    def built() -> list[ServerProcess]:
        servers[:] = build()
        return servers

    try:
        yield start_together(built)
    except ServerFailed:
        _keep_logs(_test_dir(request), *servers)
        raise
    finally:
        with ThreadPoolExecutor(max(1, len(servers))) as stopping:  # each takes a few tenths of a second
            list(stopping.map(ServerProcess.stop, servers))
        if _failed(request):
            _keep_logs(_test_dir(request), *servers)


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Both apps, fresh databases, wired to each other."""
    with _running(request, _wired(tmp_path, with_monitor=True)) as (sandbox, monitor):
        yield Stack(sandbox, monitor)


@pytest.fixture
def sandbox_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """The sandbox alone, fresh database (its demo-monitor webhook points at a port nobody listens on)."""
    with _running(request, _wired(tmp_path, with_monitor=False)) as (sandbox,):
        yield sandbox


def _keep_logs(directory: Path, *servers: ServerProcess) -> None:
    for server in servers:
        if server.log_path.exists():
            shutil.copy(server.log_path, directory / f"{server.name}.log")


# -- people's steps ---------------------------------------------------------------------------------------

def sign_in(page: Page, email: str = EMAIL, password: str = PASSWORD) -> None:
    """Fill the sandbox's sign-in form (the page must be showing it)."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def alert_with_pagerduty(page: Page):
    """The monitor's "Alert with PagerDuty" (a link or a button)."""
    return page.get_by_role("link", name="Alert with PagerDuty").or_(
        page.get_by_role("button", name="Alert with PagerDuty"))


def connect(page: Page, stack: Stack, service_name: str) -> dict:
    """Run the whole Connect handshake in the browser; returns the monitor's /api/integration afterwards."""
    page.goto(stack.monitor_url + "/integrations/pagerduty")
    alert_with_pagerduty(page).click()
    sign_in(page)
    page.get_by_label("Service name").fill(service_name)
    page.get_by_role("button", name="Create service").click()
    expect(page).to_have_url(re.compile("^" + re.escape(stack.monitor_url + "/integrations/pagerduty")))
    integration = stack.monitor_json("/api/integration")
    assert integration["connected"] is True, integration
    return integration


SAMPLE_KEY = "e93facc04764012d7bfb002500d5d1a6"


def connect_directly(stack: Stack, service_key: str = SAMPLE_KEY, service_name: str = "Acme Website") -> dict:
    """Connect the monitor without a browser: take a state token from the monitor's own Connect start and
    answer its callback as the sandbox would, with the seeded "Acme Website" integration key. For tests whose
    subject is not the handshake."""
    start = httpx.get(stack.monitor_url + "/integrations/pagerduty/connect", follow_redirects=False, timeout=5)
    assert start.status_code in (302, 303), start.text
    callback = parse_qs(urlsplit(start.headers["location"]).query)["callback"][0]
    answer_url = callback + ("&" if "?" in callback else "?") + urlencode(
        {"account": "acme", "service_key": service_key, "service_name": service_name})
    answer = httpx.get(answer_url, follow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303) and answer.headers["location"].endswith("result=connected"), answer
    integration = stack.monitor_json("/api/integration")
    assert integration["connected"] is True, integration
    return integration
