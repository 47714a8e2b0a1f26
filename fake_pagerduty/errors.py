"""PagerDuty's exact error bodies, raised as exceptions and serialised in one place (`handlers`).

Events API errors carry `{"status", "message", "errors"?}`; REST API errors carry
`{"error": {"message", "code", "errors"?}}`. Handlers raise; `app.py` installs `handlers` so every
error leaves the sandbox in PagerDuty's format and never as a stack trace.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

THROTTLE_MESSAGE_V1 = "Requests for this service are arriving too quickly. Please retry later."
THROTTLE_MESSAGE_V2 = "Requests for this service are arriving too quickly.  Please retry later."


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # made once: every event answers with it


def compact_json(body: dict) -> str:
    """PagerDuty's Events API answers in compact JSON."""
    return _COMPACT.encode(body)


class EventsApiError(Exception):
    """An Events API (v1, v2, change) error response."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body

    @classmethod
    def invalid(cls, errors: list[str]) -> EventsApiError:
        return cls(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})

    @classmethod
    def unrecognized(cls, error: str = "JSON parse error") -> EventsApiError:
        return cls(400, {"status": "unrecognized object", "message": "Event object format is unrecognized",
                         "errors": [error]})

    @classmethod
    def too_large(cls, limit_bytes: int) -> EventsApiError:
        return cls.invalid([f"Event object is too large (maximum is {limit_bytes // 1024} KB)"])

    @classmethod
    def throttled(cls, api: str) -> EventsApiError:
        """v1 answers 403, v2 and change events 429, each with its own wording."""
        if api == "v1":
            return cls(403, {"status": "throttle exceeded", "message": THROTTLE_MESSAGE_V1})
        return cls(429, {"status": "throttle exceeded", "message": THROTTLE_MESSAGE_V2})

    def response(self) -> Response:
        return Response(compact_json(self.body), status_code=self.status, media_type="application/json")


class RestError(Exception):
    """A REST API error: `{"error": {"message", "code", "errors"}}`."""

    def __init__(self, status: int, message: str, code: int, errors: list[str] | None = None,
                 extra: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.errors = status, message, code, errors
        self.extra = extra

    @classmethod
    def unauthorized(cls) -> RestError:
        return cls(401, "Authentication failed", 2006)

    @classmethod
    def not_found(cls) -> RestError:
        return cls(404, "Not Found", 2100)

    @classmethod
    def invalid_input(cls, *errors: str) -> RestError:
        return cls(400, "Invalid Input Provided", 2001, list(errors))

    @classmethod
    def missing_arguments(cls, *errors: str) -> RestError:
        return cls(400, "Missing Arguments", 2003, list(errors))

    @classmethod
    def missing_scopes(cls, scope: str) -> RestError:
        """An OAuth token without the scope an endpoint needs. The code: PagerDuty's answer as clients log it
        ("Token missing required scopes (code: 0)", terraform-provider-pagerduty issue 1078): 0."""
        return cls(403, "Token missing required scopes", 0, extra={"required_scopes": scope})

    def response(self) -> JSONResponse:
        error: dict = {"message": self.message, "code": self.code}
        if self.errors:
            error["errors"] = self.errors
        if self.extra:
            error.update(self.extra)
        return JSONResponse({"error": error}, status_code=self.status)


class SandboxError(Exception):
    """An error from the sandbox controls (`/_sandbox/…`): `{"error": {"message", "code", "errors"?}}`,
    where `code` is the HTTP status."""

    def __init__(self, status: int, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors

    @classmethod
    def invalid(cls, errors: list[str], message: str = "Invalid Input Provided") -> SandboxError:
        return cls(400, message, errors)

    @classmethod
    def not_found(cls, message: str = "Not Found") -> SandboxError:
        return cls(404, message)

    @classmethod
    def unauthorized(cls) -> SandboxError:
        return cls(401, "A sandbox token is required: send 'Authorization: Bearer <token>' or 'X-Sandbox-Token'")

    def response(self) -> JSONResponse:
        error: dict = {"message": self.message, "code": self.status}
        if self.errors:
            error["errors"] = self.errors
        return JSONResponse({"error": error}, status_code=self.status)


BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    "</body>\r\n</html>\r\n"
)


def fault_body(status: int, api: str) -> tuple[str, str]:
    """What an injected fault answers for `status` on an Events API `api`: (body, media type).

    403 and 429 carry PagerDuty's own throttle body (worded for v1 or v2); 502 is the HTML page a load
    balancer sends; other statuses a JSON body in the Events API's shape."""
    if status in (403, 429):
        return compact_json(EventsApiError.throttled(api).body), "application/json"
    if status == 502:
        return BAD_GATEWAY_PAGE, "text/html"
    messages = {
        500: ("internal error", "An internal error occurred. Please retry later."),
        503: ("service unavailable", "The service is temporarily unavailable. Please retry later."),
        504: ("gateway timeout", "The request timed out. Please retry later."),
    }
    if status in messages:
        name, message = messages[status]
    else:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        name, message = phrase.lower(), phrase
    return compact_json({"status": name, "message": message}), "application/json"


class PageError(Exception):
    """A clear 4xx page for people (a bad handshake link, a missing page)."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail


class SignInRequired(Exception):
    """A person's page asked for without a session: off to the sign-in page, then back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    return RedirectResponse("/login?" + urlencode({"next": exc.next_path}), status_code=303)


async def _events_api_error(request: Request, exc: EventsApiError) -> Response:
    return exc.response()


async def _rest_error(request: Request, exc: RestError) -> Response:
    return exc.response()


def _wants_rest(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _wants_events_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/v2/") or path.startswith("/generic/")


async def _sandbox_error(request: Request, exc: SandboxError) -> Response:
    return exc.response()


def _wants_sandbox_api(request: Request) -> bool:
    return request.url.path.startswith("/_sandbox/")


async def _page_error(request: Request, exc: PageError) -> Response:
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{exc.title}</h1>", status_code=exc.status)
    return templates.TemplateResponse(
        request, "error.html", {"title": exc.title, "detail": exc.detail, "status": exc.status}, status_code=exc.status
    )


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    """Starlette's own 404/405: in PagerDuty's format on API paths, a page elsewhere."""
    headers = getattr(exc, "headers", None)
    if _wants_rest(request):
        if exc.status_code == 405:
            response = RestError(405, "Method Not Allowed", 2000).response()
        elif exc.status_code == 404:
            response = RestError.not_found().response()
        else:
            response = RestError(exc.status_code, exc.detail or "Error", 2000).response()
    elif _wants_sandbox_api(request):
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        response = SandboxError(exc.status_code, titles.get(exc.status_code, exc.detail or "Error")).response()
    elif _wants_events_api(request):
        response = Response(
            compact_json({"status": "error", "message": exc.detail or "Error"}),
            status_code=exc.status_code,
            media_type="application/json",
        )
    else:
        titles = {404: "Page not found", 405: "Method not allowed"}
        response = await _page_error(
            request, PageError(exc.status_code, titles.get(exc.status_code, exc.detail or "Error"))
        )
    if headers:
        response.headers.update(headers)
    return response


UNKNOWN_HOST = ("The sandbox answers only at a loopback address (127.0.0.1, localhost, [::1]), at its --host, or at"
                " the host of its --public-url")
UNKNOWN_HOST_PAGE = (
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>421 Misdirected Request</title></head>\n"
    f"<body><h1>421 Misdirected Request</h1><p>{UNKNOWN_HOST}.</p></body></html>\n"
)


def unknown_host(scope: dict) -> Response:
    """A request naming a host the sandbox is not served at (DNS rebinding): 421, in the format of its path."""
    path = scope.get("path", "")
    if path.startswith("/api/"):
        return RestError(421, UNKNOWN_HOST, 2000).response()
    if path.startswith("/_sandbox/"):
        return SandboxError(421, UNKNOWN_HOST).response()
    if path.startswith("/v2/") or path.startswith("/generic/"):
        return Response(compact_json({"status": "error", "message": UNKNOWN_HOST}), status_code=421,
                        media_type="application/json")
    return HTMLResponse(UNKNOWN_HOST_PAGE, status_code=421)


handlers = {
    EventsApiError: _events_api_error,
    RestError: _rest_error,
    PageError: _page_error,
    SandboxError: _sandbox_error,
    SignInRequired: _sign_in_required,
    HTTPException: _http_exception,
}
