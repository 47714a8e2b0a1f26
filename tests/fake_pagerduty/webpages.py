"""Helpers for the web page tests: read forms out of HTML, sign in, parse redirects."""

from __future__ import annotations

import html
import re
import sqlite3
from urllib.parse import parse_qs, urlsplit

import httpx

DEMO_EMAIL, DEMO_PASSWORD = "demo@acme.test", "demo"
CONNECT = "/connect?vendor=demo-monitor&callback=http%3A%2F%2F127.0.0.1%3A8123%2Fcb%3Fstate%3Dx"
CALLBACK = "http://127.0.0.1:8123/cb?state=x"


def csrf(page: str, action: str | None = None) -> str:
    """The CSRF token of the first form on a page (or of the first form posting to `action`)."""
    if action is not None:
        start = page.find(f'action="{action}"')
        assert start >= 0, f"the page has no form posting to {action}"
        page = page[start:]
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return html.unescape(match.group(1))


def input_value(page: str, field_id: str) -> str:
    match = re.search(rf'<input id="{field_id}"[^>]*\bvalue="([^"]*)"', page)
    assert match, f"no input #{field_id}"
    return html.unescape(match.group(1))


async def sign_in(client: httpx.AsyncClient, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD,
                  next_path: str = "") -> httpx.Response:
    page = await client.get("/login", params={"next": next_path} if next_path else None)
    form = {"csrf_token": csrf(page.text, "/login"), "email": email, "password": password}
    if next_path:
        form["next"] = next_path
    return await client.post("/login", data=form)


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def base_of(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def db_rows(db_path: str, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()
