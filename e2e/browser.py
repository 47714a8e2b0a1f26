"""Finding a Chromium for the end-to-end suite, in one place (used by ./scripts/test and e2e/conftest.py).

Order: an explicit path from `CHROMIUM_PATH` (or `PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH`), then a system Chromium
(`/usr/bin/chromium`, then `chromium`, `chromium-browser`, `google-chrome` on PATH), then Playwright's own
(`playwright install chromium`), which is tried by launching it.

`python -m e2e.browser` prints what it found (a path, or `playwright` for Playwright's own) and exits 0,
or prints why nothing was found and exits 1.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

ENV_VARS = ("CHROMIUM_PATH", "PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH")
SYSTEM_PATHS = ("/usr/bin/chromium",)
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PLAYWRIGHT_OWN = "playwright"
LAUNCH_ARGS = [
    "--no-sandbox",  # needed when running as root (CI)
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ChromiumNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class Chromium:
    """Where the browser comes from: `executable` is a path, or None for Playwright's own download."""

    executable: str | None
    source: str

    def launch_options(self) -> dict:
        options: dict = {"headless": True, "args": list(LAUNCH_ARGS)}
        if self.executable:
            options["executable_path"] = self.executable
        return options

    def describe(self) -> str:
        return f"{self.executable or PLAYWRIGHT_OWN} ({self.source})"


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _from_env(environ: dict[str, str]) -> Chromium | None:
    for name in ENV_VARS:
        value = environ.get(name, "").strip()
        if not value:
            continue
        if value == PLAYWRIGHT_OWN:
            return Chromium(None, f"${name}")
        resolved = value if os.sep in value else shutil.which(value) or value
        if not _executable(resolved):
            raise ChromiumNotFound(f"${name} is set to {value!r}, which is not an executable file.")
        return Chromium(resolved, f"${name}")
    return None


def _from_system() -> Chromium | None:
    for path in SYSTEM_PATHS:
        if _executable(path):
            return Chromium(path, "system")
    for name in SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return Chromium(found, "system")
    return None


def _playwright_own() -> Chromium | None:
    """Playwright's downloaded Chromium, if launching it works."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        return None
    candidate = Chromium(None, "playwright install")
    try:
        with sync_playwright() as p:
            p.chromium.launch(**candidate.launch_options()).close()
    except Error:
        return None
    return candidate


def find_chromium(environ: dict[str, str] | None = None) -> Chromium:
    """The Chromium to drive, or ChromiumNotFound saying how to get one."""
    env = os.environ if environ is None else environ
    found = _from_env(env) or _from_system() or _playwright_own()
    if found is None:
        raise ChromiumNotFound(
            "No Chromium found for the end-to-end tests. Get one of:\n"
            "  - Debian/Ubuntu: sudo apt-get install -y chromium   (./scripts/test does this itself when run as root)\n"
            "  - Playwright's own: .venv/bin/playwright install chromium\n"
            "  - any Chromium or Chrome: export CHROMIUM_PATH=/path/to/chromium"
        )
    return found


def main() -> int:
    try:
        chromium = find_chromium()
    except ChromiumNotFound as exc:
        print(exc, file=sys.stderr)
        return 1
    print(chromium.executable or PLAYWRIGHT_OWN)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
