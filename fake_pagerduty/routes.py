"""The sandbox's whole URL map, in one list."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from fake_pagerduty.web import events_api, sandbox_ca


def routes() -> list[BaseRoute]:
    return [
        # Events API
        Route("/generic/2010-04-15/create_event.json", events_api.create_event_v1, methods=["POST"]),
        Route("/v2/enqueue", events_api.enqueue_v2, methods=["POST"]),
        Route("/v2/enqueue/", events_api.enqueue_v2, methods=["POST"]),
        Route("/v2/change/enqueue", events_api.enqueue_change, methods=["POST"]),
        Route("/v2/change/enqueue/", events_api.enqueue_change, methods=["POST"]),
        # Sandbox controls
        Route("/_sandbox/ca.pem", sandbox_ca.ca_pem, methods=["GET"]),
    ]
