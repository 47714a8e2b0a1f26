"""The console's people pages in Chromium (issue 15): from the top bar to People, a person (and their phone link),
Schedules, a schedule's week, and an escalation policy's levels — with the seeded people, Dana on call now."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import sign_in


def test_people_schedules_and_escalation_policies(page: Page, sandbox_server, screens):
    page.goto(f"{sandbox_server.url}/users")
    sign_in(page)
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    dana = page.get_by_role("row").filter(has_text="Dana Demo")
    expect(dana).to_contain_text("Acme Website On-Call, level 1")
    expect(page.get_by_role("row").filter(has_text="Sam Rivera")).to_contain_text("Acme Website On-Call, level 2")
    expect(page.get_by_role("row").filter(has_text="Priya Patel")).to_contain_text("Not on call")
    screens.take(page, "50-sandbox-people")

    dana.get_by_role("link", name="Dana Demo").click()
    expect(page.get_by_role("heading", name="Dana Demo")).to_be_visible()
    expect(page.get_by_role("link", name="Open Dana Demo’s on-call phone")).to_have_attribute(
        "href", "/responders/PDANA00")
    expect(page.get_by_text("Immediately: Push notification")).to_be_visible()

    page.get_by_role("navigation", name="People").get_by_role("link", name="Schedules").click()
    page.get_by_role("link", name="Acme Primary").click()
    expect(page.get_by_role("heading", name="Acme Primary")).to_be_visible()
    expect(page.get_by_text("On call now: Dana Demo")).to_be_visible()
    week = page.get_by_role("table").first
    expect(week.get_by_role("row")).to_have_count(8)  # a header and seven days
    expect(week).to_contain_text("00:00–24:00 Dana Demo")
    screens.take(page, "51-sandbox-schedule")

    page.get_by_role("link", name="Acme Website On-Call").first.click()
    expect(page.get_by_role("heading", name="Acme Website On-Call")).to_be_visible()
    levels = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Level 1"))
    expect(levels).to_contain_text("On call now: Dana Demo")
    expect(page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Level 2"))).to_contain_text(
        "Notify Sam Rivera.")
    screens.take(page, "52-sandbox-escalation-policy")
