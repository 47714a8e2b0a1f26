"""OAuth apps in the store and the seed (issue 14): the Demo Monitor's app, the state dump, resets."""

from __future__ import annotations

from fake_pagerduty import seed
from fake_pagerduty.domain.oauth import token_hash


async def test_the_demo_monitors_oauth_app_is_seeded(sandbox_app):
    app = await sandbox_app.state.store.oauth.app(seed.DEMO_OAUTH_CLIENT_ID)
    assert app["name"] == "Demo Monitor"
    assert (app["kind"], app["client_type"]) == ("scoped", "confidential")
    assert app["secret_hash"] == token_hash("demo-monitor-oauth-secret")
    assert "http://127.0.0.1:*/integrations/pagerduty/oauth/callback" in app["redirect_uris"]
    assert "http://localhost:*/integrations/pagerduty/oauth/callback" in app["redirect_uris"]
    assert {"incidents.read", "incidents.write", "services.read", "services.write"} <= set(app["scopes"])


async def test_the_state_dump_lists_oauth_apps_without_secrets(sandbox):
    state = (await sandbox.get("/_sandbox/state")).json()
    [app] = state["oauth_apps"]
    assert app["client_id"] == "demo-monitor-oauth"
    assert "secret_hash" not in app and "client_secret" not in app
    assert "demo-monitor-oauth-secret" not in str(state)


async def test_a_full_reset_restores_the_seeded_app_and_drops_tokens(sandbox, sandbox_app):
    store = sandbox_app.state.store
    now = sandbox_app.state.clock.now()
    await store.oauth.delete_app("demo-monitor-oauth")
    assert await store.oauth.app("demo-monitor-oauth") is None
    assert (await sandbox.post("/_sandbox/reset")).status_code == 200  # a plain reset re-creates missing ones
    assert await store.oauth.app("demo-monitor-oauth") is not None
    await store.oauth.issue([{"token_hash": "h", "kind": "access", "client_id": "demo-monitor-oauth",
                              "account_id": "PACME00", "user_id": "PDANA00", "scopes": "openid",
                              "expires_at": now, "created_at": now}])
    assert (await sandbox.post("/_sandbox/reset?full=true")).status_code == 200
    assert await store.oauth.token("h") is None
    assert [a["client_id"] for a in await store.oauth.apps()] == ["demo-monitor-oauth"]


async def test_a_seed_file_adds_an_oauth_app(tmp_path):
    from fake_pagerduty.app import create_app
    from fake_pagerduty.settings import Settings

    path = tmp_path / "seed.json"
    path.write_text('{"oauth_apps": [{"client_id": "acme-oauth", "client_secret": "s", "kind": "classic",'
                    ' "client_type": "public", "redirect_uris": ["http://127.0.0.1:9000/cb"], "account": "acme"}]}')
    app = create_app(Settings(db_path=str(tmp_path / "db.sqlite"), seed_file=path, public_url="http://sandbox.test"))
    async with app.router.lifespan_context(app):
        found = await app.state.store.oauth.app("acme-oauth")
        assert (found["kind"], found["client_type"], found["account_id"]) == ("classic", "public", "PACME00")
