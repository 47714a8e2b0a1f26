"""`./scripts/demo`'s seed file (fake_pagerduty/demo_seed.py): applied at every start, it puts Dana on call on
Acme Primary whatever day the demo's database was first seeded (README, "Run the demo for a customer"), and
leaves alone what it does not name. Each start here is a new app on the same database, as the script's are;
the days go by on the sandbox clock, which a restart keeps."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx

from fake_pagerduty import seed_people
from fake_pagerduty.app import create_app
from fake_pagerduty.demo_seed import demo_seed, main
from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.settings import Settings
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.rest_helpers import incident_by_key, trigger

DAY = 86400
MONITOR_URL = "http://127.0.0.1:8000"


@contextlib.asynccontextmanager
async def started(db: Path, seed_file: Path | None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(db_path=str(db), seed_file=seed_file, public_url="http://sandbox.test"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test") as client:
            yield client


def demo_seed_file(tmp_path: Path) -> Path:
    """What `./scripts/demo` writes to var/sandbox-seed.json."""
    path = tmp_path / "sandbox-seed.json"
    path.write_text(json.dumps(demo_seed(MONITOR_URL), indent=2))
    return path


async def primary_now(client: httpx.AsyncClient) -> dict:
    answer = await client.get(f"/api/oncalls?schedule_ids[]={seed_people.PRIMARY}", headers=REST_HEADERS)
    assert answer.status_code == 200, answer.text
    (oncall,) = answer.json()["oncalls"]
    return oncall


async def advance(client: httpx.AsyncClient, days: int) -> None:
    answer = await client.post("/_sandbox/clock", json={"advance_seconds": days * DAY})
    assert answer.status_code == 200, answer.text


async def test_dana_is_on_call_at_every_start_of_the_demo_whatever_the_day(tmp_path):
    db, seed_file = tmp_path / "sandbox.db", demo_seed_file(tmp_path)
    async with started(db, seed_file) as sandbox:  # day D: the first start
        assert (await primary_now(sandbox))["user"]["summary"] == "Dana Demo"
        await advance(sandbox, 8)
        assert (await primary_now(sandbox))["user"]["summary"] == "Sam Rivera"  # the rotation goes on while it runs

    for days_later, next_advance in ((8, 7), (15, 0)):
        async with started(db, seed_file) as sandbox:  # ./scripts/demo again, on day D+8, then D+15
            clock = (await sandbox.get("/_sandbox/clock")).json()
            assert clock["offset_seconds"] == days_later * DAY
            now = parse_iso(clock["now"])
            oncall = await primary_now(sandbox)
            today = seed_people.seed_day(now)
            assert (oncall["user"]["id"], oncall["user"]["summary"], oncall["escalation_level"]) == (
                seed_people.DANA, "Dana Demo", 1)
            assert (oncall["start"], oncall["end"]) == (iso(today), iso(today + timedelta(days=7)))
            secondary = await sandbox.get(f"/api/schedules/{seed_people.SECONDARY}", headers=REST_HEADERS)
            (layer,) = secondary.json()["schedule"]["schedule_layers"]  # Acme Secondary starts again too: Sam
            assert (layer["start"], layer["rotation_virtual_start"]) == (iso(today), iso(today))
            assert [u["user"]["id"] for u in layer["users"]] == [seed_people.SAM, seed_people.PRIYA, seed_people.DANA]

            await trigger(sandbox, f"www15-day-{days_later}", summary="Server www15 running low on memory")
            incident = await incident_by_key(sandbox, f"www15-day-{days_later}")
            assert incident["service"]["summary"] == "Acme Website"
            assert [a["assignee"]["summary"] for a in incident["assignments"]] == ["Dana Demo"]
            if next_advance:
                await advance(sandbox, next_advance)


async def test_a_demo_start_leaves_what_its_file_does_not_name_and_a_start_without_it_moves_nothing(tmp_path):
    db, seed_file = tmp_path / "sandbox.db", demo_seed_file(tmp_path)
    async with started(db, seed_file) as sandbox:
        made = await sandbox.post("/api/schedules", headers=REST_HEADERS, json={"schedule": {
            "type": "schedule", "name": "Support", "time_zone": "UTC", "schedule_layers": [{
                "start": "2026-01-05T00:00:00Z", "rotation_virtual_start": "2026-01-05T00:00:00Z",
                "rotation_turn_length_seconds": DAY,
                "users": [{"user": {"id": seed_people.PRIYA, "type": "user_reference"}}]}]}})
        assert made.status_code == 201, made.text
        support = made.json()["schedule"]
        renamed = await sandbox.put("/api/users/PDANA00", headers=REST_HEADERS,
                                    json={"user": {"type": "user", "job_title": "Head of Reliability"}})
        assert renamed.status_code == 200, renamed.text
        await advance(sandbox, 8)

    async with started(db, None) as sandbox:  # `fake-pagerduty serve --db …` without the demo's file
        assert (await primary_now(sandbox))["user"]["summary"] == "Sam Rivera"

    async with started(db, seed_file) as sandbox:
        assert (await primary_now(sandbox))["user"]["summary"] == "Dana Demo"
        again = await sandbox.get(f"/api/schedules/{support['id']}", headers=REST_HEADERS)
        assert again.json()["schedule"]["schedule_layers"] == support["schedule_layers"]
        dana = await sandbox.get("/api/users/PDANA00", headers=REST_HEADERS)
        assert (dana.json()["user"]["name"], dana.json()["user"]["job_title"]) == ("Dana Demo", "Head of Reliability")


def test_the_script_writes_the_file_with_the_monitors_webhook_url(capsys):
    assert main(["http://127.0.0.1:9000"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written == demo_seed("http://127.0.0.1:9000")
    (app,) = written["partner_apps"]
    assert (app["vendor_key"], app["webhook_url"], app["webhook_secret"]) == (
        "demo-monitor", "http://127.0.0.1:9000/integrations/pagerduty/webhook", "demo-webhook-secret")
    (acme,) = written["accounts"]
    assert (acme["subdomain"], acme["name"], [s["name"] for s in acme["schedules"]]) == (
        "acme", "Acme Corp", ["Acme Primary", "Acme Secondary"])
    assert main([]) == 2
