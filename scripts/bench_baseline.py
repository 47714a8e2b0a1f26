"""The benchmark's baseline: a bare Starlette app that answers the Events API endpoints with PagerDuty's
success bodies and does nothing else (it reads the request body, and neither parses nor stores it).

Run under the same uvicorn settings as `fake-pagerduty serve` (see fake_pagerduty/server.py), so that
scripts/bench measures what the sandbox itself costs:

    .venv/bin/python scripts/bench_baseline.py --port 8099
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

V2_BODY = b'{"status":"success","message":"Event processed","dedup_key":"00000000000000000000000000000000"}'
V1_BODY = b'{"status":"success","message":"Event processed","incident_key":"00000000000000000000000000000000"}'


async def enqueue_v2(request: Request) -> Response:
    await request.body()
    return Response(V2_BODY, status_code=202, media_type="application/json")


async def create_event_v1(request: Request) -> Response:
    await request.body()
    return Response(V1_BODY, status_code=200, media_type="application/json")


app = Starlette(
    routes=[
        Route("/v2/enqueue", enqueue_v2, methods=["POST"]),
        Route("/generic/2010-04-15/create_event.json", create_event_v1, methods=["POST"]),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    # The same options as fake_pagerduty.server.serve.
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info",
                            proxy_headers=False, server_header=False, access_log=args.access_log)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
