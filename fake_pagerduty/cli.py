"""`fake-pagerduty serve …`: a thin argparse CLI over create_app(settings); `fake-pagerduty exam …` grades an
integration on a running sandbox (exam_cli.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fake_pagerduty import exam_cli
from fake_pagerduty.settings import DEFAULT_HOST, DEFAULT_PORT, Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fake-pagerduty", description="A local PagerDuty sandbox.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox web server")
    serve.add_argument("--host", default=None, help=f"address to bind (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=None, help=f"port to bind (default {DEFAULT_PORT})")
    serve.add_argument("--db", dest="db_path", default=None, help="SQLite file, or :memory: (default)")
    serve.add_argument("--seed", dest="seed_file", type=Path, default=None, help="JSON or TOML seed file")
    serve.add_argument("--public-url", default=None, help="URL the sandbox is reached at (for self/html_url)")
    serve.add_argument("--https-port", type=int, default=None,
                       help="also serve HTTPS on this port, with a certificate from the sandbox's local CA")
    serve.add_argument("--ca-dir", type=Path, default=None,
                       help="where the local CA is kept (default: next to the --db file)")
    serve.add_argument("--strict", action="store_true", default=None,
                       help="record Events API requests that deviate from PagerDuty's OpenAPI as warnings")
    serve.add_argument("--sandbox-token", default=None,
                       help="token the sandbox controls (/_sandbox/) require; needed off loopback"
                            " (or FAKE_PAGERDUTY_SANDBOX_TOKEN)")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=None,
                       help="log a line per request (default on)")
    serve.add_argument("--sqlite-on-loop", action="store_true",
                       help="do all SQLite work, events included, on the server's event loop: the quickest for one"
                            " client at a time, as in a test suite (the pytest plugin's server uses it); by default"
                            " reads run on threads and events in a writer process, for many clients at once")
    exam_cli.add_parser(sub)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        host=args.host,
        port=args.port,
        db_path=args.db_path,
        seed_file=args.seed_file,
        public_url=args.public_url,
        https_port=args.https_port,
        ca_dir=args.ca_dir,
        strict=args.strict,
        sandbox_token=args.sandbox_token,
        access_log=args.access_log,
        # the writer process is started with the socket passed by descriptor: POSIX only
        events_writer_process=os.name == "posix" and not args.sqlite_on_loop,
        sqlite_on_loop=args.sqlite_on_loop,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from fake_pagerduty.server import serve

        return serve(settings_from_args(args))
    if args.command == "exam":
        return exam_cli.main(args, env=dict(os.environ))
    return 2
