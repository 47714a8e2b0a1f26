"""scripts/test run for real against a stub project: a copy of scripts/test and scripts/venv, an empty
pyproject.toml, and a `.venv` already marked installed whose `python` only logs its arguments and whose `ruff`
passes. For tests of what scripts/test asks pytest to do (tests/test_parallel_runs.py,
tests/test_readme_claims.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_scripts_test(tmp_path: Path, env: dict[str, str], *, pytest_exit: int = 0, e2e_exit: int | None = None,
                     logged: str = "$*") -> tuple[subprocess.CompletedProcess, list[str]]:
    """scripts/test in a stub project under `tmp_path`; the stub python writes `logged` (shell words: "$*" its
    arguments) a line a call, answers `-m e2e.browser` with /usr/bin/true and exits `pytest_exit` for
    `-m pytest` (`e2e_exit` for `-m pytest e2e` if given). Its `-m pytest e2e` prints "e2e output"; its
    `-m pytest tests` waits up to 5 s for the e2e run to be logged and prints "fast tier output" and whether it
    saw it running. The environment is the caller's without TEST_WORKERS and E2E_WORKERS, E2E_ARTIFACTS under
    `tmp_path`, then `env`. Returns the run and the logged pytest calls."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for script in ("test", "venv"):  # scripts/test makes the venv with scripts/venv
        shutil.copy(ROOT / "scripts" / script, project / "scripts" / script)  # executable, as in the tree
    (project / "pyproject.toml").write_text("")
    venv = project / ".venv" / "bin"
    venv.mkdir(parents=True)
    log = tmp_path / "calls.log"
    (venv / "python").write_text(
        "#!/bin/sh\n"
        f'echo "{logged}" >>"{log}"\n'
        'if [ "$2" = e2e.browser ]; then echo /usr/bin/true; exit 0; fi\n'
        'if [ "$2" = pytest ] && [ "$3" = e2e ]; then\n'
        f'  echo "e2e output"; exit {pytest_exit if e2e_exit is None else e2e_exit}\n'
        'fi\n'
        'if [ "$2" = pytest ] && [ "$3" = tests ]; then\n'
        '  for _ in $(seq 50); do\n'
        f'    if grep -q "^-m pytest e2e" "{log}"; then echo "fast tier output, the e2e run started"; break; fi\n'
        '    sleep 0.1\n'
        '  done\n'
        'fi\n'
        f'if [ "$2" = pytest ]; then exit {pytest_exit}; fi\n')
    (venv / "ruff").write_text("#!/bin/sh\nexit 0\n")
    for stub in venv.iterdir():
        stub.chmod(0o755)
    os.utime(project / "pyproject.toml", (1, 1))  # older than the install mark: no reinstall
    (project / ".venv" / ".test-installed").write_text("")
    clean = {k: v for k, v in os.environ.items() if k not in ("TEST_WORKERS", "E2E_WORKERS")}
    result = subprocess.run(["bash", "scripts/test"], cwd=project, capture_output=True, text=True, timeout=60,
                            env={**clean, "E2E_ARTIFACTS": str(tmp_path / "artifacts"), **env})
    return result, [line for line in log.read_text().splitlines() if line.startswith("-m pytest")]
