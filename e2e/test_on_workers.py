"""pytest on xdist workers, as scripts/test runs both tiers (docs/benchmarks.md, seventh pass): a server that fails
to start on a worker still shows its own log in the failure, and a run that collects nothing is exit 5."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SUITE = {
    "test_passes.py": """
        def test_passes():
            assert True
    """,
    "test_server_fails.py": """
        import json
        from fake_pagerduty.server_process import ServerProcess

        def test_a_sandbox_that_cannot_start(tmp_path):
            seed = tmp_path / "broken-seed.json"
            seed.write_text(json.dumps(["not", "an", "object"]))
            ServerProcess("sandbox", ["-m", "fake_pagerduty", "serve", "--port", "{port}", "--db",
                                      str(tmp_path / "s.db"), "--seed", str(seed)],
                          log_path=tmp_path / "sandbox.log").start()
    """,
}


def _pytest_on_workers(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    for name, source in SUITE.items():
        (tmp_path / name).write_text(textwrap.dedent(source))
    # the project's own heavy plugins are not needed by this suite: the workers start faster without them
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:schemathesis",
                           "-p", "no:hypothesispytest", "-n", "2", "--dist", "loadfile", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_on_workers_a_server_that_fails_shows_its_log_and_nothing_collected_is_exit_5(tmp_path):
    failed = _pytest_on_workers(tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "1 failed, 1 passed" in failed.stdout
    assert "sandbox exited with code 2 before it came up" in failed.stdout
    assert "must hold an object" in failed.stdout  # the server's own log, in the worker's failure report
    empty = _pytest_on_workers(tmp_path, "-k", "no_test_has_this_name")
    assert empty.returncode == 5, empty.stdout + empty.stderr


def test_every_file_the_suite_runs_first_exists():
    """conftest.py's RUN_FIRST names files by hand: a renamed or removed one would silently lose its place."""
    from e2e.conftest import RUN_FIRST

    assert [name for name in RUN_FIRST if not (ROOT / "e2e" / name).is_file()] == []
