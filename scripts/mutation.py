"""Mutation testing of the rules users depend on (issue 19), with mutmut; run it through `scripts/mutation`.

Each target below names the modules to mutate and the tests that guard them. A target runs in its own copy of
the committed tree (var/mutation/<target>/: the working tree is never mutated, and other work in progress
there cannot fail the run; --working-tree copies it as it is instead), mutmut runs every mutant against the
tests of that target that reach the mutated function, and the score is printed per module: killed (a test
failed or timed out) out of all mutants. Survivors' diffs go to var/mutation/<target>/survivors.txt.

Usage: scripts/mutation [TARGET ...]   (no argument: every target; --list: the targets and their tests)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutation"
MUTMUT = [sys.executable, "-m", "mutmut"]
SB = "tests/fake_pagerduty/"
MON = "tests/demo_monitor/"


@dataclass(frozen=True)
class Target:
    modules: tuple[str, ...]  # files to mutate
    tests: tuple[str, ...]  # the tests that guard them
    functions: tuple[str, ...] = field(default=())  # only these functions' mutants (fnmatch on the mutant name)


TARGETS: dict[str, Target] = {
    "events": Target(
        ("fake_pagerduty/domain/events.py", "fake_pagerduty/domain/event_requests.py"),
        (SB + "test_domain.py", SB + "test_events_api.py", SB + "test_lifecycle.py")),
    "lifecycle": Target(
        ("fake_pagerduty/domain/lifecycle.py",),
        (SB + "test_domain.py", SB + "test_lifecycle.py", SB + "test_events_api.py", SB + "test_transitions.py")),
    "webhooks": Target(
        ("fake_pagerduty/domain/webhooks.py",),
        (SB + "test_domain.py", SB + "test_webhooks_delivery.py", SB + "test_webhook_subscriptions.py",
         SB + "test_transitions.py")),
    "callbacks": Target(
        ("fake_pagerduty/domain/callbacks.py",),
        (SB + "test_domain.py", SB + "test_web_callbacks.py", SB + "test_own_endpoints.py",
         SB + "test_web_connect.py")),
    "faults": Target(
        ("fake_pagerduty/domain/faults.py",),
        (SB + "test_domain.py", SB + "test_sandbox_faults.py", SB + "test_sandbox_cut_connection.py")),
    "rate-limits": Target(
        ("fake_pagerduty/domain/rate_limits.py", "fake_pagerduty/domain/sliding_window.py",
         "fake_pagerduty/domain/throttle.py"),
        (SB + "test_domain.py", SB + "test_sandbox_controls.py", SB + "test_sandbox_faults.py",
         SB + "test_sign_in_throttle.py")),
    "strict": Target(
        ("fake_pagerduty/domain/strict.py",),
        (SB + "test_domain.py", SB + "test_strict.py")),
    "journal-paging": Target(
        ("fake_pagerduty/web/sandbox_api.py", "fake_pagerduty/store/journal.py"),
        (SB + "test_sandbox_journal.py", SB + "test_oauth_requests.py"),
        functions=("fake_pagerduty.web.sandbox_api.x_number__*", "fake_pagerduty.web.sandbox_api.x_paging__*",
                   "fake_pagerduty.web.sandbox_api.x_page_json__*", "fake_pagerduty.store.journal.xǁJournalǁpage__*",
                   "fake_pagerduty.store.journal.xǁJournalǁlast_id__*",
                   "fake_pagerduty.store.journal.xǁJournalǁfirst_match__*")),  # after_id: the waits' cursor
    "monitor-webhooks": Target(
        ("demo_monitor/domain/webhooks.py", "demo_monitor/connection.py"),
        (MON + "test_webhook_security.py", MON + "test_webhook_rules.py", MON + "test_pages.py",
         MON + "test_still_active.py"),
        functions=("demo_monitor.domain.webhooks.*", "demo_monitor.connection.xǁConnectionǁreceive_webhook__*")),
    "monitor-csrf": Target(
        ("demo_monitor/web/security.py",),
        (MON + "test_csrf_binding.py", MON + "test_http_hardening.py", MON + "test_pages.py")),
}

KILLED = {1, 3}  # a test failed (3: pytest's internal error, as mutmut counts it)
TIMEOUT = {36, -24, 24, 152, 255}  # the mutant hung: a user would notice that too
NO_TESTS = {5, 33}  # no test reached the mutated function


COPIED = ("fake_pagerduty", "demo_monitor", "tests", "README.md", "pyproject.toml")


def prepare(name: str, target: Target, working_tree: bool, deselect: list[str]) -> Path:
    """A fresh copy of the packages and tests (as committed, or as they are in the working tree), with the
    target's mutmut settings in its pyproject.toml."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if working_tree:
        for path in COPIED:
            if (ROOT / path).is_dir():
                shutil.copytree(ROOT / path, work / path, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(ROOT / path, work / path)
    else:
        archive = subprocess.run(["git", "archive", "HEAD", *COPIED], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive.stdout, check=True)
    settings = {
        "source_paths": ["fake_pagerduty", "demo_monitor"],
        "only_mutate": list(target.modules),
        "pytest_add_cli_args_test_selection": list(target.tests),
        "also_copy": ["README.md"],  # tests run in mutants/, and some read the README
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", "-x", *(f"--deselect={t}" for t in deselect)],
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    with open(work / "pyproject.toml", "a") as pyproject:
        pyproject.write("\n".join(lines) + "\n")
    return work


def results(work: Path, target: Target) -> dict[str, dict[str, int]]:
    """mutant name -> exit code, per mutated module, from mutmut's .meta files."""
    found: dict[str, dict[str, int]] = {}
    for module in target.modules:
        meta = json.loads((work / "mutants" / (module + ".meta")).read_text())
        codes = meta["exit_code_by_key"]
        if target.functions:
            codes = {k: v for k, v in codes.items() if any(fnmatch(k, f) for f in target.functions)}
        found[module] = codes
    return found


def run(name: str, target: Target, children: int, working_tree: bool, deselect: list[str]
        ) -> list[tuple[str, int, int, list[tuple[str, int]]]]:
    work = prepare(name, target, working_tree, deselect)
    print(f"== {name}: {', '.join(target.modules)} against {len(target.tests)} test files", flush=True)
    # the webhook tests' hang guard at 10 s: a mutant that stops deliveries fails in 10 s, not 60
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TEST_UNTIL_LIMIT_SECONDS": "10"}
    with open(work / "mutmut.log", "w") as log:
        code = subprocess.call([*MUTMUT, "run", "--max-children", str(children), *target.functions],
                               cwd=work, stdout=log, stderr=subprocess.STDOUT, env=env)
    if code != 0:
        print(f"   mutmut failed (exit {code}); its output: {work / 'mutmut.log'}", flush=True)
        return []
    rows = []
    for module, codes in results(work, target).items():
        killed = sum(1 for c in codes.values() if c in KILLED or c in TIMEOUT)
        missed = sorted(k for k, c in codes.items() if not (c in KILLED or c in TIMEOUT))
        rows.append((module, killed, len(codes), [(name, codes[name]) for name in missed]))
    write_survivors(work, [name for *_, missed in rows for name, _code in missed])
    return rows


# mutmut's `show`, for many mutants in one process (a process each takes a second apiece)
SHOW = """
import sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
for name in sys.stdin.read().split():
    print("# " + name)
    print(get_diff_for_mutant(name))
    print()
"""


def write_survivors(work: Path, names: list[str]) -> None:
    with open(work / "survivors.txt", "w") as out:
        subprocess.run([sys.executable, "-c", SHOW], cwd=work, input="\n".join(names), text=True, stdout=out,
                       check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the targets, their modules and tests")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--working-tree", action="store_true",
                        help="mutate the working tree's files, uncommitted changes included (default: HEAD's)")
    parser.add_argument("--deselect", action="append", default=[], metavar="NODEID",
                        help="leave out a test that fails without any mutant (mutmut needs a green run first)")
    args = parser.parse_args()
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {' '.join(target.modules)}\n    tests: {' '.join(target.tests)}")
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; --list shows them")
    table = []
    for name in args.targets or TARGETS:
        rows = run(name, TARGETS[name], args.max_children, args.working_tree, args.deselect)
        if not rows:
            table.append((name, f"{name}: mutmut failed", 0, 0, []))
        for module, killed, total, missed in rows:
            no_tests = sum(1 for _mutant, code in missed if code in NO_TESTS)
            print(f"   {module}: {killed}/{total} killed" + (f", not killed: {len(missed)}, of which {no_tests} "
                  f"reached by no test (diffs in {WORK / name / 'survivors.txt'})" if missed else ""), flush=True)
            table.append((name, module, killed, total, missed))
    print("\n| Module | Killed / mutants | Score |\n|---|---|---|")
    ok = True
    for _name, module, killed, total, _missed in table:
        score = 100.0 * killed / total if total else 0.0
        ok = ok and total > 0 and score >= 90.0
        print(f"| `{module}` | {killed} / {total} | {score:.1f}% |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
