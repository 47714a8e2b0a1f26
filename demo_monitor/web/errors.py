"""One place that turns errors into responses: JSON under /api/ and for the webhook, a readable page elsewhere."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from demo_monitor.domain.alerts import AlertError
from demo_monitor.domain.fleet import FaultError, UnknownServer
from demo_monitor.domain.rules import RuleError
from demo_monitor.exceptions import BadRequest, NotFound

log = logging.getLogger("demo_monitor")


class UnsupportedMediaType(Exception):
    """A JSON API call whose body is not application/json (415)."""

_TITLES = {400: "Bad request", 401: "Not signed", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 415: "Unsupported media type", 500: "Something went wrong"}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/integrations/pagerduty/webhook"


async def error_response(request: Request, status_code: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status_code)
    from demo_monitor.web.templating import render

    try:
        return await render(
            request, "error.html",
            {"status_code": status_code, "title": _TITLES.get(status_code, "Error"), "message": message},
            status_code=status_code,
        )
    except Exception:  # the error page itself must not fail
        log.exception("error page failed")
        return Response(f"{status_code} {message}", status_code=status_code, media_type="text/plain")


UNKNOWN_HOST = ("The monitor answers only at a loopback address (127.0.0.1, localhost, [::1]), at its --host, or at"
                " the host of its --public-url.")


def unknown_host(scope: dict) -> Response:
    """A request naming a host the monitor is not served at (DNS rebinding): 421, JSON or a bare page that shows
    nothing of the monitor's state."""
    path = scope.get("path", "")
    if path.startswith("/api/") or path == "/integrations/pagerduty/webhook":
        return JSONResponse({"error": UNKNOWN_HOST}, status_code=421)
    return HTMLResponse("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Misdirected request"
                        f"</title></head>\n<body><h1>Misdirected request</h1><p>{UNKNOWN_HOST}</p></body></html>\n",
                        status_code=421)


async def http_exception(request: Request, exc: HTTPException) -> Response:
    if exc.status_code in (404, 405) and exc.detail in ("Not Found", "Method Not Allowed"):
        message = "There is no page here." if exc.status_code == 404 else "That method is not allowed here."
    else:
        message = str(exc.detail)
    return await error_response(request, exc.status_code, message)


async def not_found(request: Request, exc: LookupError) -> Response:
    return await error_response(request, 404, str(exc))


async def bad_request(request: Request, exc: Exception) -> Response:
    return await error_response(request, 400, str(exc))


async def unsupported_media_type(request: Request, exc: UnsupportedMediaType) -> Response:
    return await error_response(request, 415, str(exc))


async def conflict(request: Request, exc: AlertError) -> Response:
    return await error_response(request, 409, str(exc))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return await error_response(request, 500, "Something went wrong on our side; the details are in the log.")


def exception_handlers() -> dict:
    return {
        HTTPException: http_exception,
        NotFound: not_found,
        UnknownServer: not_found,
        BadRequest: bad_request,
        RuleError: bad_request,
        FaultError: bad_request,
        AlertError: conflict,
        UnsupportedMediaType: unsupported_media_type,
        Exception: server_error,
    }
