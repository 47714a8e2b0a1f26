"""The CLI and --seed files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from fake_pagerduty.app import banner, create_app
from fake_pagerduty.cli import build_parser, settings_from_args
from fake_pagerduty.seed import SeedError, load_seed_file
from fake_pagerduty.settings import Settings

TOML_SEED = """
[[accounts]]
subdomain = "globex"
name = "Globex"
users = [{ name = "Hank", email = "hank@globex.test", password = "secret" }]
api_keys = ["globex-api-key"]

[[accounts.services]]
name = "Payments"
auto_resolve_timeout = false
integrations = [{ key = "0123456789abcdef0123456789abcdef", name = "Events API v2" }]

[[partner_apps]]
vendor_key = "acme-monitor"
app_id = "PACMEMN"
name = "Acme Monitor"
webhook_url = "http://127.0.0.1:9000/hooks"
webhook_secret = "s3cret"
"""


def test_serve_flags_make_settings():
    args = build_parser().parse_args(["serve", "--host", "127.0.0.2", "--port", "9999", "--db", "x.db",
                                      "--public-url", "http://pd.test/", "--https-port", "9443"])
    settings = settings_from_args(args)
    assert (settings.host, settings.port, settings.db_path, settings.https_port) == ("127.0.0.2", 9999, "x.db", 9443)
    assert settings.base_url == "http://pd.test"


def test_defaults_bind_loopback_8090_in_memory():
    settings = settings_from_args(build_parser().parse_args(["serve"]))
    assert (settings.host, settings.port, settings.db_path) == ("127.0.0.1", 8090, ":memory:")
    assert settings.base_url == "http://127.0.0.1:8090"


def test_banner_names_login_rest_key_and_routing_key():
    text = banner(Settings())
    assert "demo@acme.test / demo" in text
    assert "sandbox-api-key-acme" in text
    assert "e93facc04764012d7bfb002500d5d1a6" in text
    assert "http://127.0.0.1:8090" in text


@pytest.mark.parametrize("suffix", [".toml", ".json"])
async def test_seed_file_adds_accounts_services_keys_and_partner_apps(tmp_path, suffix):
    path = tmp_path / f"seed{suffix}"
    if suffix == ".toml":
        path.write_text(TOML_SEED)
    else:
        import tomllib

        path.write_text(json.dumps(tomllib.loads(TOML_SEED)))
    settings = Settings(db_path=str(tmp_path / "s.db"), seed_file=path)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    with sqlite3.connect(settings.db_path) as db:
        assert {s for (s,) in db.execute("SELECT subdomain FROM accounts")} == {"acme", "globex"}
        assert db.execute("SELECT s.name, s.auto_resolve_timeout, i.integration_key FROM services s JOIN integrations i"
                          " ON i.service_id = s.id WHERE s.name = 'Payments'").fetchall() == [
            ("Payments", None, "0123456789abcdef0123456789abcdef")]
        assert db.execute("SELECT webhook_url, webhook_secret FROM partner_apps WHERE vendor_key = 'acme-monitor'"
                          ).fetchall() == [("http://127.0.0.1:9000/hooks", "s3cret")]
        assert db.execute("SELECT COUNT(*) FROM api_keys WHERE token = 'globex-api-key'").fetchone() == (1,)


def test_a_broken_seed_file_is_a_clear_error(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text("{nope")
    with pytest.raises(SeedError, match="not valid JSON"):
        load_seed_file(path)
    result = subprocess.run([sys.executable, "-m", "fake_pagerduty", "serve", "--seed", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr
