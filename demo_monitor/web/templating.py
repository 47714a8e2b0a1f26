"""Jinja2 templates (autoescape on) and one render() that adds what every page needs."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib import resources

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from demo_monitor.domain.fleet import LABELS, UNITS
from demo_monitor.domain.rules import format_value, rule_words
from demo_monitor.web.security import csrf_token
from fake_pagerduty.domain import humanize  # the same words for times as the sandbox

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("demo_monitor").joinpath("templates"))),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_env.filters["fmt"] = format_value
_env.filters["when"] = lambda iso: (iso or "").replace("T", " ").replace("Z", " UTC")
_env.filters["exact"] = humanize.exact
_env.filters["between"] = humanize.between


@jinja2.pass_context
def _relative(context, iso: str | None) -> str:
    """'3 minutes ago' by the monitor's clock."""
    request = context.get("request")
    monitor = getattr(request.app.state, "monitor", None) if request is not None else None
    now = monitor.clock() if monitor is not None else time.time()
    return humanize.relative(iso, datetime.fromtimestamp(now, UTC))


_env.filters["relative"] = _relative
_env.globals["LABELS"] = LABELS
_env.globals["rule_words"] = rule_words
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
