"""scripts/test runs both tiers on pytest-xdist workers (docs/benchmarks.md, seventh pass). Its edges: the worker
counts it passes and how to change them, and a tier that collects nothing still fails the script (exit 5, said
plainly). e2e/test_on_workers.py runs pytest on real workers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _scripts_test(tmp_path: Path, env: dict[str, str], pytest_exit: int = 0) -> tuple[subprocess.CompletedProcess, list[str]]:
    """scripts/test against a stub .venv whose python logs its arguments (and exits `pytest_exit` for pytest)."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for script in ("test", "venv"):
        shutil.copy(ROOT / "scripts" / script, project / "scripts" / script)
    (project / "pyproject.toml").write_text("")
    venv = project / ".venv" / "bin"
    venv.mkdir(parents=True)
    log = tmp_path / "calls.log"
    (venv / "python").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >>"{log}"\n'
        'if [ "$2" = e2e.browser ]; then echo /usr/bin/true; exit 0; fi\n'
        f'if [ "$2" = pytest ]; then exit {pytest_exit}; fi\n')
    (venv / "ruff").write_text("#!/bin/sh\nexit 0\n")
    for stub in venv.iterdir():
        stub.chmod(0o755)
    os.utime(project / "pyproject.toml", (1, 1))
    (project / ".venv" / ".test-installed").write_text("")
    clean = {k: v for k, v in os.environ.items() if k not in ("TEST_WORKERS", "E2E_WORKERS")}
    result = subprocess.run(["bash", "scripts/test"], cwd=project, capture_output=True, text=True, timeout=60,
                            env={**clean, "E2E_ARTIFACTS": str(tmp_path / "artifacts"), **env})
    return result, [line for line in log.read_text().splitlines() if line.startswith("-m pytest")]


def test_scripts_test_runs_each_tier_on_workers_a_file_each(tmp_path):
    result, calls = _scripts_test(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == ["-m pytest tests -q -n auto --dist loadfile", "-m pytest e2e -q -n 4 --dist loadfile"]


def test_the_worker_counts_can_be_changed_and_zero_runs_in_one_process(tmp_path):
    result, calls = _scripts_test(tmp_path, {"TEST_WORKERS": "0", "E2E_WORKERS": "6"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == ["-m pytest tests -q -n 0 --dist loadfile", "-m pytest e2e -q -n 6 --dist loadfile"]


def test_a_tier_that_collects_nothing_fails_the_script(tmp_path):
    result, _ = _scripts_test(tmp_path, {}, pytest_exit=5)
    assert result.returncode == 5
    assert "collected no tests: a test run that tests nothing is a failure" in result.stderr
