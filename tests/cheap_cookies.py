"""httpx's clients read cookies only from answers that set some.

For every answer, httpx's `Cookies.extract_cookies` wraps the request and the answer for the standard library's
cookie jar, which then finds no `Set-Cookie` header in most of them: ~2% of the fast tier's CPU, which sends
tens of thousands of requests in-process (docs/benchmarks.md, ninth pass, "Fast tier"). With no `Set-Cookie` or
`Set-Cookie2` header the jar stores nothing, so skipping it changes no cookie; answers that set one go through
httpx unchanged. tests/conftest.py installs it for the whole tier; tests/test_cheap_cookies.py checks both."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx


@contextlib.contextmanager
def cookies_parsed_only_when_set() -> Iterator[None]:
    original = httpx.Cookies.extract_cookies

    def extract_cookies(self: httpx.Cookies, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            original(self, response)

    httpx.Cookies.extract_cookies = extract_cookies  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.Cookies.extract_cookies = original  # type: ignore[method-assign]
