"""Jinja2 templates (autoescape on) and one render() that adds what every page needs."""

from __future__ import annotations

from importlib import resources

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from demo_monitor.domain.fleet import LABELS, UNITS
from demo_monitor.domain.rules import format_value
from demo_monitor.web.security import csrf_token

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("demo_monitor").joinpath("templates"))),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_env.filters["fmt"] = format_value
_env.filters["when"] = lambda iso: (iso or "").replace("T", " ").replace("Z", " UTC")
_env.globals["LABELS"] = LABELS
_env.globals["UNITS"] = UNITS
templates = Jinja2Templates(env=_env)


async def render(request: Request, name: str, context: dict | None = None, status_code: int = 200) -> HTMLResponse:
    connection = getattr(request.app.state, "connection", None)
    integration = await connection.integration_json() if connection else {"connected": False}
    full = {
        "csrf_token": csrf_token(request) if hasattr(request.app.state, "secret_key") else "",
        "integration": integration,
        "path": request.url.path,
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, full, status_code=status_code)
