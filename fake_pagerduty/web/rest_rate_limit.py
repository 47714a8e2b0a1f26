"""PagerDuty's REST API rate limit, on while the sandbox's rate-limit switch is on (contract section 9): 960
requests per minute per API key or token; over it, `429 {"error":{"message":"Rate Limit Exceeded","code":2020}}`
with `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` (seconds). The counting is
`domain/rate_limits.py`'s; `rest_common.account` asks here for every `/api` request it lets in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from fake_pagerduty.domain.rate_limits import REST_LIMIT
from fake_pagerduty.errors import RestError


class RateLimited(RestError):
    def __init__(self, reset_seconds: int) -> None:
        super().__init__(429, "Rate Limit Exceeded", 2020)
        self.reset_seconds = reset_seconds

    def response(self) -> JSONResponse:
        answer = super().response()
        answer.headers.update({"ratelimit-limit": str(REST_LIMIT), "ratelimit-remaining": "0",
                               "ratelimit-reset": str(self.reset_seconds)})
        return answer


def check(request: Request, key: str) -> None:
    """Count a REST request made with `key`; raises RateLimited when the key is over the limit."""
    state = request.app.state
    allowed, _, reset = state.rate_limiter.allow_rest(key, state.clock.now().timestamp())
    if not allowed:
        raise RateLimited(reset)
