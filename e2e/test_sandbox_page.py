"""The Sandbox page (/_sandbox) in Chromium: the live journal shows requests as they arrive, the fault buttons
change what the Events API answers, the OAuth apps are listed (and redrawn after each action), and
reset empties the journal."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

SAMPLE_KEY = "e93facc04764012d7bfb002500d5d1a6"


def _trigger(url: str, dedup_key: str) -> httpx.Response:
    return httpx.post(f"{url}/v2/enqueue", json={
        "routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {"summary": f"Disk full ({dedup_key})", "source": "db1", "severity": "critical"}})


def test_sandbox_page_journal_faults_and_reset(page: Page, sandbox_server, screens):
    url = sandbox_server.url
    page.goto(f"{url}/_sandbox")
    expect(page.get_by_role("heading", name="Sandbox controls")).to_be_visible()
    journal = page.get_by_role("list", name="Events journal")

    assert _trigger(url, "page-1").status_code == 202
    expect(journal.get_by_text("created incident")).to_be_visible()

    page.get_by_role("button", name="Throttle v2 (429)").click()
    expect(page.get_by_role("status")).to_have_text("Added fault: Throttle v2 (429)")
    expect(page.get_by_role("table", name="Fault rules")).to_contain_text("answer 429")
    throttled = _trigger(url, "page-2")
    assert throttled.status_code == 429
    assert throttled.json()["status"] == "throttle exceeded"
    entry = journal.get_by_role("listitem").filter(has_text="answered 429")
    expect(entry).to_be_visible()
    entry.locator("summary").click()
    expect(entry).to_contain_text('"dedup_key": "page-2"')
    screens.take(page, "sandbox-controls")

    oauth_apps = page.get_by_role("table", name="OAuth apps")
    expect(oauth_apps).to_contain_text("demo-monitor-oauth")  # in the page as served
    assert httpx.put(f"{url}/_sandbox/oauth-apps/globex-cli", json={
        "name": "Globex CLI", "kind": "classic", "client_type": "public",
        "redirect_uris": ["http://localhost:*/callback"]}).status_code == 201
    page.get_by_role("button", name="Clear faults").click()
    expect(page.get_by_role("status")).to_have_text("Faults cleared")
    expect(oauth_apps).to_contain_text("globex-cliGlobex CLIclassicpublichttp://localhost:*/callback")  # redrawn
    expect(oauth_apps).to_contain_text("demo-monitor-oauth")
    assert _trigger(url, "page-3").status_code == 202

    page.once("dialog", lambda dialog: dialog.accept())  # Reset asks first (issue 16)
    page.get_by_role("button", name="Reset sandbox").click()
    expect(page.get_by_role("status")).to_have_text("Sandbox reset")
    expect(journal.get_by_role("listitem")).to_have_count(0)
    assert httpx.get(f"{url}/_sandbox/events").json()["events"] == []
