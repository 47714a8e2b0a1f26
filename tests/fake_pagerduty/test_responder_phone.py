"""The on-call phone, /responders/{user_id}: a person's notifications (push and SMS, worded as PagerDuty words
them), live, with Acknowledge and Resolve acting as that person — no sign-in (a demo device), CSRF on the forms."""

from __future__ import annotations

import html
import re

from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.fake_pagerduty.rest_helpers import incident_by_key, trigger
from tests.fake_pagerduty.webpages import csrf, sign_in

SMS_TEXT = "ALRT #1 : You were assigned to an incident. Go to PagerDuty to learn more. Reply 4: Ack, 6: Resolve"


def text(page: str) -> str:
    return re.sub(r"\s+([,.])", r"\1", re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))).strip()


async def test_the_phone_shows_the_persons_notifications_as_pagerduty_words_them(sandbox):
    page = await sandbox.get("/responders/PDANA00")
    assert page.status_code == 200
    assert "No notifications yet. When an incident is assigned to Dana Demo, it buzzes here." in text(page.text)
    await trigger(sandbox, "disk", summary="Disk full on web-1")
    page = await sandbox.get("/responders/PDANA00")
    words = text(page.text)
    assert ("A demo device: no sign-in needed in the sandbox; Acknowledge and Resolve here act as Dana Demo."
            in words)
    assert "#1 Disk full on web-1 Triggered · Acme Website" in words
    assert "PagerDuty · just now #1 Acme Website: Disk full on web-1" in words
    assert f"SMS · just now {SMS_TEXT}" in words
    assert '<button type="submit" class="ack">Acknowledge</button>' in page.text
    assert '<button type="submit" class="resolve">Resolve</button>' in page.text
    assert '<script src="/static/console.js" defer></script>' in page.text  # the live list, as the console's
    assert '<script src="/static/phone.js" defer></script>' in page.text  # the buzz
    sam = text((await sandbox.get("/responders/PSAMR00")).text)
    assert "No notifications yet." in sam  # Sam is level 2: not paged yet


async def test_acknowledge_on_the_phone_acts_as_that_person(sandbox):
    await trigger(sandbox, "disk")
    incident = await incident_by_key(sandbox, "disk")
    page = (await sandbox.get("/responders/PDANA00")).text
    action = f"/responders/PDANA00/incidents/{incident['id']}/acknowledge"
    answer = await sandbox.post(action, data={"csrf_token": csrf(page, action)})
    assert (answer.status_code, answer.headers["location"]) == (303, "/responders/PDANA00")
    incident = await incident_by_key(sandbox, "disk")
    assert incident["status"] == "acknowledged"
    assert incident["last_status_change_by"]["id"] == "PDANA00"
    entries = (await sandbox.get(f"/api/incidents/{incident['id']}/log_entries", headers=REST_HEADERS)).json()
    newest = entries["log_entries"][0]
    assert (newest["type"], newest["summary"], newest["channel"], newest["agent"]["id"]) == (
        "acknowledge_log_entry", "Acknowledged by Dana Demo.", {"type": "mobile"}, "PDANA00")
    words = text((await sandbox.get("/responders/PDANA00")).text)
    assert "Acknowledged by Dana Demo · Acme Website" in words
    page = (await sandbox.get("/responders/PDANA00")).text
    assert ">Acknowledge</button>" not in page and ">Resolve</button>" in page
    action = f"/responders/PDANA00/incidents/{incident['id']}/resolve"
    answer = await sandbox.post(action, data={"csrf_token": csrf(page, action)})
    assert answer.status_code == 303
    assert (await incident_by_key(sandbox, "disk"))["status"] == "resolved"
    page = (await sandbox.get("/responders/PDANA00")).text
    assert "Resolved by Dana Demo" in text(page) and ">Resolve</button>" not in page


async def test_after_an_escalation_the_teammates_phone_has_it(sandbox):
    await trigger(sandbox, "disk")
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 301})
    words = text((await sandbox.get("/responders/PSAMR00")).text)
    assert "Sam Rivera" in words and f"SMS · just now {SMS_TEXT}" in words


async def test_the_phone_is_live(sandbox):
    page = (await sandbox.get("/responders/PDANA00")).text
    version = re.search(r'data-version="([^"]+)"', page).group(1)
    assert (await sandbox.get(f"/responders/PDANA00/live?v={version}")).status_code == 204
    await trigger(sandbox, "disk")
    live = await sandbox.get(f"/responders/PDANA00/live?v={version}")
    assert live.status_code == 200 and live.headers["x-console-version"] != version
    # the feed names its newest notification, the SMS, by its log entry's id (never used again: a
    # notification's number, its log entry's rowid, starts again after a reset)
    entries = (await sandbox.get("/api/log_entries", headers=REST_HEADERS)).json()["log_entries"]
    assert entries[0]["summary"] == "Notified Dana Demo by SMS."
    assert f'data-newest="{entries[0]["id"]}"' in live.text and "Acme Website: Disk full on web-1" in live.text


async def test_open_live_pages_show_a_reset(sandbox):
    await sign_in(sandbox)
    await trigger(sandbox, "disk")
    phone = re.search(r'data-version="([^"]+)"', (await sandbox.get("/responders/PDANA00")).text).group(1)
    listing = re.search(r'data-version="([^"]+)"', (await sandbox.get("/incidents")).text).group(1)
    assert (await sandbox.get(f"/responders/PDANA00/live?v={phone}")).status_code == 204
    assert (await sandbox.get(f"/incidents/live?v={listing}")).status_code == 204
    assert (await sandbox.post("/_sandbox/reset")).status_code == 200  # wipes the incidents, changes none of them
    live = await sandbox.get(f"/responders/PDANA00/live?v={phone}")
    assert live.status_code == 200 and "Disk full on web-1" not in live.text
    rows = await sandbox.get(f"/incidents/live?v={listing}")
    assert rows.status_code == 200 and "Disk full on web-1" not in rows.text


async def test_unknown_people_and_incidents_are_404(sandbox):
    assert (await sandbox.get("/responders/PNOBODY")).status_code == 404
    assert (await sandbox.get("/responders/PNOBODY/live")).status_code == 404
    await trigger(sandbox, "disk")
    page = (await sandbox.get("/responders/PDANA00")).text
    answer = await sandbox.post("/responders/PDANA00/incidents/QNOSUCHINCIDENT/acknowledge",
                                data={"csrf_token": csrf(page)})
    assert answer.status_code == 404


async def test_the_top_bar_links_to_the_signed_in_persons_phone(sandbox):
    await sign_in(sandbox)
    page = (await sandbox.get("/incidents")).text
    assert '<a href="/responders/PDANA00" class="phone-link" target="_blank" rel="noopener">On-call phone</a>' in page


async def test_the_console_incident_page_shows_who_it_is_with_notes_and_notifications(sandbox):
    await trigger(sandbox, "disk", summary="Disk full on web-1")
    incident = await incident_by_key(sandbox, "disk")
    await sign_in(sandbox)
    url = f"/incidents/{incident['id']}"
    page = (await sandbox.get(url)).text
    words = text(page)
    assert "Assigned to Dana Demo Escalation policy Acme Website On-Call, level 1" in words
    assert '<a href="/responders/PDANA00" title="Dana Demo\'s on-call phone">Dana Demo</a>' in page
    assert "Notified Dana Demo by push notification" in words and "Notified Dana Demo by SMS" in words
    assert f"Dana Demo by SMS: {SMS_TEXT}" in words
    assert "No notes yet." in words
    answer = await sandbox.post(f"{url}/notes", data={"csrf_token": csrf(page, f"{url}/notes"),
                                                      "content": "Rotating logs <now>"})
    assert (answer.status_code, answer.headers["location"]) == (303, f"{url}#notes")
    page = (await sandbox.get(url)).text
    assert "Rotating logs &lt;now&gt;" in page and "Note added by Dana Demo" in text(page)
    blank = await sandbox.post(f"{url}/notes", data={"csrf_token": csrf(page, f"{url}/notes"), "content": " "})
    assert blank.status_code == 400 and "Content can&#39;t be blank" in blank.text
    await sandbox.post("/_sandbox/clock", json={"advance_seconds": 301})
    words = text((await sandbox.get(url)).text)
    assert "Assigned to Sam Rivera Escalation policy Acme Website On-Call, level 2" in words
    assert "Escalated to Sam Rivera by timeout" in words


async def test_the_phone_names_the_integration_that_resolved_it_as_the_console_does(sandbox):
    """Resolved by the monitoring tool's events: the phone says which integration, by its name, as the console's
    timeline does ("Resolved by Demo Monitor" in the customer demo), not the generic "Events API"."""
    await trigger(sandbox, "disk")
    answer = await sandbox.post("/v2/enqueue", json={"routing_key": SAMPLE_KEY, "event_action": "resolve",
                                                     "dedup_key": "disk"})
    assert answer.status_code == 202
    incident = await incident_by_key(sandbox, "disk")
    await sign_in(sandbox)
    console = text((await sandbox.get(f"/incidents/{incident['id']}")).text)
    assert "Resolved by Events API v2" in console
    assert "#1 Disk full on web-1 Resolved by Events API v2 · Acme Website" in text(
        (await sandbox.get("/responders/PDANA00")).text)
