"""The SQLite store: migrations, WAL, persistence, the private file behind :memory:."""

from __future__ import annotations

import os
import sqlite3

from fake_pagerduty.app import create_app
from fake_pagerduty.settings import Settings
from fake_pagerduty.store import Store
from fake_pagerduty.store.database import migrations


async def test_migrations_apply_in_order_and_set_user_version(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    await store.open()
    try:
        assert await store.schema_version() == migrations()[-1][0]
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"accounts", "users", "api_keys", "partner_apps", "services", "integrations", "events", "alerts",
            "incidents", "log_entries", "change_events"} <= tables


async def test_reopening_applies_nothing_twice_and_keeps_data(tmp_path):
    settings = Settings(db_path=str(tmp_path / "s.db"))
    for _ in range(2):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            pass
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM accounts").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM integrations").fetchone() == (1,)


async def test_memory_database_is_a_private_file_removed_on_close():
    store = Store(":memory:")
    await store.open()
    path = store.path
    assert os.path.exists(path)
    await store.close()
    assert not os.path.exists(path)


async def test_the_default_seed_is_exactly_as_designed(sandbox_settings, sandbox):
    with sqlite3.connect(sandbox_settings.db_path) as db:
        assert db.execute("SELECT id, subdomain, name FROM accounts").fetchall() == [("PACME00", "acme", "Acme Corp")]
        assert db.execute("SELECT id, name, email FROM users ORDER BY rowid").fetchall() == [
            ("PDANA00", "Dana Demo", "demo@acme.test"), ("PSAMR00", "Sam Rivera", "sam@acme.test"),
            ("PPRIY00", "Priya Patel", "priya@acme.test")]  # issue 15: Dana and two teammates
        assert db.execute("SELECT id, name FROM schedules ORDER BY id").fetchall() == [
            ("PPRIM00", "Acme Primary"), ("PSECO00", "Acme Secondary")]
        assert db.execute("SELECT s.name, p.id, p.name FROM services s JOIN escalation_policies p"
                          " ON p.id = s.escalation_policy_id").fetchall() == [
            ("Acme Website", "PPOLI00", "Acme Website On-Call")]
        assert db.execute("SELECT default_escalation_policy_id FROM accounts").fetchall() == [("PPOLI00",)]
        assert db.execute("SELECT token FROM api_keys").fetchall() == [("sandbox-api-key-acme",)]
        assert db.execute("SELECT vendor_key, app_id, name, webhook_url, webhook_secret FROM partner_apps"
                          ).fetchall() == [("demo-monitor", "PDEMOMN", "Demo Monitor",
                                            "http://127.0.0.1:8000/integrations/pagerduty/webhook",
                                            "demo-webhook-secret")]
        assert db.execute("SELECT s.name, i.integration_key FROM services s JOIN integrations i"
                          " ON i.service_id = s.id").fetchall() == [("Acme Website",
                                                                    "e93facc04764012d7bfb002500d5d1a6")]
