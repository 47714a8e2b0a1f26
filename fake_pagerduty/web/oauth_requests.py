"""The OAuth journal: `/oauth/authorize`, `/oauth/token` and `/oauth/revoke` record each request here with its
outcome (`ok` or the error code, and the error description), and `GET /_sandbox/oauth/requests` shows them,
newest first, so a partner can see why a token request failed. Never a secret, a code or a token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.web.sandbox_access import guarded
from fake_pagerduty.web.sandbox_api import page_json, paging

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
OK = "ok"


def _text(value: object, size: int) -> str:
    return value[:size] if isinstance(value, str) else ""


async def record(request: Request, *, endpoint: str, client_id: object, grant_type: object, status: int,
                 outcome: str, description: str) -> None:
    state = request.app.state
    await state.store.oauth_requests.record(
        received_at=state.clock.now(), endpoint=endpoint, method=request.method,
        client_id=_text(client_id, 255), grant_type=_text(grant_type, 100) or None, status=status,
        outcome=outcome, description=description[:500])


@guarded
async def oauth_requests(request: Request) -> Response:
    limit, offset = paging(request, DEFAULT_LIMIT, MAX_LIMIT)
    client_id = request.query_params.get("client_id") or None
    rows, total = await request.app.state.store.oauth_requests.page(client_id=client_id, limit=limit, offset=offset)
    return JSONResponse(page_json("requests", rows, limit, offset, total))
