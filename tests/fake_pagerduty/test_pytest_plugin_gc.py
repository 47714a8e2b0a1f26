"""The in-process fixture leaves the session's long-lived objects out of the garbage collector's full passes
while it runs (`gc.freeze`), gives them back at the session's end, and leaves a suite's own freeze alone."""

from __future__ import annotations

from tests.fake_pagerduty.test_pytest_plugin import _run_pytest

CONFTEST_RECORDS_THE_END = """
import gc, os

def pytest_sessionfinish(session, exitstatus):
    with open(os.path.join(str(session.config.rootpath), "frozen-at-the-end"), "w") as out:
        out.write(str(gc.get_freeze_count()))
"""


def test_the_session_app_is_frozen_while_the_tests_run_and_given_back_at_the_end(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST_RECORDS_THE_END)
    result = _run_pytest(tmp_path, """
        import gc
        import pytest

        def test_before_the_app():
            assert gc.get_freeze_count() == 0

        @pytest.mark.asyncio
        async def test_with_the_app(fake_pagerduty_app):
            assert gc.get_freeze_count() > 10_000  # the app, its modules, pytest's own objects
            assert gc.isenabled()
            assert (await fake_pagerduty_app.get("/_sandbox/events")).status_code == 200
    """, "-o", "asyncio_mode=strict", "-p", "no:randomly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert (tmp_path / "frozen-at-the-end").read_text() == "0"


def test_a_suites_own_freeze_is_left_as_it_is(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST_RECORDS_THE_END + """
gc.freeze()
FROZEN_BY_THE_SUITE = gc.get_freeze_count()
""")
    result = _run_pytest(tmp_path, """
        import gc
        import pytest
        from conftest import FROZEN_BY_THE_SUITE

        @pytest.mark.asyncio
        async def test_with_the_app(fake_pagerduty_app):
            assert gc.get_freeze_count() <= FROZEN_BY_THE_SUITE  # nothing more frozen (some freed since)
    """, "-o", "asyncio_mode=strict", "-p", "no:randomly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert int((tmp_path / "frozen-at-the-end").read_text()) > 0
