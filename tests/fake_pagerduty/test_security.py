"""Security, across the sandbox: CSRF on every state-changing form (found from the URL map, so a new form is
covered or this test fails), open redirects in both handshakes, sessions, and one account's isolation from
another's (REST API and console)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from starlette.routing import Route

from fake_pagerduty.passwords import hash_password
from fake_pagerduty.routes import routes
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.webpages import CONNECT, csrf, db_rows, sign_in

GLOBEX_KEY = "0123456789abcdef0123456789abcdef"
GLOBEX_API_KEY = "globex-api-key"
GLOBEX_HEADERS = {**REST_HEADERS, "Authorization": f"Token token={GLOBEX_API_KEY}"}

# Every non-API route that changes state, with what its form needs besides the token. Machine clients' APIs
# (Events, REST, /_sandbox) authenticate by key/token and are not forms.
FORMS = {
    "/login": {"email": "demo@acme.test", "password": "demo"},
    "/signup": {"name": "Eve", "email": "eve@evil.test", "password": "secret-pw", "account_name": "Evil"},
    "/logout": {},
    "/connect": {"vendor": "demo-monitor", "callback": "http://127.0.0.1:8123/cb", "action": "create",
                 "service_name": "CSRF service"},
    "/connect/cancel": {"vendor": "demo-monitor", "callback": "http://127.0.0.1:8123/cb"},
    "/install/integration": {"app_id": "PDEMOMN", "redirect_url": "http://127.0.0.1:8123/cb", "version": "2",
                             "action": "create", "service_name": "CSRF service"},
    "/install/integration/cancel": {"app_id": "PDEMOMN", "redirect_url": "http://127.0.0.1:8123/cb",
                                    "version": "2"},
    "/incidents/{incident_id}/acknowledge": {},
    "/incidents/{incident_id}/resolve": {},
    "/incidents/{incident_id}/notes": {"content": "A forged note"},
    "/responders/{user_id}/incidents/{incident_id}/acknowledge": {},  # the on-call phone (no sign-in)
    "/responders/{user_id}/incidents/{incident_id}/resolve": {},
    "/oauth/authorize": {"client_id": "demo-monitor-oauth", "response_type": "code", "decision": "authorize",
                         "redirect_uri": "http://127.0.0.1:8000/integrations/pagerduty/oauth/callback"},
    "/account/apps/revoke": {"client_id": "demo-monitor-oauth"},
}
# /oauth/token and /oauth/revoke: OAuth clients authenticate with their client id and secret.
MACHINE_PREFIXES = ("/api/", "/_sandbox", "/v2/", "/generic/", "/oauth/token", "/oauth/revoke")
# Forms a person may send before signing in carry the per-browser token (cookie `pd_csrf`); the others the
# session's token.
BROWSER_TOKEN_FORMS = {"/login", "/signup", "/connect/cancel", "/install/integration/cancel",
                       "/responders/{user_id}/incidents/{incident_id}/acknowledge",
                       "/responders/{user_id}/incidents/{incident_id}/resolve"}


def state_changing_form_paths() -> set[str]:
    found = set()
    for route in routes():
        if isinstance(route, Route) and route.methods and route.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            if not route.path.startswith(MACHINE_PREFIXES):
                found.add(route.path)
    return found


def snapshot(db_path: str) -> dict:
    """Everything a forged form could change."""
    tables = ("sessions", "users", "accounts", "services", "integrations", "incidents", "log_entries", "oauth_codes",
              "oauth_tokens", "incident_notes")
    return {table: [tuple(row) for row in db_rows(db_path, f"SELECT * FROM {table} ORDER BY rowid")]
            for table in tables}


async def trigger(client, routing_key: str = SAMPLE_KEY, key: str = "csrf") -> str:
    answer = await client.post("/v2/enqueue", json={
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": key,
        "payload": {"summary": f"{key} down", "source": "web", "severity": "error"}})
    assert answer.status_code == 202
    return answer.json()["dedup_key"]


def incident_id(db_path: str, key: str) -> str:
    (row,) = db_rows(db_path, "SELECT id FROM incidents WHERE incident_key = ?", (key,))
    return row["id"]


def test_the_list_of_forms_is_complete():
    assert state_changing_form_paths() == set(FORMS)


@pytest.mark.parametrize("path", sorted(FORMS))
@pytest.mark.parametrize("token", [None, "", "forged-token", "<the other kind of token>"])
async def test_every_state_changing_form_refuses_a_missing_or_wrong_csrf_token(sandbox, sandbox_settings, path,
                                                                               token):
    await trigger(sandbox)
    target = path.replace("{incident_id}", incident_id(sandbox_settings.db_path, "csrf")).replace("{user_id}", "PDANA00")
    await sign_in(sandbox)
    page = await sandbox.get(CONNECT)  # a signed-in page: the browser holds both kinds of token now
    assert page.status_code == 200
    session_token = csrf(page.text)
    if token == "<the other kind of token>":  # the per-browser token is not the session's, and vice versa
        token = session_token if path in BROWSER_TOKEN_FORMS else sandbox.cookies.get("pd_csrf")
    before = snapshot(sandbox_settings.db_path)
    form = dict(FORMS[path])
    if token is not None:
        form["csrf_token"] = token
    answer = await sandbox.post(target, data=form)
    assert answer.status_code == 403, (path, answer.status_code, answer.text[:300])
    assert "location" not in answer.headers
    assert snapshot(sandbox_settings.db_path) == before


# ---- open redirects --------------------------------------------------------------------------------------

EVIL_CALLBACKS = [
    "https://evil.test/cb",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.test/cb",
    "///evil.test/cb",
    "/\\evil.test/cb",
    "\\\\evil.test\\cb",
    "http:evil.test",
    "http:/evil.test/cb",
    "https:\\\\evil.test",
    "http://127.0.0.1@evil.test/cb",
    "http://127.0.0.1:8000@evil.test/cb",
    "http://evil.test#@127.0.0.1:8000/",
    "http://evil.test?@127.0.0.1:8000/",
    "http://127.0.0.1.evil.test/cb",
    "http://localhost.evil.test:8000/cb",
    "http://evil.test\\@127.0.0.1/",
    "http://127.0.0.1%2F@evil.test/",
    "http://127.0.0.1\n.evil.test/",
    "ftp://127.0.0.1/cb",
    "/cb",
    "cb",
    "",
]


@pytest.mark.parametrize("callback", EVIL_CALLBACKS)
async def test_handshakes_never_redirect_outside_the_partner_apps_origins(sandbox, callback):
    connect = "/connect?" + urlencode({"vendor": "demo-monitor", "callback": callback})
    install = "/install/integration?" + urlencode({"app_id": "PDEMOMN", "redirect_url": callback, "version": "2"})
    for signed_in in (False, True):
        if signed_in:
            await sign_in(sandbox)
        for url in (connect, install):
            answer = await sandbox.get(url)
            assert answer.status_code == 400, (url, answer.status_code, answer.headers.get("location"))
            assert "location" not in answer.headers
    # The forms refuse the same values, sent straight to their POST endpoints with a valid token.
    session_token = csrf((await sandbox.get("/incidents")).text)
    browser_token = csrf((await sandbox.get("/login")).text, "/login")  # bound to this browser's pd_csrf cookie
    for path, fields in (("/connect", {"vendor": "demo-monitor", "callback": callback}),
                         ("/connect/cancel", {"vendor": "demo-monitor", "callback": callback}),
                         ("/install/integration", {"app_id": "PDEMOMN", "redirect_url": callback, "version": "2"}),
                         ("/install/integration/cancel", {"app_id": "PDEMOMN", "redirect_url": callback,
                                                          "version": "2"})):
        token = browser_token if path in BROWSER_TOKEN_FORMS else session_token
        for action in ("create", "cancel"):
            answer = await sandbox.post(path, data={"csrf_token": token, "action": action,
                                                    "service_name": "Redirected", **fields})
            assert answer.status_code == 400, (path, action, answer.status_code, answer.headers.get("location"))
            assert "location" not in answer.headers


@pytest.mark.parametrize("next_path", ["https://evil.test/", "//evil.test/", "/\\evil.test", "javascript:alert(1)",
                                       "http:/evil.test", " //evil.test"])
async def test_sign_in_never_sends_the_browser_elsewhere(sandbox, next_path):
    answer = await sign_in(sandbox, next_path=next_path)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


# ---- sessions --------------------------------------------------------------------------------------------

async def test_session_cookies_are_http_only_same_site_and_never_fixed(sandbox, sandbox_settings):
    sandbox.cookies.set("pd_session", "attacker-chosen-session-id", domain="sandbox.test")
    answer = await sign_in(sandbox)
    assert answer.status_code == 303
    cookies = [value for name, value in answer.headers.multi_items() if name == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith("pd_session="))
    assert "httponly" in session_cookie.lower() and "samesite=lax" in session_cookie.lower()
    new_id = re.match(r"pd_session=([^;]+)", session_cookie).group(1)
    assert new_id != "attacker-chosen-session-id" and len(new_id) >= 32
    # The session table never holds the raw id (a database leak does not leak sessions).
    assert all(new_id not in str(tuple(row)) for row in db_rows(sandbox_settings.db_path, "SELECT * FROM sessions"))


async def test_a_signed_out_session_cannot_change_anything(sandbox, sandbox_settings):
    await trigger(sandbox)
    incident = incident_id(sandbox_settings.db_path, "csrf")
    await sign_in(sandbox)
    page = await sandbox.get(f"/incidents/{incident}")
    token = csrf(page.text)
    stolen = sandbox.cookies.get("pd_session")
    assert (await sandbox.post("/logout", data={"csrf_token": token})).status_code in (302, 303)
    sandbox.cookies.set("pd_session", stolen, domain="sandbox.test")  # replay the old cookie and token
    answer = await sandbox.post(f"/incidents/{incident}/acknowledge", data={"csrf_token": token})
    assert answer.status_code in (303, 403)
    assert not answer.headers.get("location", "").startswith(f"/incidents/{incident}")
    assert db_rows(sandbox_settings.db_path, "SELECT status FROM incidents")[0]["status"] == "triggered"


async def test_failed_sign_ins_are_limited_per_account_whatever_the_spelling(sandbox):
    for attempt in range(10):
        email = ("demo@acme.test", "DEMO@ACME.TEST", "Demo@Acme.Test", " demo@acme.test ")[attempt % 4]
        answer = await sign_in(sandbox, email=email, password="wrong")
        assert answer.status_code in (400, 429)
    assert (await sign_in(sandbox)).status_code == 429


# ---- isolation between accounts -------------------------------------------------------------------------

@pytest.fixture
async def two_accounts(sandbox, sandbox_app, sandbox_settings):
    """Acme (the seed) and Globex, each with a service, an incident and a change event."""
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await store.accounts.upsert(id="PGLOBEX", subdomain="globex", name="Globex", now=now)
    await store.accounts.upsert_user(id="PHANK00", account_id="PGLOBEX", name="Hank", email="hank@globex.test",
                            password_hash=hash_password("hank-pw"), now=now)
    await store.accounts.upsert_api_key(token=GLOBEX_API_KEY, account_id="PGLOBEX", description="", now=now)
    service = await store.services.upsert(id="PGLBSVC", account_id="PGLOBEX", name="Globex Payments", now=now)
    await store.services.upsert_integration(id="PGLBINT", service_id=service, integration_key=GLOBEX_KEY, name="v2", now=now)
    await trigger(sandbox, SAMPLE_KEY, "acme-incident")
    await trigger(sandbox, GLOBEX_KEY, "globex-incident")
    for key in (SAMPLE_KEY, GLOBEX_KEY):
        assert (await sandbox.post("/v2/change/enqueue", json={"routing_key": key, "payload": {
            "summary": f"deploy by {key[:4]}", "source": "ci"}})).status_code == 202
    return {"acme": incident_id(sandbox_settings.db_path, "acme-incident"),
            "globex": incident_id(sandbox_settings.db_path, "globex-incident")}


async def test_an_api_key_cannot_read_another_accounts_data(sandbox, two_accounts):
    theirs = two_accounts["globex"]
    for path in (f"/api/incidents/{theirs}", f"/api/incidents/{theirs}/alerts",
                 f"/api/incidents/{theirs}/log_entries", "/api/services/PGLBSVC",
                 "/api/services/PGLBSVC/integrations/PGLBINT"):
        answer = await sandbox.get(path, headers=REST_HEADERS)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == 2100
        assert "Globex" not in answer.text and GLOBEX_KEY not in answer.text
    listed = (await sandbox.get("/api/incidents", headers=REST_HEADERS, params={"date_range": "all"})).json()
    assert [i["id"] for i in listed["incidents"]] == [two_accounts["acme"]]
    assert theirs not in (await sandbox.get("/api/incidents", headers=REST_HEADERS,
                                            params={"incident_key": "globex-incident"})).text
    services = (await sandbox.get("/api/services", headers=REST_HEADERS)).json()["services"]
    assert "PGLBSVC" not in [s["id"] for s in services]
    changes = (await sandbox.get("/api/change_events", headers=REST_HEADERS)).json()["change_events"]
    assert [c["summary"] for c in changes] == [f"deploy by {SAMPLE_KEY[:4]}"]
    # And the other way round.
    listed = (await sandbox.get("/api/incidents", headers=GLOBEX_HEADERS, params={"date_range": "all"})).json()
    assert [i["id"] for i in listed["incidents"]] == [theirs]


async def test_an_api_key_cannot_change_another_accounts_incidents_or_services(sandbox, sandbox_settings,
                                                                               two_accounts):
    theirs, ours = two_accounts["globex"], two_accounts["acme"]
    headers = {**REST_HEADERS, "From": "demo@acme.test"}
    before = snapshot(sandbox_settings.db_path)
    answer = await sandbox.put(f"/api/incidents/{theirs}", headers=headers,
                               json={"incident": {"type": "incident_reference", "status": "resolved"}})
    assert answer.status_code == 404
    # A bulk update naming one of ours and one of theirs changes neither.
    answer = await sandbox.put("/api/incidents", headers=headers, json={"incidents": [
        {"id": ours, "type": "incident_reference", "status": "acknowledged"},
        {"id": theirs, "type": "incident_reference", "status": "acknowledged"}]})
    assert answer.status_code in (400, 404)
    answer = await sandbox.post("/api/services/PGLBSVC/integrations", headers=headers, json={
        "integration": {"type": "events_api_v2_inbound_integration", "name": "stolen"}})
    assert answer.status_code == 404
    assert snapshot(sandbox_settings.db_path) == before


async def test_a_person_cannot_see_or_change_another_accounts_incidents_in_the_console(sandbox, sandbox_settings,
                                                                                       two_accounts):
    theirs = two_accounts["globex"]
    await sign_in(sandbox)
    listing = await sandbox.get("/incidents")
    assert "globex-incident" not in listing.text and "Globex" not in listing.text
    assert (await sandbox.get(f"/incidents/{theirs}")).status_code == 404
    assert (await sandbox.get("/services/PGLBSVC")).status_code == 404
    their_events = [row["id"] for row in db_rows(sandbox_settings.db_path,
                                                   "SELECT id FROM events WHERE account_id = 'PGLOBEX'")]
    assert len(their_events) == 2  # their trigger and their change event
    for event_id in their_events:
        answer = await sandbox.get(f"/events/{event_id}")
        assert answer.status_code == 404 and GLOBEX_KEY not in answer.text
    token = csrf(listing.text)
    before = snapshot(sandbox_settings.db_path)
    for action in ("acknowledge", "resolve"):
        answer = await sandbox.post(f"/incidents/{theirs}/{action}", data={"csrf_token": token})
        assert answer.status_code == 404
    assert snapshot(sandbox_settings.db_path) == before
