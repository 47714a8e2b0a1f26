"""The pytest plugin: its in-process fixture, and that it costs nothing to suites that do not use it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx

from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.webpages import sign_in

HEAVY = ("httpx", "starlette", "uvicorn", "aiosqlite", "jsonschema", "trustme", "cryptography", "jinja2")


async def test_in_process_fixture_is_a_seeded_sandbox(fake_pagerduty_app):
    event = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "plugin/in-process",
             "payload": {"summary": "In-process trigger", "source": "tests", "severity": "warning"}}
    response = await fake_pagerduty_app.post("/v2/enqueue", json=event)
    assert response.status_code == 202
    incidents = (await fake_pagerduty_app.get("/api/incidents", headers=REST_HEADERS)).json()["incidents"]
    assert [(i["title"], i["urgency"]) for i in incidents] == [("In-process trigger", "low")]
    assert fake_pagerduty_app.app.state.settings.db_path == ":memory:"
    assert fake_pagerduty_app.base_url == httpx.AsyncClient(base_url="http://fake-pagerduty.test").base_url


async def test_in_process_client_keeps_the_cookies_the_sandbox_sets(fake_pagerduty_app):
    """The fixture's client reads cookies only from answers that set some: signing in to the console keeps
    its session through answers that set none, and cookies set by hand work as with any httpx client."""
    client = fake_pagerduty_app
    signed_out = await client.get("/incidents")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    assert (await sign_in(client)).status_code == 303
    session = dict(client.cookies)
    assert session
    assert (await client.get("/_sandbox/events")).status_code == 200  # no Set-Cookie in this answer
    assert dict(client.cookies) == session
    assert (await client.get("/incidents")).status_code == 200
    client.cookies = {}
    assert (await client.get("/incidents")).status_code == 303
    client.cookies.update(session)
    assert (await client.get("/incidents")).status_code == 200


def test_importing_the_plugin_loads_nothing_heavy():
    code = "import sys, fake_pagerduty.pytest_plugin; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "fake_pagerduty" in loaded
    assert [name for name in HEAVY if name in loaded] == []


def _run_pytest(tmp_path, test_source: str, *args: str) -> subprocess.CompletedProcess:
    """pytest in a fresh process, in a directory of its own (no project config), plugins autoloaded."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_partner.py").write_text(textwrap.dedent(test_source))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_in_process_fixture_works_in_pytest_asyncio_strict_mode(tmp_path):
    result = _run_pytest(tmp_path, """
        import pytest

        @pytest.mark.asyncio
        async def test_uses_the_sandbox(fake_pagerduty_app):
            response = await fake_pagerduty_app.post("/v2/enqueue", json={"event_action": "trigger"})
            assert response.status_code == 400
            assert response.json()["errors"] == ["'routing_key' is missing or blank", "'payload' is missing or blank"]
    """, "-o", "asyncio_mode=strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_suites_own_async_fixture_uses_the_in_process_fixture_in_the_session_loop(tmp_path):
    """The README's rule: an async fixture of the suite's that uses `fake_pagerduty_app` runs in the session
    loop; one in another loop gets the transport's error, which says what to do."""
    result = _run_pytest(tmp_path, """
        import pytest
        import pytest_asyncio

        KEY = "e93facc04764012d7bfb002500d5d1a6"

        @pytest_asyncio.fixture(loop_scope="session")
        async def triggered(fake_pagerduty_app):
            event = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "mine",
                     "payload": {"summary": "From a fixture", "source": "tests", "severity": "info"}}
            assert (await fake_pagerduty_app.post("/v2/enqueue", json=event)).status_code == 202
            return fake_pagerduty_app

        @pytest_asyncio.fixture(loop_scope="function")
        async def elsewhere(fake_pagerduty_app):
            return await fake_pagerduty_app.get("/_sandbox/events")

        @pytest.mark.asyncio
        async def test_sees_what_its_fixture_did(triggered):
            [event] = (await triggered.get("/_sandbox/events")).json()["events"]
            assert (event["id"], event["dedup_key"]) == (1, "mine")

        @pytest.mark.asyncio
        async def test_a_reset_sandbox_after_it(fake_pagerduty_app):
            assert (await fake_pagerduty_app.get("/_sandbox/events")).json()["events"] == []

        @pytest.mark.asyncio
        async def test_from_another_loop(elsewhere):
            pass
    """, "-o", "asyncio_mode=strict", "-p", "no:randomly")
    assert "2 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert 'give async fixtures that use it loop_scope="session"' in result.stdout


def test_a_suite_that_does_not_use_the_fixtures_starts_no_sandbox(tmp_path):
    result = _run_pytest(tmp_path, """
        import sys

        def test_plain():
            assert "fake_pagerduty.pytest_plugin" in sys.modules  # loaded through the pytest11 entry point
            assert "uvicorn" not in sys.modules and "starlette" not in sys.modules
    """, "-p", "no:asyncio")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_in_process_client_builds_the_urls_httpx_builds():
    """The in-process client keeps the URL httpx made of each URL string and base URL: every request goes where a
    plain httpx.AsyncClient's would, whatever the path, query, params, absolute URL or a changed base URL."""
    from fake_pagerduty import pytest_plugin

    _, client_class = pytest_plugin._in_process_classes()
    ours, plain = (cls(base_url="http://fake-pagerduty.test", transport=httpx.MockTransport(lambda _: None))
                   for cls in (client_class, httpx.AsyncClient))
    cases = [("GET", "/api/incidents", {}), ("GET", "api/incidents", {}), ("GET", "/api/incidents?limit=1", {}),
             ("GET", "/api/incidents?limit=1", {"params": {"offset": 2}}), ("GET", "/a b/é?q=a b", {}),
             ("POST", "/v2/enqueue", {"json": {"a": 1}}), ("GET", "http://elsewhere.test/x?y=1", {}),
             ("GET", httpx.URL("/_sandbox/events"), {}), ("GET", "", {})]
    for _ in range(2):  # made once, then kept
        for method, url, kwargs in cases:
            mine, theirs = ours.build_request(method, url, **kwargs), plain.build_request(method, url, **kwargs)
            assert (mine.url, mine.headers, mine.content) == (theirs.url, theirs.headers, theirs.content), url
    for client in (ours, plain):
        client.base_url = "http://fake-pagerduty.test/prefix/"
    assert ours.build_request("GET", "/api/incidents").url == plain.build_request("GET", "/api/incidents").url \
        == httpx.URL("http://fake-pagerduty.test/prefix/api/incidents")
    for n in range(pytest_plugin.MERGED_URLS_KEPT + 5):  # what it keeps stays bounded
        ours.build_request("GET", f"/api/incidents/{n}")
    assert len(pytest_plugin._MERGED_URLS) <= pytest_plugin.MERGED_URLS_KEPT
