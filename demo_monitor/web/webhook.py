"""PagerDuty v3 webhooks: signed with --webhook-secret; a bad signature is a 401 and changes nothing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_BODY = 1024 * 1024


async def receive(request: Request):
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "the body is too large"}, status_code=413)
    status, payload = await request.app.state.connection.receive_webhook(
        body, request.headers.get("x-pagerduty-signature")
    )
    return JSONResponse(payload, status_code=status)
