"""Fast tier: apps in-process through httpx.ASGITransport, lifespan entered by the fixture, no ports.

`sandbox` and `sandbox_app` are one app for the whole session (its lifespan runs in pytest-asyncio's session
event loop, the loop every test and async fixture here runs in: see pyproject.toml), reset before each test to
what a new app would be (`fake_pagerduty/reset.py`: the database as seeded, ids from 1, every in-memory piece
new). A module that overrides `sandbox_settings` gets an app of its own per test, built from them."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from fake_pagerduty import passwords
from fake_pagerduty.app import create_app
from fake_pagerduty.reset import SandboxApp
from fake_pagerduty.settings import Settings
from tests.cheap_cookies import cookies_parsed_only_when_set
from tests.rest_validation import validating_asgi_transport

# The fast tier signs in ~400 times: its hashes (seeded people's too) use Argon2's smallest parameters, not
# people's (~35 ms a check). tests/fake_pagerduty/test_password_hashing.py checks both sets.
passwords.use_test_parameters()

SAMPLE_KEY = "e93facc04764012d7bfb002500d5d1a6"
API_KEY = "sandbox-api-key-acme"
REST_HEADERS = {
    "Authorization": f"Token token={API_KEY}",
    "Accept": "application/vnd.pagerduty+json;version=2",
}


# The files that take longest (CPU or waiting), longest first. scripts/test runs the tier on pytest-xdist with
# `--dist loadfile --no-loadscope-reorder`: a whole file per worker, handed out in collection order, so these go
# first (longest processing time first) and the hundred short files fill the gaps; a long file handed out last
# would run alone at the end. Measured per file, wall and CPU (docs/benchmarks.md, eighth pass, "Fast tier"); a
# file not named here keeps its place. tests/test_parallel_runs.py checks that each still exists.
RUN_FIRST = (
    "tests/fake_pagerduty/test_fuzz_rest_reads.py",
    "tests/fake_pagerduty/test_fuzz_events.py",
    "tests/fake_pagerduty/test_read_your_writes.py",
    "tests/fake_pagerduty/test_fuzz_rest_changes.py",
    "tests/fake_pagerduty/test_exam.py",
    "tests/fake_pagerduty/test_pytest_plugin.py",
    "tests/fake_pagerduty/test_fixture_reset.py",
    "tests/fake_pagerduty/test_rest_params.py",
    "tests/fake_pagerduty/test_writer_process.py",
    "tests/fake_pagerduty/test_concurrency.py",
    "tests/demo_monitor/test_fuzz_monitor.py",
    "tests/fake_pagerduty/test_security.py",
)


def pytest_collection_modifyitems(config, items: list[pytest.Item]) -> None:
    """Whole files moved, each file's own order kept (its module fixtures and closing checks rely on it)."""
    rank = {path: n for n, path in enumerate(RUN_FIRST)}
    root = config.rootpath
    items.sort(key=lambda item: rank.get(item.path.relative_to(root).as_posix(), len(rank)))


def pytest_collection_finish(session) -> None:
    """The garbage collector, told what lives all run. Once collected, the tier's modules, rest.json, the
    schemathesis schemas and their strategies stay until the end: frozen, a full collection no longer walks them
    again and again (it did ~20 times a fuzz file, ~80 ms each), and young objects are collected every 10,000
    allocations rather than 700 (hypothesis allocates by the million). Only when unreachable cycles are freed
    changes, not which: ~3% of the tier's CPU (docs/benchmarks.md, ninth pass, "Fast tier")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@pytest.fixture(scope="session")
def shared_sandbox_settings(tmp_path_factory) -> Settings:
    return Settings(db_path=str(tmp_path_factory.mktemp("sandbox") / "sandbox.db"), public_url="http://sandbox.test")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_sandbox(shared_sandbox_settings) -> AsyncIterator[SandboxApp]:
    async with SandboxApp(shared_sandbox_settings) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox_settings(request, shared_sandbox_settings) -> Settings:
    """The settings of the test's sandbox: the shared app's when the test uses `sandbox_app` (its database is
    the one to read), else a database of the test's own (for tests that build their app); `tmp_path` only then
    (a folder a test costs ~0.5 ms of CPU, and ~1,000 tests use the shared app)."""
    if "sandbox_app" in request.fixturenames:
        return shared_sandbox_settings
    tmp_path = request.getfixturevalue("tmp_path")
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url="http://sandbox.test")


@pytest.fixture
async def sandbox_app(sandbox_settings, shared_sandbox) -> AsyncIterator[Starlette]:
    if sandbox_settings is shared_sandbox.settings:
        await shared_sandbox.reset()
        yield shared_sandbox.app
        return
    app = create_app(sandbox_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def sandbox(sandbox_app) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to a seeded sandbox in-process, as new."""
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield client


@pytest.fixture(scope="session", autouse=True)
def cookies_read_from_answers_that_set_them() -> Iterator[None]:
    with cookies_parsed_only_when_set():
        yield


@pytest.fixture(scope="session", autouse=True)
def rest_answers_match_rest_json() -> Iterator[None]:
    """Every REST answer any in-process client receives is checked against rest.json (issue 17)."""
    with validating_asgi_transport():
        yield
