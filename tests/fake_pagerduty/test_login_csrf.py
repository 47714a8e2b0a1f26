"""Login CSRF: anonymous forms' tokens are bound to the browser's pre-session id (`pd_csrf`) by an HMAC the
sandbox alone can make, so a planted cookie with a "matching" token cannot sign a victim in as someone else."""

from __future__ import annotations

import httpx

from tests.fake_pagerduty.webpages import CONNECT, csrf, db_rows

DEMO = {"email": "demo@acme.test", "password": "demo"}
PLANTED = "attacker-chosen-pre-session-id-0123456789"


async def test_a_planted_cookie_and_token_pair_does_not_sign_anyone_in(sandbox, sandbox_settings):
    sandbox.cookies.set("pd_csrf", PLANTED, domain="sandbox.test")
    response = await sandbox.post("/login", data={"csrf_token": PLANTED, **DEMO})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert "pd_session" not in sandbox.cookies
    assert db_rows(sandbox_settings.db_path, "SELECT * FROM sessions") == []


async def test_the_form_token_is_not_the_cookie_and_works_only_with_its_own_cookie(sandbox_app, sandbox):
    page = await sandbox.get("/login")
    token, cookie = csrf(page.text, "/login"), sandbox.cookies["pd_csrf"]
    assert token != cookie
    # Another browser's issued pair: this browser's cookie with that browser's token is refused.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox.test") as other:
        other_token = csrf((await other.get("/login")).text, "/login")
    assert (await sandbox.post("/login", data={"csrf_token": other_token, **DEMO})).status_code == 403
    # The cookie submitted as the token (the old double submit) is refused too.
    assert (await sandbox.post("/login", data={"csrf_token": cookie, **DEMO})).status_code == 403
    # The pair the sandbox issued to this browser works.
    assert (await sandbox.post("/login", data={"csrf_token": token, **DEMO})).status_code == 303


async def test_every_anonymous_form_refuses_a_planted_pair(sandbox):
    sandbox.cookies.set("pd_csrf", PLANTED, domain="sandbox.test")
    forms = {
        "/signup": {"subdomain": "evil", "account_name": "Evil", "user_name": "Eve", "email": "eve@evil.test",
                    "password": "correct horse battery"},
        "/connect/cancel": {"vendor": "demo-monitor", "callback": "http://127.0.0.1:8123/cb?state=x"},
    }
    for path, fields in forms.items():
        response = await sandbox.post(path, data={"csrf_token": PLANTED, **fields})
        assert response.status_code == 403, (path, response.status_code)
        assert "location" not in response.headers


async def test_a_browser_that_says_the_form_came_from_another_site_is_refused(sandbox):
    token = csrf((await sandbox.get("/login")).text, "/login")
    for where in ("cross-site", "same-site"):
        response = await sandbox.post("/login", data={"csrf_token": token, **DEMO},
                                      headers={"Sec-Fetch-Site": where})
        assert response.status_code == 403, where
    response = await sandbox.post("/login", data={"csrf_token": token, **DEMO},
                                  headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303


async def test_the_cancel_form_on_the_sign_in_step_carries_the_bound_token(sandbox):
    page = await sandbox.get(CONNECT)
    assert page.status_code == 303  # not signed in: to the sign-in page, with the handshake's cancel form
    login = await sandbox.get(page.headers["location"])
    cancel_action = "/connect/cancel"
    token = csrf(login.text, cancel_action)
    assert token != sandbox.cookies["pd_csrf"]
    response = await sandbox.post(cancel_action, data={
        "csrf_token": token, "vendor": "demo-monitor", "callback": "http://127.0.0.1:8123/cb?state=x"})
    assert response.status_code in (302, 303)
    assert "error=cancelled" in response.headers["location"]
