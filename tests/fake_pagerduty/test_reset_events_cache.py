"""The fixtures' reset runs on the events writer's connection when it lives on the loop (store/events_connection.py,
`EventsConnection.restore`), which then forgets only what the tables the reset rewrote imply, instead of
everything. Whatever a test changed is still never used after the reset: integrations it created, incident
numbers it took, escalation plans it changed; and a commit by any other connection, before or after the reset,
still makes the connection forget everything."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fake_pagerduty.domain.clock import iso
from fake_pagerduty.reset import SandboxApp
from fake_pagerduty.settings import Settings
from fake_pagerduty.store import batch
from fake_pagerduty.store.events_connection import WRITES_TO
from fake_pagerduty.store.sandbox import _parents_first
from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.rest_helpers import incident_by_key, trigger
from tests.fake_pagerduty.test_reset_changed_tables import _everything, _held

BASE = "http://sandbox.test"


def _settings(tmp_path) -> Settings:
    return Settings(db_path=str(tmp_path / "sandbox.db"), public_url=BASE, sqlite_on_loop=True)


def _outside(path: str, *statements: str) -> None:
    """Writes through a connection of its own, as a test that opens the database file does."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


async def _outcome(client, dedup_key: str) -> str:
    waited = await client.get("/_sandbox/events/wait", params={"dedup_key": dedup_key})
    assert waited.status_code == 200, waited.text
    return waited.json()["event"]["outcome"]


async def test_the_reset_runs_on_the_events_connection_and_keeps_what_it_did_not_rewrite(tmp_path):
    async with SandboxApp(_settings(tmp_path)) as sandbox:
        await sandbox.reset()
        conn = sandbox.app.state.store.events._events_conn
        async with sandbox.client(BASE) as client:
            await trigger(client, "k1")
            assert SAMPLE_KEY in conn.integrations and conn.next_incident_number
        await sandbox.reset()  # rewrote activity tables only
        assert SAMPLE_KEY in conn.integrations and conn.plans
        assert conn.next_incident_number == {}


async def test_an_integration_a_test_created_is_refused_after_the_reset(tmp_path):
    async with SandboxApp(_settings(tmp_path)) as sandbox:
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            made = await client.post("/api/services", headers=REST_HEADERS,
                                     json={"service": {"type": "service", "name": "Billing"}})
            assert made.status_code == 201, made.text
            made = await client.post(f"/api/services/{made.json()['service']['id']}/integrations",
                                     headers=REST_HEADERS,
                                     json={"integration": {"type": "events_api_v2_inbound_integration"}})
            key = made.json()["integration"]["integration_key"]
            await trigger(client, "before", routing_key=key)
            assert await _outcome(client, "before") == "created"
        await sandbox.reset()
        # forgotten by the reset itself (not only by the foreign key the next alert would break)
        assert key not in sandbox.app.state.store.events._events_conn.integrations
        async with sandbox.client(BASE) as client:
            await trigger(client, "after", routing_key=key)
            assert await _outcome(client, "after") == "dropped"
            assert (await client.get("/api/incidents", headers=REST_HEADERS)).json()["incidents"] == []


async def test_incident_numbers_start_again_at_the_seeded_number_after_the_reset(tmp_path):
    async with SandboxApp(_settings(tmp_path)) as sandbox:
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            for key in ("a", "b"):
                await trigger(client, key)
            assert (await incident_by_key(client, "b"))["incident_number"] == 2
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            await trigger(client, "c")
            assert (await incident_by_key(client, "c"))["incident_number"] == 1


async def test_an_override_a_test_made_is_not_used_after_the_reset(tmp_path):
    async with SandboxApp(_settings(tmp_path)) as sandbox:
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            await trigger(client, "seeded")
            assert [a["assignee"]["id"] for a in (await incident_by_key(client, "seeded"))["assignments"]] == [
                "PDANA00"]
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            now = datetime.now(UTC).replace(microsecond=0)
            made = await client.post("/api/schedules/PPRIM00/overrides", headers=REST_HEADERS, json={"overrides": [
                {"start": iso(now - timedelta(minutes=5)), "end": iso(now + timedelta(hours=2)),
                 "user": {"id": "PPRIY00", "type": "user_reference"}}]})
            assert made.status_code == 201, made.text
            await trigger(client, "overridden")
            assert [a["assignee"]["id"] for a in (await incident_by_key(client, "overridden"))["assignments"]] == [
                "PPRIY00"]
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            await trigger(client, "after")
            assert [a["assignee"]["id"] for a in (await incident_by_key(client, "after"))["assignments"]] == [
                "PDANA00"]


async def test_a_policy_a_test_edited_is_not_used_after_the_reset(tmp_path):
    settings = _settings(tmp_path)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        seeded = _everything(settings.db_path)
        async with sandbox.client(BASE) as client:
            policy = (await client.get("/api/services/PWEBS00", headers=REST_HEADERS)).json()["service"][
                "escalation_policy"]["id"]
            doc = (await client.get(f"/api/escalation_policies/{policy}", headers=REST_HEADERS)).json()
            rules = doc["escalation_policy"]["escalation_rules"]
            rules[0]["targets"] = [{"id": "PPRIY00", "type": "user_reference"}]
            edited = await client.put(f"/api/escalation_policies/{policy}", headers=REST_HEADERS,
                                      json={"escalation_policy": {"escalation_rules": rules}})
            assert edited.status_code == 200, edited.text
            await trigger(client, "edited")
            assert [a["assignee"]["id"] for a in (await incident_by_key(client, "edited"))["assignments"]] == [
                "PPRIY00"]
        await sandbox.reset()
        assert _everything(settings.db_path) == seeded
        async with sandbox.client(BASE) as client:
            await trigger(client, "after")
            assert [a["assignee"]["id"] for a in (await incident_by_key(client, "after"))["assignments"]] == [
                "PDANA00"]


def test_the_tables_a_reset_rewrites_with_foreign_keys_on_are_ordered_parents_first():
    """Every table naming a rewritten one is rewritten too (its ON DELETE action would reach rows that stay),
    parents before children; a cycle of foreign keys among them: None (the reset turns foreign keys off)."""
    parents = {"alerts": frozenset({"incidents", "integrations"}), "incidents": frozenset({"services"}),
               "log_entries": frozenset({"incidents"}), "integrations": frozenset({"services"}),
               "services": frozenset({"accounts"}), "accounts": frozenset({"policies"}),
               "policies": frozenset({"accounts"})}
    order = _parents_first(["incidents", "events"], parents)
    assert sorted(order) == ["alerts", "events", "incidents", "log_entries"]
    assert order.index("incidents") < min(order.index("alerts"), order.index("log_entries"))
    order = _parents_first(["services"], parents)
    assert sorted(order) == ["alerts", "incidents", "integrations", "log_entries", "services"]
    assert order[0] == "services" and order.index("integrations") < order.index("alerts")
    assert _parents_first(["policies"], parents) is None


async def test_a_commit_by_another_connection_after_the_reset_is_still_seen(tmp_path):
    settings = _settings(tmp_path)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            await trigger(client, "before")
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            await trigger(client, "remembered")  # the integration, remembered across the reset
            assert await _outcome(client, "remembered") == "created"
            _outside(settings.db_path, f"UPDATE integrations SET integration_key = 'moved' WHERE integration_key = '{SAMPLE_KEY}'")
            await trigger(client, "after")
            assert await _outcome(client, "after") == "dropped"


async def test_a_commit_by_another_connection_before_the_reset_is_seen_though_the_reset_leaves_its_table(tmp_path):
    """Another connection changes the service (the events connection remembers it so), and changes it back
    before the reset: the services table then holds its seeded rows and is not rewritten, but the connection
    must not keep what it remembered of the changed service."""
    settings = _settings(tmp_path)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        (rule,) = sqlite3.connect(settings.db_path).execute(
            "SELECT urgency_rule FROM services WHERE id = 'PWEBS00'").fetchone()
        async with sandbox.client(BASE) as client:
            _outside(settings.db_path, "UPDATE services SET urgency_rule = 'low' WHERE id = 'PWEBS00'")
            await trigger(client, "low", severity="critical")
            assert (await incident_by_key(client, "low"))["urgency"] == "low"
            _outside(settings.db_path, f"UPDATE services SET urgency_rule = '{rule}' WHERE id = 'PWEBS00'")
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            await trigger(client, "after", severity="critical")
            assert (await incident_by_key(client, "after"))["urgency"] == "high"


async def test_a_commit_by_another_connection_just_before_the_restore_has_every_table_looked_at(tmp_path):
    """After a test whose only writes were events, the reset looks only at the tables the events writer writes;
    if another connection commits between that look and the restore, every table is looked at after all."""
    settings = _settings(tmp_path)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        seeded = _everything(settings.db_path)
        events = sandbox.app.state.store.events
        async with sandbox.client(BASE) as client:
            await trigger(client, "k1")
        looked_alone = events.changed_alone

        def then_a_commit_elsewhere():
            tables = looked_alone()
            assert tables == WRITES_TO  # the events writer alone wrote since the last reset
            _outside(settings.db_path, "UPDATE users SET name = 'Someone Else' WHERE email = 'demo@acme.test'")
            return tables

        events.changed_alone = then_a_commit_elsewhere
        try:
            await sandbox.reset()
        finally:
            del events.changed_alone
        assert _everything(settings.db_path) == seeded
        assert events._events_conn.changed_alone() == frozenset()  # and from now on, the events writer's tables alone again


def test_the_events_writer_writes_only_the_tables_it_says():
    """WRITES_TO (store/events_connection.py) is what the reset looks at after a test whose only writes were events."""
    sources = [Path(batch.__file__), Path(batch.__file__).with_name("assignments.py"),
               Path(batch.__file__).with_name("transitions.py")]
    written = {match for source in sources
               for match in re.findall(r"(?:INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", source.read_text())}
    assert written <= WRITES_TO and {"events", "incidents", "alerts", "log_entries"} <= written


async def test_a_full_reset_after_events_alone_answers_how_many_rows_every_table_held(tmp_path):
    """`POST /_sandbox/reset?full=true` (the plugin's server) after a test that only sent events: the tables
    the events writer writes are looked at and counted, every other one counts its seeded rows."""
    settings = _settings(tmp_path)
    async with SandboxApp(settings) as sandbox:
        await sandbox.reset()
        async with sandbox.client(BASE) as client:
            for key in ("a", "b"):
                await trigger(client, key)
            assert sandbox.app.state.store.events._events_conn.changed_alone() == WRITES_TO
            held = _held(settings.db_path)
            answer = await client.post("/_sandbox/reset?full=true")
            assert answer.status_code == 200, answer.text
        assert answer.json()["deleted"] == {
            {"sandbox_faults": "faults", "sandbox_settings": "settings"}.get(table, table): count
            for table, count in held.items() if table not in ("sqlite_sequence", "webhook_changes")}
        assert answer.json()["deleted"]["incidents"] == 2
        assert answer.json()["deleted"]["notifications"] == 4  # Dana's push and SMS for each incident
