"""httpx's clients read cookies only from answers that set some.

For every answer, httpx's `Cookies.extract_cookies` wraps the request and the answer for the standard library's
cookie jar, which then finds no `Set-Cookie` header in most of them: ~2% of the fast tier's CPU, which sends
tens of thousands of requests in-process (docs/benchmarks.md, ninth pass, "Fast tier"). Without a `Set-Cookie`
header the jar stores nothing (its default policy ignores `Set-Cookie2`), so skipping it changes no cookie;
answers that set one go through httpx unchanged: the rule the plugin's in-process client uses
(`pytest_plugin.sets_cookies`). tests/conftest.py installs it for the whole tier; tests/test_cheap_cookies.py
checks both."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from fake_pagerduty.pytest_plugin import sets_cookies


@contextlib.contextmanager
def cookies_parsed_only_when_set() -> Iterator[None]:
    original = httpx.Cookies.extract_cookies

    def extract_cookies(self: httpx.Cookies, response: httpx.Response) -> None:
        if sets_cookies(response):
            original(self, response)

    httpx.Cookies.extract_cookies = extract_cookies  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.Cookies.extract_cookies = original  # type: ignore[method-assign]
