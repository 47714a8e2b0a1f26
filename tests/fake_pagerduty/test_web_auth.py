"""Sign in, sign up, sign out: sessions, CSRF, ?next=, the failed-login limit."""

from __future__ import annotations

import hashlib

from fake_pagerduty.passwords import hash_password
from tests.fake_pagerduty.webpages import CONNECT, csrf, db_rows, sign_in


async def test_login_page_has_the_fields_and_shows_the_sandbox_credentials(sandbox):
    response = await sandbox.get("/login")
    assert response.status_code == 200
    page = response.text
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert ">Sign in</button>" in page
    assert "demo@acme.test" in page and "<code>demo</code>" in page
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pd_csrf=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_sign_in_sets_a_server_side_session_and_lands_on_incidents(sandbox, sandbox_settings):
    response = await sign_in(sandbox)
    assert response.status_code == 303
    assert response.headers["location"] == "/incidents"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pd_session=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    session_id = sandbox.cookies["pd_session"]
    rows = db_rows(sandbox_settings.db_path, "SELECT * FROM sessions")
    assert [row["user_id"] for row in rows] == ["PDANA00"]
    # Only a hash of the id is stored.
    assert rows[0]["id_hash"] == hashlib.sha256(session_id.encode()).hexdigest()
    page = await sandbox.get("/incidents")
    assert page.status_code == 200
    assert "Acme Corp" in page.text and "Dana Demo" in page.text and "Sign out" in page.text


async def test_wrong_password_is_a_clear_form_error(sandbox, sandbox_settings):
    response = await sign_in(sandbox, password="nope")
    assert response.status_code == 400
    assert "Wrong email or password." in response.text
    assert "pd_session" not in sandbox.cookies
    unknown = await sign_in(sandbox, email="nobody@acme.test")
    assert unknown.status_code == 400
    assert db_rows(sandbox_settings.db_path, "SELECT * FROM sessions") == []


async def test_pages_need_a_session_and_come_back_after_sign_in(sandbox):
    response = await sandbox.get("/incidents?status=open")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fincidents%3Fstatus%3Dopen"
    signed = await sign_in(sandbox, next_path="/incidents?status=open")
    assert signed.headers["location"] == "/incidents?status=open"


async def test_next_only_accepts_same_site_relative_paths(sandbox):
    for target in ("//evil.com/x", "https://evil.com/", "/\\evil.com", "javascript:alert(1)"):
        sandbox.cookies.clear()
        response = await sign_in(sandbox, next_path=target)
        assert response.status_code == 303
        assert response.headers["location"] == "/incidents", target


async def test_new_session_id_on_every_sign_in_and_the_old_one_dies(sandbox, sandbox_settings):
    await sign_in(sandbox)
    first = sandbox.cookies["pd_session"]
    await sign_in(sandbox)
    second = sandbox.cookies["pd_session"]
    assert first != second
    assert len(db_rows(sandbox_settings.db_path, "SELECT * FROM sessions")) == 1
    sandbox.cookies.set("pd_session", first, domain="sandbox.test")
    response = await sandbox.get("/incidents")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_sign_out_deletes_the_session(sandbox, sandbox_settings):
    await sign_in(sandbox)
    session_id = sandbox.cookies["pd_session"]
    page = await sandbox.get("/incidents")
    response = await sandbox.post("/logout", data={"csrf_token": csrf(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert db_rows(sandbox_settings.db_path, "SELECT * FROM sessions") == []
    sandbox.cookies.set("pd_session", session_id, domain="sandbox.test")
    assert (await sandbox.get("/incidents")).status_code == 303


async def test_forms_without_the_right_csrf_token_get_a_403_page(sandbox, sandbox_settings):
    await sandbox.get("/login")  # the browser has its CSRF cookie
    for data in ({}, {"csrf_token": "x" * 43}):
        response = await sandbox.post("/login", data={"email": "demo@acme.test", "password": "demo", **data})
        assert response.status_code == 403
        assert "This form has expired" in response.text
    assert db_rows(sandbox_settings.db_path, "SELECT * FROM sessions") == []
    # A token without the matching cookie (another browser's) is refused too.
    page = await sandbox.get("/login")
    token = csrf(page.text)
    sandbox.cookies.clear()
    response = await sandbox.post("/login", data={"csrf_token": token, "email": "demo@acme.test", "password": "demo"})
    assert response.status_code == 403
    # Signed in: sign-out needs the session's token.
    await sign_in(sandbox)
    assert (await sandbox.post("/logout", data={"csrf_token": token})).status_code == 403
    assert len(db_rows(sandbox_settings.db_path, "SELECT * FROM sessions")) == 1


async def test_failed_logins_are_limited_per_email(sandbox, sandbox_app):
    for _ in range(10):
        assert (await sign_in(sandbox, password="wrong")).status_code == 400
    blocked = await sign_in(sandbox)  # even the right password
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.text
    assert "pd_session" not in sandbox.cookies
    # Another account is not affected.
    await sandbox_app.state.store.accounts.upsert_user(
        id="PHANK00", account_id="PACME00", name="Hank", email="hank@acme.test",
        password_hash=hash_password("pw"),
        now=sandbox_app.state.clock.now(),
    )
    assert (await sign_in(sandbox, email="hank@acme.test", password="pw")).status_code == 303
    # Five minutes later the demo account may try again.
    sandbox_app.state.clock.advance(301)
    assert (await sign_in(sandbox)).status_code == 303


async def test_signup_creates_an_account_and_signs_in(sandbox, sandbox_settings):
    page = await sandbox.get("/signup?next=/services")
    assert page.status_code == 200
    for label in ("Subdomain", "Account name", "Your name", "Email", "Password"):
        assert f">{label}</label>" in page.text
    response = await sandbox.post("/signup", data={
        "csrf_token": csrf(page.text), "next": "/services", "subdomain": "globex", "account_name": "Globex",
        "user_name": "Hank Scorpio", "email": "hank@globex.test", "password": "volcano",
    })
    assert response.status_code == 303 and response.headers["location"] == "/services"
    accounts = db_rows(sandbox_settings.db_path, "SELECT * FROM accounts WHERE subdomain = 'globex'")
    assert [a["name"] for a in accounts] == ["Globex"]
    users = db_rows(sandbox_settings.db_path, "SELECT * FROM users WHERE email = 'hank@globex.test'")
    assert users[0]["account_id"] == accounts[0]["id"]
    assert users[0]["password_hash"].startswith("$argon2")
    services = await sandbox.get("/services")
    assert "Globex" in services.text and "Acme Website" not in services.text
    # And the password works on the sign-in page.
    sandbox.cookies.delete("pd_session")
    assert (await sign_in(sandbox, email="hank@globex.test", password="volcano")).status_code == 303


async def test_signup_form_errors(sandbox, sandbox_settings):
    page = await sandbox.get("/signup")
    token = csrf(page.text)
    good = {"csrf_token": token, "subdomain": "initech", "account_name": "Initech", "user_name": "Bill",
            "email": "bill@initech.test", "password": "tps-report"}
    cases = [
        ({"subdomain": "Init Tech!"}, "Use lowercase letters, digits and hyphens only"),
        ({"subdomain": "-initech"}, "Use lowercase letters, digits and hyphens only"),
        ({"subdomain": ""}, "Choose a subdomain."),
        ({"subdomain": "acme"}, "That subdomain is taken"),
        ({"email": "demo@acme.test"}, "An account with that email already exists"),
        ({"email": "not-an-email"}, "Enter an email address"),
        ({"account_name": "  "}, "Give the account a name."),
        ({"password": ""}, "Use at least 4 characters"),
    ]
    for change, message in cases:
        response = await sandbox.post("/signup", data={**good, **change})
        assert response.status_code == 400, change
        assert message in response.text, change
        assert "tps-report" not in response.text  # the password is never echoed back
    assert db_rows(sandbox_settings.db_path, "SELECT * FROM accounts WHERE subdomain = 'initech'") == []


async def test_sign_in_inside_a_handshake_offers_cancel(sandbox):
    response = await sandbox.get(CONNECT)
    assert response.status_code == 303
    login = await sandbox.get(response.headers["location"])
    assert "Demo Monitor</strong> wants to send alerts" in login.text
    assert 'action="/connect/cancel"' in login.text and ">Cancel</button>" in login.text
    plain = await sandbox.get("/login")
    assert ">Cancel</button>" not in plain.text
