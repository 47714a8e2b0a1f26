"""Run the sandbox under uvicorn: HTTP, and with `--https-port` HTTPS too, from one app in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import uvicorn
from starlette.applications import Starlette

from fake_pagerduty import tls
from fake_pagerduty.app import create_app
from fake_pagerduty.bounded_http import KEEP_ALIVE_SECONDS, BoundedHttpProtocol
from fake_pagerduty.seed import SeedError, load_seed_file
from fake_pagerduty.settings import Settings


def _config(app: Starlette, settings: Settings, port: int, **extra) -> uvicorn.Config:
    return uvicorn.Config(app, host=settings.host, port=port, log_level="info", http=BoundedHttpProtocol,
                          timeout_keep_alive=KEEP_ALIVE_SECONDS, proxy_headers=False, server_header=False,
                          access_log=settings.access_log, **extra)


def serve(settings: Settings) -> int:
    if settings.seed_file:
        try:
            load_seed_file(settings.seed_file)
        except SeedError as exc:
            print(f"fake-pagerduty: {exc}", file=sys.stderr)
            return 2
    if settings.sandbox_token_required and not settings.sandbox_token:
        print(f"fake-pagerduty: refusing to bind {settings.host} without a sandbox token: anyone who can reach"
              " it could reset or rewrite the sandbox. Pass --sandbox-token TOKEN (or set"
              " FAKE_PAGERDUTY_SANDBOX_TOKEN), or bind 127.0.0.1.", file=sys.stderr)
        return 2
    app = create_app(settings, announce=True)
    servers = [_Server(_config(app, settings, settings.port, lifespan="off"))]
    with contextlib.ExitStack() as stack:
        if settings.https_port is not None:
            try:
                ca = tls.load_or_create_ca(tls.ca_dir(settings))
            except OSError as exc:
                print(f"fake-pagerduty: cannot create the local CA in {tls.ca_dir(settings)}: {exc}",
                      file=sys.stderr)
                return 2
            state = "created" if ca.created else "kept"
            print(f"fake-pagerduty local CA ({state}): {ca.cert_path}", flush=True)
            print("Trust this certificate to call the sandbox over HTTPS (also served at /_sandbox/ca.pem):",
                  flush=True)
            print(ca.cert_pem, end="", flush=True)
            cert_file = stack.enter_context(ca.server_cert_file(tls.server_names(settings)))
            servers.append(_Server(_config(app, settings, settings.https_port, lifespan="off",
                                           ssl_certfile=cert_file)))
        with asyncio.Runner(loop_factory=_loop_factory(servers[0].config)) as runner:
            return runner.run(_run_together(app, servers))


def _loop_factory(config: uvicorn.Config):
    """uvicorn's choice of event loop (uvloop when installed), as `uvicorn.Server.run` would make it."""
    get = getattr(config, "get_loop_factory", None)
    if get is not None:
        return get()
    config.setup_event_loop()  # uvicorn < 0.36 sets the policy instead
    return None


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `_run_together`, which stops every server at once."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def _run_together(app: Starlette, servers: list[uvicorn.Server]) -> int:
    """Run the app's lifespan once, around several servers sharing the app; stop them all when one stops."""

    def stop() -> None:
        for server in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
            handled.append(sig)

    async def run(server: uvicorn.Server) -> bool:
        try:
            await server.serve()
            return server.started
        except SystemExit:  # uvicorn exits this way when it cannot bind its port
            return False
        finally:
            stop()

    try:
        async with app.router.lifespan_context(app):
            results = await asyncio.gather(*(run(server) for server in servers))
    except Exception as exc:  # a failed startup: say what, never a stack trace
        print(f"fake-pagerduty: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    return 0 if all(results) else 1
