"""The console's people pages (issue 15): people, one person, schedules (on call now and next, a rendered week),
escalation policies — as a signed-in person reads them; other accounts' ids are 404 pages; names are escaped."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from fake_pagerduty import seed_people
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.webpages import sign_in


def text(page: str) -> str:
    """The page's words, tags and runs of blanks gone."""
    body = re.sub(r"(?s)<(script|style).*?</\1>", " ", page)
    body = re.sub(r"</?(a|span|code|b)\b[^>]*>", "", body)  # inline: no break in the words
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def day_words(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M}"


async def test_the_people_page_lists_everyone_and_who_is_on_call(sandbox):
    await sign_in(sandbox)
    page = await sandbox.get("/users")
    assert page.status_code == 200
    words = text(page.text)
    assert ("Dana Demo demo@acme.test · Site Reliability Engineer Account owner Acme Web Team"
            " Acme Website On-Call, level 1 On-call phone") in words
    assert "Sam Rivera sam@acme.test · Backend Engineer Responder Acme Web Team Acme Website On-Call, level 2" in words
    assert "Priya Patel priya@acme.test · Engineering Manager Admin Acme Web Team Not on call" in words
    assert 'href="/responders/PSAMR00"' in page.text
    assert '<a href="/users" aria-current="page">People</a>' in page.text  # the top bar's section, and its tab
    schedules = (await sandbox.get("/schedules")).text
    assert '<a href="/users" aria-current="page">People</a>' in schedules
    assert '<a href="/schedules" aria-current="page">Schedules</a>' in schedules


async def test_a_person_shows_contact_methods_rules_shifts_and_the_phone(sandbox):
    await sign_in(sandbox)
    page = await sandbox.get(f"/users/{seed_people.DANA}")
    assert page.status_code == 200
    words = text(page.text)
    day = seed_people.seed_day(datetime.now(UTC))
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")
    assert (f"Acme Website On-Call via schedule 1 {day_words(day.astimezone(new_york))} Now"
            f" {day_words((day + timedelta(days=7)).astimezone(new_york))}") in words
    assert "Phone call Mobile +1 5550100001" in words and "Push notification Dana's phone dana-phone" in words
    assert ("High-urgency incidents Immediately: Push notification (Dana's phone) Immediately: SMS (Mobile)"
            " After 5 minutes: Phone call (Mobile) Low-urgency incidents Immediately: Email (Default)") in words
    assert "Open Dana Demo’s on-call phone" in words and 'href="/responders/PDANA00"' in page.text
    assert "On the schedules Acme Primary, Acme Secondary." in words


async def test_schedules_show_now_next_and_a_week(sandbox):
    await sign_in(sandbox)
    day = seed_people.seed_day(datetime.now(UTC))
    listed = text((await sandbox.get("/schedules")).text)
    assert (f"Acme Primary Weekly primary on-call for the website. Dana Demo until {day_words(day + timedelta(days=7))}"
            f" Sam Rivera from {day_words(day + timedelta(days=7))} UTC") in listed
    assert "Acme Secondary Weekly secondary on-call for the website. Sam Rivera until" in listed
    page = await sandbox.get("/schedules/PPRIM00")
    assert page.status_code == 200
    words = text(page.text)
    assert f"On call now: Dana Demo until {day_words(day + timedelta(days=7))}" in words
    assert "Used by Acme Website On-Call" in words
    today = datetime.now(UTC)
    assert f"{today:%a} {today.day} {today:%b} 00:00–24:00 Dana Demo" in words
    assert "Layer 1 Every 1 week, from" in words and "Dana Demo, Sam Rivera, Priya Patel Around the clock" in words
    assert "No overrides coming up." in words


async def test_an_override_shows_on_the_schedule_page(sandbox):
    await sign_in(sandbox)
    start = datetime.now(UTC).replace(microsecond=0, second=0, minute=0, hour=10) + timedelta(days=1)  # in the week
    made = await sandbox.post("/api/schedules/PPRIM00/overrides", headers=REST_HEADERS, json={"overrides": [{
        "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), "user": {"id": "PPRIY00"}}]})
    assert made.status_code == 201
    words = text((await sandbox.get("/schedules/PPRIM00")).text)
    assert f"Priya Patel {day_words(start)} {day_words(start + timedelta(hours=2))}" in words
    assert (f"{start:%a} {start.day} {start:%b} 00:00–10:00 Dana Demo 10:00–12:00 Priya Patel 12:00–24:00 Dana Demo"
            in words)


async def test_an_escalation_policy_shows_its_levels_and_who_they_reach_now(sandbox):
    await sign_in(sandbox)
    listed = text((await sandbox.get("/escalation_policies")).text)
    assert "Acme Website On-Call Primary on-call first, then Sam. 2 Acme Website" in listed
    page = await sandbox.get("/escalation_policies/PPOLI00")
    assert page.status_code == 200
    words = text(page.text)
    assert ("Level 1 Notify whoever is on call on Acme Primary. On call now: Dana Demo"
            " Escalates after 5 minutes unacknowledged.") in words
    assert "Level 2 Notify Sam Rivera. On call now: Sam Rivera Escalates after 5 minutes unacknowledged." in words
    assert "Team Acme Web Team Does not repeat Services: Acme Website" in words


async def test_pages_need_sign_in_and_other_ids_are_404(sandbox):
    for path in ("/users", "/users/PDANA00", "/schedules", "/schedules/PPRIM00", "/escalation_policies",
                 "/escalation_policies/PPOLI00"):
        answer = await sandbox.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path
    await sign_in(sandbox)
    for path, what in (("/users/PNOBODY", "User"), ("/schedules/PNOSCHD", "Schedule"),
                       ("/escalation_policies/PNOPOLI", "Escalation policy")):
        answer = await sandbox.get(path)
        assert answer.status_code == 404 and f"{what} not found" in answer.text, path


async def test_names_are_escaped(sandbox):
    made = await sandbox.post("/api/teams", headers=REST_HEADERS, json={"team": {"name": "<b>ops</b>"}})
    assert made.status_code == 201
    user = await sandbox.post("/api/users", headers={**REST_HEADERS, "From": "demo@acme.test"}, json={"user": {
        "name": "<script>alert(1)</script>", "email": "x@acme.test"}})
    assert user.status_code == 201
    await sign_in(sandbox)
    page = (await sandbox.get("/users")).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
