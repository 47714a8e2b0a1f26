"""`demo-monitor serve …`: a thin argparse CLI over create_app(settings)."""

from __future__ import annotations

import argparse

from demo_monitor.settings import (
    DEFAULT_HOST,
    DEFAULT_OAUTH_CLIENT_ID,
    DEFAULT_OAUTH_CLIENT_SECRET,
    DEFAULT_PAGERDUTY_URL,
    DEFAULT_PORT,
    DEFAULT_VENDOR_KEY,
    DEFAULT_WEBHOOK_SECRET,
    Settings,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demo-monitor", description="A demo monitoring service.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the monitor web server")
    serve.add_argument("--host", default=None, help=f"address to bind (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=None, help=f"port to bind (default {DEFAULT_PORT})")
    serve.add_argument("--db", dest="db_path", default=None, help="SQLite file, or :memory: (default)")
    serve.add_argument(
        "--pagerduty-url", default=None, help=f"PagerDuty (or sandbox) base URL (default {DEFAULT_PAGERDUTY_URL})"
    )
    serve.add_argument("--vendor-key", default=None, help=f"Connect vendor key (default {DEFAULT_VENDOR_KEY})")
    serve.add_argument("--public-url", default=None, help="URL the monitor is reached at (default http://HOST:PORT)")
    serve.add_argument(
        "--webhook-secret", default=None, help=f"v3 webhook signing secret (default {DEFAULT_WEBHOOK_SECRET})"
    )
    serve.add_argument("--pagerduty-oauth-url", default=None,
                       help="OAuth base URL for Connect with OAuth (default --pagerduty-url; PagerDuty's: "
                       "https://identity.pagerduty.com)")
    serve.add_argument("--pagerduty-api-url", default=None,
                       help="REST API base URL (default --pagerduty-url + /api; PagerDuty's: https://api.pagerduty.com)")
    serve.add_argument("--oauth-client-id", default=None,
                       help=f"the OAuth app's client id (default {DEFAULT_OAUTH_CLIENT_ID})")
    serve.add_argument("--oauth-client-secret", default=None,
                       help=f"the OAuth app's client secret (default {DEFAULT_OAUTH_CLIENT_SECRET})")
    serve.add_argument("--fleet-size", type=int, default=None, help="number of simulated servers (default 24)")
    serve.add_argument("--tick-interval", type=float, default=None, help="seconds between ticks (default 1)")
    serve.add_argument("--seed", type=int, default=None, help="random seed of the simulation (default 42)")
    serve.add_argument(
        "--events-api", dest="events_api_version", type=int, choices=(1, 2), default=None,
        help="PagerDuty Events API version to send with (default 2, with the alert's severity; "
        "1 is the Connect generic API)",
    )
    serve.add_argument(
        "--realert-seconds", type=float, default=None,
        help="an alert resolved while its condition still holds alerts again after this (default 60)",
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        db_path=args.db_path,
        pagerduty_url=args.pagerduty_url,
        vendor_key=args.vendor_key,
        public_url=args.public_url,
        webhook_secret=args.webhook_secret,
        pagerduty_oauth_url=args.pagerduty_oauth_url,
        pagerduty_api_url=args.pagerduty_api_url,
        oauth_client_id=args.oauth_client_id,
        oauth_client_secret=args.oauth_client_secret,
        fleet_size=args.fleet_size,
        tick_interval=args.tick_interval,
        seed=args.seed,
        events_api_version=args.events_api_version,
        realert_seconds=args.realert_seconds,
    )
    if settings.fleet_size < 1:
        raise SystemExit("demo-monitor: --fleet-size must be at least 1")
    if settings.realert_seconds < 0:
        raise SystemExit("demo-monitor: --realert-seconds must not be negative")
    if settings.tick_interval <= 0:
        raise SystemExit("demo-monitor: --tick-interval must be positive")
    return settings


def serve(settings: Settings) -> int:
    import uvicorn

    from demo_monitor.app import create_app
    from fake_pagerduty.bounded_http import KEEP_ALIVE_SECONDS, BoundedHttpProtocol  # deadline, cap

    print(f"Demo monitor on {settings.base_url}  (PagerDuty: {settings.pagerduty_base})", flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        http=BoundedHttpProtocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=2,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(settings_from_args(args))
    return 2
