"""The monitor's CSRF tokens are bound to its session (an HMAC of the session id under the app's secret), and
the Disconnect form carries and requires one."""

from __future__ import annotations

import hashlib
import hmac
import re

import httpx

from demo_monitor.web.security import COOKIE_NAME
from tests.demo_monitor.conftest import connect, csrf

DISCONNECT = "/integrations/pagerduty/disconnect"
PLANTED_SESSION = "planted-session-id-0123456789-abcdefghijklmnop"


def browser(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor.test")


async def connected(client) -> bool:
    return (await client.get("/api/integration")).json()["connected"]


async def test_the_disconnect_form_carries_the_sessions_token(app, client):
    await connect(app)
    page = (await client.get("/integrations/pagerduty")).text
    form = re.search(r'<form[^>]*action="/integrations/pagerduty/disconnect".*?</form>', page, re.S)
    assert form, "no Disconnect form"
    assert f'name="csrf_token" value="{await csrf(client, "/integrations/pagerduty")}"' in form.group(0)


async def test_disconnect_without_a_valid_token_is_refused_and_changes_nothing(app, client):
    await connect(app)
    await client.get("/")  # the browser has its session cookie
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}, {"csrf_token": "0" * 64}):
        response = await client.post(DISCONNECT, data=data)
        assert response.status_code == 403, data
        assert await connected(client)
    response = await client.post(DISCONNECT, data={"csrf_token": await csrf(client, "/integrations/pagerduty")})
    assert response.status_code == 303
    assert not await connected(client)


async def test_a_token_works_only_in_the_session_it_was_made_for(app, client):
    await connect(app)
    token = await csrf(client, "/integrations/pagerduty")
    async with browser(app) as other:
        other_token = await csrf(other, "/integrations/pagerduty")
        assert other_token != token
        assert (await other.post(DISCONNECT, data={"csrf_token": token})).status_code == 403
    assert (await client.post(DISCONNECT, data={"csrf_token": other_token})).status_code == 403
    assert await connected(client)


async def test_a_planted_session_with_a_token_made_without_the_secret_is_refused(app):
    await connect(app)
    guesses = [
        PLANTED_SESSION,
        hashlib.sha256(PLANTED_SESSION.encode()).hexdigest(),
        hmac.new(b"", b"csrf:" + PLANTED_SESSION.encode(), hashlib.sha256).hexdigest(),
        hmac.new(b"another-secret", b"csrf:" + PLANTED_SESSION.encode(), hashlib.sha256).hexdigest(),
    ]
    async with browser(app) as victim:
        victim.cookies.set(COOKIE_NAME, PLANTED_SESSION, domain="monitor.test")
        for guess in guesses:
            assert (await victim.post(DISCONNECT, data={"csrf_token": guess})).status_code == 403
        assert await connected(victim)


async def test_the_session_cookie_is_made_once_http_only_lax_and_secure_over_https(app):
    async with browser(app) as plain:
        first = await plain.get("/")
        session = first.headers["set-cookie"].split(";")[0].removeprefix(f"{COOKIE_NAME}=")
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session)
        assert first.headers["set-cookie"] == f"{COOKIE_NAME}={session}; Path=/; HttpOnly; SameSite=Lax"
        assert first.headers["content-type"] == "text/html; charset=utf-8"  # the page's own headers kept
        assert "set-cookie" not in (await plain.get("/")).headers  # the browser's session is kept
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://monitor.test") as tls:
        assert (await tls.get("/")).headers["set-cookie"].endswith("; Path=/; HttpOnly; SameSite=Lax; Secure")


async def test_a_session_id_of_32_to_64_safe_characters_is_kept_and_any_other_replaced(app):
    kept = ["a" * 32, "A-_9" * 16]
    replaced = ["a" * 31, "a" * 65, "a" * 31 + "!", "a" * 40 + "=="]
    for value in kept + replaced:
        async with browser(app) as visitor:
            visitor.cookies.set(COOKIE_NAME, value, domain="monitor.test")
            answer = await visitor.get("/")
            assert ("set-cookie" in answer.headers) == (value in replaced), value
    async with browser(app) as visitor:  # a cookie header that does not parse is ignored, not an error
        answer = await visitor.get("/", headers={"cookie": f"{COOKIE_NAME}={'a' * 40}; $x=1"})
        assert answer.status_code == 200 and "set-cookie" in answer.headers
    async with browser(app) as visitor:  # a well-formed one after it (HTTP/2 sends several) still counts
        answer = await visitor.get("/", headers=[("cookie", "x=1; $x=1"), ("cookie", f"{COOKIE_NAME}={'b' * 40}")])
        assert answer.status_code == 200 and "set-cookie" not in answer.headers


async def test_the_monitor_starts_and_stops_through_its_session_middleware(make_app):
    """An ASGI server sends the lifespan through the whole stack, the session middleware included."""
    app = make_app()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_a_refused_form_says_why(app, client):
    await connect(app)
    await client.get("/")
    refused = await client.post(DISCONNECT, data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert ('<p class="big">The form&#39;s security token is missing or out of date. Go back, reload the page and'
            ' try again.</p>') in refused.text
    unreadable = await client.post(DISCONNECT, content=b"csrf_token=x", headers={"content-type": "multipart/form-data"})
    assert unreadable.status_code == 400 and '<p class="big">The form could not be read.</p>' in unreadable.text
    assert await connected(client)
