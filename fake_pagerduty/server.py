"""Run the sandbox under uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from fake_pagerduty.app import create_app
from fake_pagerduty.seed import SeedError, load_seed_file
from fake_pagerduty.settings import Settings


def serve(settings: Settings) -> int:
    if settings.seed_file:
        try:
            load_seed_file(settings.seed_file)
        except SeedError as exc:
            print(f"fake-pagerduty: {exc}", file=sys.stderr)
            return 2
    app = create_app(settings, announce=True)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                            proxy_headers=False, server_header=False)
    uvicorn.Server(config).run()
    return 0
