"""The integration report (issue 20), `GET /_sandbox/report`: how a sender's requests measure up to PagerDuty's
practices (`domain/report_checks.py`, `domain/payload_checks.py`), one check a row, with links to the journal
entries that prove it.

JSON for clients (`?routing_key=K`, or `vendor_key=` for every key a partner app's handshakes made, or
`client=` for the events that name that `client`; `since=` a journal id or an ISO time, else everything since
the last reset); the same path is a page for browsers (a request that accepts `text/html` first), like
`/_sandbox` is. The page shows the data itself unless the controls need the sandbox token; then it says so.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import report_checks, report_terms
from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.web.sandbox_access import guarded, token_required

REPORT_MAX_ROWS = 10_000
FILTERS = ("routing_key", "vendor_key", "client")


def wants_page(request: Request) -> bool:
    """A browser asking for the page: `text/html` before any JSON in Accept."""
    accept = request.headers.get("accept", "")
    html, json_at = accept.find("text/html"), accept.find("application/json")
    return html != -1 and (json_at == -1 or html < json_at)


def evidence(ids: list[int]) -> list[dict]:
    """Journal ids as links: the console's page of the entry and the sandbox journal's JSON of it."""
    return [{"event_id": i, "console_url": f"/events/{i}",
             "journal_url": f"/_sandbox/events?since={i}&order=asc&limit=1"} for i in ids]


def checks_json(checks: list[dict]) -> list[dict]:
    return [{**check, "evidence": evidence(check["evidence"])} for check in checks]


def _since(request: Request) -> tuple[int | None, str | None]:
    since = request.query_params.get("since", "").strip()
    if not since:
        return None, None
    if since.isdigit() and len(since) <= 18:  # a journal id (SQLite's integers stop at 2**63)
        return int(since), None
    moment = parse_iso(since)
    if moment is None:
        raise SandboxError.invalid(["'since' must be a journal id or an ISO 8601 time"])
    return None, iso(moment)


def _filter(request: Request) -> tuple[str, str]:
    params = request.query_params
    given = [(name, params[name].strip()) for name in FILTERS if params.get(name, "").strip()]
    if len(given) != 1:
        raise SandboxError.invalid(["give one of 'routing_key', 'vendor_key' or 'client'"])
    return given[0]


async def build(state, name: str, value: str, since_id: int | None, since_time: str | None) -> dict:
    rows, truncated = await state.store.exams.report_rows(name, value, since_id=since_id, since_time=since_time,
                                                          limit=REPORT_MAX_ROWS)
    sent = [report_terms.Sent.from_row(row) for row in rows]
    resolved_at = await state.store.exams.resolved_at([s.incident_id for s in sent])
    checks = [c.to_dict() for c in report_checks.report(sent, strict=state.strict is not None,
                                                        resolved_at=resolved_at)]
    return {
        "filter": {name: value}, "since": since_id if since_id is not None else since_time,
        "generated_at": iso(state.clock.now()), "status": report_terms.overall(checks),
        "events_seen": len(sent), "truncated": truncated, "checks": checks_json(checks),
    }


@guarded
async def _report_json(request: Request) -> Response:
    name, value = _filter(request)
    since_id, since_time = _since(request)
    return JSONResponse({"report": await build(request.app.state, name, value, since_id, since_time)})


async def report(request: Request) -> Response:
    if not wants_page(request):
        return await _report_json(request)
    state = request.app.state
    context: dict = {"locked": token_required(state.settings), "report": None, "keys": [], "exam": None}
    if not context["locked"]:
        if any(request.query_params.get(name) for name in FILTERS):
            name, value = _filter(request)
            since_id, since_time = _since(request)
            context["report"] = await build(state, name, value, since_id, since_time)
        else:
            context["keys"] = await state.store.exams.routing_keys_seen()
    return state.templates.TemplateResponse(request, "sandbox_report.html", context)
