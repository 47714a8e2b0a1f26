"""Chromium discovery (e2e/browser.py): an explicit path first, then a system Chromium, then Playwright's own,
else a message that says how to get one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from e2e import browser
from e2e.browser import Chromium, ChromiumNotFound, find_chromium

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fake_executable(directory, name: str) -> str:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def no_system_chromium(monkeypatch, tmp_path):
    """Nothing on PATH, no /usr/bin/chromium, no Playwright download."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(browser, "SYSTEM_PATHS", ())
    monkeypatch.setattr(browser, "_playwright_own", lambda: None)
    return empty


def test_an_explicit_path_comes_first(tmp_path, no_system_chromium):
    _fake_executable(no_system_chromium, "chromium")
    explicit = _fake_executable(tmp_path, "my-chrome")
    found = find_chromium({"CHROMIUM_PATH": explicit})
    assert found == Chromium(explicit, "$CHROMIUM_PATH")
    assert found.launch_options()["executable_path"] == explicit
    assert find_chromium({"PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH": explicit}).executable == explicit


def test_an_explicit_path_that_is_not_executable_is_an_error(tmp_path, no_system_chromium):
    with pytest.raises(ChromiumNotFound, match=r"\$CHROMIUM_PATH is set to '/nowhere/chromium'"):
        find_chromium({"CHROMIUM_PATH": "/nowhere/chromium"})


def test_playwright_names_playwrights_own_browser():
    found = find_chromium({"CHROMIUM_PATH": "playwright"})
    assert found.executable is None
    assert "executable_path" not in found.launch_options()


def test_a_system_chromium_on_path(no_system_chromium):
    path = _fake_executable(no_system_chromium, "chromium-browser")
    assert find_chromium({}) == Chromium(path, "system")


def test_launch_options_are_headless_without_the_sandbox(no_system_chromium):
    _fake_executable(no_system_chromium, "google-chrome")
    options = find_chromium({}).launch_options()
    assert options["headless"] is True
    assert options["args"] == ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync"]


def test_nothing_found_says_how_to_get_one(no_system_chromium):
    with pytest.raises(ChromiumNotFound) as failure:
        find_chromium({})
    message = str(failure.value)
    assert "apt-get install -y chromium" in message
    assert "playwright install chromium" in message
    assert "CHROMIUM_PATH=" in message


def test_the_command_line_prints_the_path_or_fails_clearly(tmp_path):
    explicit = _fake_executable(tmp_path, "chromium")
    env = dict(os.environ, CHROMIUM_PATH=explicit)
    ok = subprocess.run([sys.executable, "-m", "e2e.browser"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert (ok.returncode, ok.stdout) == (0, explicit + "\n")

    env["CHROMIUM_PATH"] = str(tmp_path / "missing")
    bad = subprocess.run([sys.executable, "-m", "e2e.browser"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "which is not an executable file" in bad.stderr
