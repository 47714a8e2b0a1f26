"""The sandbox's settings: one frozen dataclass built from CLI flags and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_path: str = ":memory:"
    seed_file: Path | None = None
    public_url: str = ""
    https_port: int | None = None
    ca_dir: Path | None = None
    strict: bool = False
    sandbox_token: str | None = None  # required for /_sandbox/ when bound to anything but loopback
    # Apply Events API writes in a process of their own (`fake-pagerduty serve`), rather than on a thread.
    events_writer_process: bool = False
    # SQLite on the event loop's own thread (in-process apps: the tests, the pytest plugin), rather than on
    # threads of its own (`fake-pagerduty serve`, where a long read must not hold up other clients).
    sqlite_on_loop: bool = True
    access_log: bool = True  # uvicorn's line per request (`serve --no-access-log` turns it off)
    # Outbound webhooks: attempts per delivery, first retry delay (doubling after each failure), HTTP timeout.
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 1.0
    webhook_timeout_seconds: float = 5.0
    # Names the sandbox answers to besides loopback, --host and --public-url's host (web/host_guard.py, against
    # DNS rebinding); tests add the made-up names they reach it at.
    allowed_hosts: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def base_url(self) -> str:
        """The URL people and clients reach the sandbox at: `--public-url`, or the bound address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        return self.host.strip("[]").lower() in LOOPBACK_HOSTS

    @property
    def sandbox_token_required(self) -> bool:
        """Off loopback, the sandbox controls (`/_sandbox/…`) need a token."""
        return not self.is_loopback

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then FAKE_PAGERDUTY_* environment variables, then explicit overrides (CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict = {}
        if "FAKE_PAGERDUTY_HOST" in env:
            values["host"] = env["FAKE_PAGERDUTY_HOST"]
        if "FAKE_PAGERDUTY_PORT" in env:
            values["port"] = int(env["FAKE_PAGERDUTY_PORT"])
        if "FAKE_PAGERDUTY_DB" in env:
            values["db_path"] = env["FAKE_PAGERDUTY_DB"]
        if "FAKE_PAGERDUTY_SEED" in env:
            values["seed_file"] = Path(env["FAKE_PAGERDUTY_SEED"])
        if "FAKE_PAGERDUTY_PUBLIC_URL" in env:
            values["public_url"] = env["FAKE_PAGERDUTY_PUBLIC_URL"]
        if "FAKE_PAGERDUTY_HTTPS_PORT" in env:
            values["https_port"] = int(env["FAKE_PAGERDUTY_HTTPS_PORT"])
        if "FAKE_PAGERDUTY_CA_DIR" in env:
            values["ca_dir"] = Path(env["FAKE_PAGERDUTY_CA_DIR"])
        if "FAKE_PAGERDUTY_STRICT" in env:
            values["strict"] = env["FAKE_PAGERDUTY_STRICT"].strip().lower() in ("1", "true", "yes", "on")
        if env.get("FAKE_PAGERDUTY_SANDBOX_TOKEN"):
            values["sandbox_token"] = env["FAKE_PAGERDUTY_SANDBOX_TOKEN"]
        if "FAKE_PAGERDUTY_WEBHOOK_MAX_ATTEMPTS" in env:
            values["webhook_max_attempts"] = int(env["FAKE_PAGERDUTY_WEBHOOK_MAX_ATTEMPTS"])
        if "FAKE_PAGERDUTY_WEBHOOK_BACKOFF" in env:
            values["webhook_backoff_seconds"] = float(env["FAKE_PAGERDUTY_WEBHOOK_BACKOFF"])
        if "FAKE_PAGERDUTY_WEBHOOK_TIMEOUT" in env:
            values["webhook_timeout_seconds"] = float(env["FAKE_PAGERDUTY_WEBHOOK_TIMEOUT"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
