"""The sandbox's settings: one frozen dataclass built from CLI flags and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090


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
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def base_url(self) -> str:
        """The URL people and clients reach the sandbox at: `--public-url`, or the bound address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

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
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
