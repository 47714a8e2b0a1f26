"""The monitor's settings: one frozen dataclass built from CLI flags and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_PAGERDUTY_URL = "http://127.0.0.1:8090"
DEFAULT_VENDOR_KEY = "demo-monitor"
DEFAULT_WEBHOOK_SECRET = "demo-webhook-secret"
DEFAULT_OAUTH_CLIENT_ID = "demo-monitor-oauth"
DEFAULT_OAUTH_CLIENT_SECRET = "demo-monitor-oauth-secret"


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_path: str = ":memory:"
    pagerduty_url: str = DEFAULT_PAGERDUTY_URL
    vendor_key: str = DEFAULT_VENDOR_KEY
    public_url: str = ""
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    # Connect with OAuth. Real PagerDuty splits these: OAuth at https://identity.pagerduty.com, REST at
    # https://api.pagerduty.com; empty means the sandbox's: --pagerduty-url, and --pagerduty-url + /api
    pagerduty_oauth_url: str = ""
    pagerduty_api_url: str = ""
    oauth_client_id: str = DEFAULT_OAUTH_CLIENT_ID
    oauth_client_secret: str = DEFAULT_OAUTH_CLIENT_SECRET
    # the simulated fleet
    fleet_size: int = 24
    tick_interval: float = 1.0
    seed: int = 42
    history_size: int = 300  # samples kept in memory per server and metric
    # delivery to PagerDuty
    # 2 = Events API v2 (the alert's real severity reaches PagerDuty), 1 = generic v1 events (the Connect seed)
    events_api_version: int = 2
    realert_seconds: float = 60.0  # an alert resolved while its condition holds alerts again after this
    retry_base_seconds: float = 0.5
    retry_cap_seconds: float = 30.0
    http_timeout_seconds: float = 10.0
    # names the monitor answers to besides loopback, --host and --public-url's host (against DNS rebinding);
    # tests add the made-up names they reach it at
    allowed_hosts: tuple[str, ...] = ()
    # start the simulator and the outbox worker as background tasks (tests turn this off and drive them)
    autostart: bool = True

    @property
    def base_url(self) -> str:
        """The URL people and PagerDuty reach the monitor at: `--public-url`, or the bound address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def pagerduty_base(self) -> str:
        return self.pagerduty_url.rstrip("/")

    @property
    def oauth_base(self) -> str:
        return (self.pagerduty_oauth_url or self.pagerduty_url).rstrip("/")

    @property
    def api_base(self) -> str:
        return self.pagerduty_api_url.rstrip("/") if self.pagerduty_api_url else f"{self.pagerduty_base}/api"

    @property
    def oauth_redirect_uri(self) -> str:
        return f"{self.base_url}/integrations/pagerduty/oauth/callback"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then DEMO_MONITOR_* environment variables, then explicit overrides (CLI flags)."""
        env = os.environ if environ is None else environ
        names = {
            "HOST": ("host", str),
            "PORT": ("port", int),
            "DB": ("db_path", str),
            "PAGERDUTY_URL": ("pagerduty_url", str),
            "VENDOR_KEY": ("vendor_key", str),
            "PUBLIC_URL": ("public_url", str),
            "WEBHOOK_SECRET": ("webhook_secret", str),
            "PAGERDUTY_OAUTH_URL": ("pagerduty_oauth_url", str),
            "PAGERDUTY_API_URL": ("pagerduty_api_url", str),
            "OAUTH_CLIENT_ID": ("oauth_client_id", str),
            "OAUTH_CLIENT_SECRET": ("oauth_client_secret", str),
            "FLEET_SIZE": ("fleet_size", int),
            "TICK_INTERVAL": ("tick_interval", float),
            "SEED": ("seed", int),
            "EVENTS_API_VERSION": ("events_api_version", int),
            "REALERT_SECONDS": ("realert_seconds", float),
        }
        values: dict = {}
        for suffix, (field_name, kind) in names.items():
            key = f"DEMO_MONITOR_{suffix}"
            if key in env:
                values[field_name] = kind(env[key])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
