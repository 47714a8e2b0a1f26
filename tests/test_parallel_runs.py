"""scripts/test runs both tiers on pytest-xdist workers (docs/benchmarks.md, seventh pass). Its edges: the worker
counts it passes and how to change them, and a tier that collects nothing still fails the script (exit 5, said
plainly). e2e/test_on_workers.py runs pytest on real workers."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import RUN_FIRST, pytest_collection_modifyitems
from tests.stub_project import ROOT, run_scripts_test

FAST_PLUGINS = " --disable-plugin-autoload -p xdist -p asyncio -p hypothesispytest -p fake_pagerduty.pytest_plugin"
E2E = " --dist loadfile --no-loadscope-reorder --disable-plugin-autoload -p xdist -p asyncio -p fake_pagerduty.pytest_plugin"


def test_scripts_test_runs_each_tier_on_workers_a_file_each(tmp_path):
    result, calls = run_scripts_test(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(calls) == ["-m pytest e2e -q -n 4" + E2E, "-m pytest tests -q -n auto --dist loadfile --no-loadscope-reorder" + FAST_PLUGINS]


def test_the_worker_counts_can_be_changed_and_zero_runs_in_one_process(tmp_path):
    result, calls = run_scripts_test(tmp_path, {"TEST_WORKERS": "0", "E2E_WORKERS": "6"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(calls) == ["-m pytest e2e -q -n 6" + E2E, "-m pytest tests -q -n 0 --dist loadfile --no-loadscope-reorder" + FAST_PLUGINS]


def test_the_tiers_run_at_once_and_show_their_output_one_after_the_other(tmp_path):
    """The e2e suite runs while the fast tier does (docs/benchmarks.md, ninth pass); the fast tier's output
    comes first, then the e2e suite's, each under its heading."""
    result, _ = run_scripts_test(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "fast tier output, the e2e run started" in out, out
    assert (out.index("== pytest tests (fast tier)") < out.index("fast tier output") < out.index("== pytest e2e")
            < out.index("e2e output") < out.index("== test artifacts")), out


def test_the_script_fails_when_either_tier_fails(tmp_path):
    e2e_failed, _ = run_scripts_test(tmp_path / "e2e", {}, e2e_exit=1)
    fast_failed, _ = run_scripts_test(tmp_path / "fast", {}, pytest_exit=2, e2e_exit=0)
    assert (e2e_failed.returncode, fast_failed.returncode) == (1, 2)
    assert "e2e output" in fast_failed.stdout  # the other tier still runs to its end and shows


def test_a_tier_that_collects_nothing_fails_the_script(tmp_path):
    result, _ = run_scripts_test(tmp_path, {}, pytest_exit=5)
    assert result.returncode == 5
    assert "collected no tests: a test run that tests nothing is a failure" in result.stderr


def test_the_fast_tier_hands_out_its_longest_files_first(pytestconfig):
    """scripts/test keeps collection order (`--no-loadscope-reorder`); tests/conftest.py puts RUN_FIRST's files
    first, in its order, each file whole and in its own order. A renamed or removed file must leave the list."""
    missing = [path for path in RUN_FIRST if not (ROOT / path).is_file()]
    assert not missing, f"RUN_FIRST in tests/conftest.py names files that are gone: {missing}"
    collected = [("tests/test_a.py", 1), (RUN_FIRST[1], 1), ("tests/test_a.py", 2), (RUN_FIRST[0], 1),
                 (RUN_FIRST[1], 2), ("tests/test_b.py", 1)]
    items = [SimpleNamespace(path=ROOT / path, n=n) for path, n in collected]
    pytest_collection_modifyitems(pytestconfig, items)
    assert [(item.path.relative_to(ROOT).as_posix(), item.n) for item in items] == [
        (RUN_FIRST[0], 1), (RUN_FIRST[1], 1), (RUN_FIRST[1], 2), ("tests/test_a.py", 1), ("tests/test_a.py", 2),
        ("tests/test_b.py", 1)]
