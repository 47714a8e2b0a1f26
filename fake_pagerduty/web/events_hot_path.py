"""The Events API's shortcut through the app: POSTs to an events endpoint go straight to it.

Installed as the app's first middleware after the host check (web/host_guard.py), inside Starlette's
ServerErrorMiddleware, so an unexpected error is still a plain 500. It looks up the exact paths of the routes in
routes.py whose endpoint is an `EventsEndpoint` and calls that endpoint directly, skipping the security headers,
the sessions middleware, the exception middleware and the router, which have nothing to do for these requests. Anything else — other paths, other methods
(the router's 405 with `Allow: POST`) — goes on through the app as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fake_pagerduty.web.events_api import EventsEndpoint


class EventsHotPath:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.endpoints = {
            (route.path, method): route.endpoint
            for route in routes
            if isinstance(route, Route) and isinstance(route.endpoint, EventsEndpoint)
            for method in route.methods or ()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.endpoints.get((scope["path"], scope["method"]))
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
