"""scripts/test runs both tiers on pytest-xdist workers (docs/benchmarks.md, seventh pass). Its edges: the worker
counts it passes and how to change them, and a tier that collects nothing still fails the script (exit 5, said
plainly). e2e/test_on_workers.py runs pytest on real workers."""

from __future__ import annotations

from tests.stub_project import run_scripts_test


def test_scripts_test_runs_each_tier_on_workers_a_file_each(tmp_path):
    result, calls = run_scripts_test(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == ["-m pytest tests -q -n auto --dist loadfile", "-m pytest e2e -q -n 4 --dist loadfile"]


def test_the_worker_counts_can_be_changed_and_zero_runs_in_one_process(tmp_path):
    result, calls = run_scripts_test(tmp_path, {"TEST_WORKERS": "0", "E2E_WORKERS": "6"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == ["-m pytest tests -q -n 0 --dist loadfile", "-m pytest e2e -q -n 6 --dist loadfile"]


def test_a_tier_that_collects_nothing_fails_the_script(tmp_path):
    result, _ = run_scripts_test(tmp_path, {}, pytest_exit=5)
    assert result.returncode == 5
    assert "collected no tests: a test run that tests nothing is a failure" in result.stderr
