"""The sandbox's router indexes its exact paths (web/route_index.py): the route it calls is the one Starlette's
own scan of routes.py picks, and what the scan answers for anything else (405, 404, a slash redirect) is kept."""

from __future__ import annotations

from starlette.routing import Match, Route, Router

from fake_pagerduty.app import create_app
from fake_pagerduty.routes import routes
from fake_pagerduty.web.route_index import IndexedRouter, exact_index


def _scanned(route_list, path: str, method: str):
    scope = {"type": "http", "path": path, "root_path": "", "method": method}
    return next((route for route in route_list if route.matches(scope)[0] is Match.FULL), None)


def test_every_indexed_path_goes_to_the_route_the_scan_picks():
    route_list = routes()
    index = exact_index(route_list)
    assert len(index) > 100  # nearly every route of routes.py has a path without parameters
    assert ("/_sandbox/events/wait", "GET") in index and ("/api/incidents", "GET") in index
    for (path, method), route in index.items():
        assert _scanned(route_list, path, method) is route, (path, method)
    for route in route_list:  # and none is left out that the scan sends to a plain route
        if isinstance(route, Route) and not route.param_convertors:
            for method in route.methods or ():
                if isinstance(_scanned(route_list, route.path, method), Route):
                    assert (route.path, method) in index


def test_an_earlier_route_with_parameters_or_a_mount_keeps_the_path_out_of_the_index():
    async def endpoint(request):  # never called
        raise AssertionError

    index = exact_index([Route("/things/{name}", endpoint), Route("/things/new", endpoint),
                         Route("/other", endpoint, methods=["POST"])])
    assert set(index) == {("/other", "POST")}


def test_the_app_uses_the_indexed_router_with_its_lifespan():
    app = create_app()
    assert isinstance(app.router, IndexedRouter) and isinstance(app.router, Router)
    assert app.router.lifespan_context is not None and app.routes is app.router.routes
    assert app.url_path_for("static", path="console.css") == "/static/console.css"


async def test_answers_through_the_index_and_around_it(sandbox):
    assert (await sandbox.get("/_sandbox/events/wait", params={"timeout": 0})).status_code == 408  # indexed
    wrong_method = await sandbox.delete("/_sandbox/events/wait")  # not indexed: the scan's 405
    assert wrong_method.status_code == 405 and set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD"}
    head = await sandbox.head("/_sandbox/events")  # GET routes take HEAD, as Starlette's do
    assert head.status_code == 200 and head.content == b""
    assert (await sandbox.get("/no/such/page")).status_code == 404
    assert (await sandbox.get("/static/console.css")).status_code == 200  # a Mount
