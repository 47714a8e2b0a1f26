"""tests/cheap_cookies.py: answers that set a cookie still set it, answers that set none change nothing, and
httpx is given back as it was."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.cheap_cookies import cookies_parsed_only_when_set


def _app() -> Starlette:
    def sets(request):
        response = PlainTextResponse("set")
        response.set_cookie("session", "abc")
        return response

    def clears(request):
        response = PlainTextResponse("cleared")
        response.delete_cookie("session")
        return response

    def plain(request):
        return PlainTextResponse(request.headers.get("cookie", ""))

    return Starlette(routes=[Route("/sets", sets), Route("/clears", clears), Route("/plain", plain)])


async def test_cookies_set_kept_and_cleared_as_httpx_does():
    with cookies_parsed_only_when_set():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://app.test") as client:
            assert (await client.get("/plain")).text == ""
            await client.get("/sets")
            assert dict(client.cookies) == {"session": "abc"}
            assert (await client.get("/plain")).text == "session=abc"  # an answer with no Set-Cookie keeps it
            assert dict(client.cookies) == {"session": "abc"}
            await client.get("/clears")
            assert dict(client.cookies) == {}


def test_httpx_is_given_back_as_it_was():
    original = httpx.Cookies.extract_cookies
    with cookies_parsed_only_when_set():
        assert httpx.Cookies.extract_cookies is not original
    assert httpx.Cookies.extract_cookies is original
