"""Issue 16, points 5 and 6 on the monitor: what a customer sees carries no raw JSON, sandbox URL, ISO timestamp
or machine identifier (those wait in a "Developer details" disclosure); times read "3 minutes ago" with the exact
time on hover; undoing things asks first; every page has a favicon."""

import re

from tests.demo_monitor.conftest import break_www15, connect, csrf, ticks

DEV = re.compile(r'<details class="dev">.*?</details>', re.S)


def customer_part(html: str) -> str:
    """The page without its developer disclosure (and without scripts' data blocks)."""
    html = re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.S)
    return DEV.sub("", html)


async def test_the_alert_page_speaks_to_people_and_keeps_the_rest_for_developers(app, client, clock):
    await connect(app)
    alert = await break_www15(app, clock)
    clock.advance(180)
    await app.state.monitor.act_on_alert(alert["id"], "acknowledge", who="Sam")
    page = (await client.get(f"/alerts/{alert['id']}")).text
    shown = customer_part(page)
    assert "Memory above 90% for 2 seconds" in shown
    assert re.search(r'<time datetime="2026-[^"]+Z" title="2026-[0-9-]+ [0-9:]+ UTC" data-relative>3 minutes ago</time>',
                     shown), shown
    assert "Acknowledged</dt><dd>" in shown and "by Sam · after 3 minutes" in shown
    assert alert["id"] not in shown.replace(f'data-alert-id="{alert["id"]}"', "").replace(f"/alerts/{alert['id']}/", "")
    assert '"server_name"' not in shown
    assert not re.search(r">[^<]*\d{4}-\d\d-\d\dT", shown)  # no ISO timestamp as text (only in datetime="…")
    dev = DEV.search(page).group(0)
    assert "<summary>Developer details</summary>" in dev
    assert alert["id"] in dev and '"server_name": "www15"' in dev and "Events sent to PagerDuty" in dev


async def test_the_connected_page_says_it_once_and_hides_machine_details(app, client):
    await connect(app)
    page = (await client.get("/integrations/pagerduty?result=connected")).text
    shown = customer_part(page)
    assert shown.count("Connected to PagerDuty") == 1  # the heading; the message says something else
    assert "All set" in shown and "Demo Monitor service" in shown
    main = shown.split("<main>")[1].split("</main>")[0]
    assert "acme" not in main and "pagerduty.test" not in main
    assert ">2026-11-26T00:00:00Z<" not in main  # the exact time only as datetime="…" and on hover
    assert re.search(r'<time datetime="2026-11-26T00:00:00Z" title="2026-11-26 00:00:00 UTC" data-relative>', main)
    dev = DEV.search(page).group(0)
    assert "acme" in dev and "http://pagerduty.test" in dev and "2026-11-26T00:00:00Z" in dev
    assert re.search(r'<form method="post" action="/integrations/pagerduty/disconnect" data-confirm="[^"]+\?', page)
    dashboard = customer_part((await client.get("/")).text)
    assert "acme" not in dashboard.split("<main>")[1]


async def test_the_connect_button_has_one_name(client):
    page = (await client.get("/integrations/pagerduty")).text
    [button] = re.findall(r'<a class="connect-button".*?</a>', page, flags=re.S)
    assert 'aria-label="Alert with PagerDuty"' in button
    assert '<span class="connect-text" aria-hidden="true">Alert with PagerDuty</span>' in button  # the fallback
    css = (await client.get("/static/monitor.css")).text
    assert ".connect-button img + .connect-text { display: none; }" in css  # shown only when the image fails


async def test_every_page_has_a_favicon(client, app, clock):
    alert = await break_www15(app, clock)
    for path in ("/", "/alerts", f"/alerts/{alert['id']}", "/rules", "/servers/www15", "/integrations/pagerduty",
                 "/no-such-page"):
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in (await client.get(path)).text
    icon = await client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


async def test_disconnecting_still_works_after_the_question(app, client):
    await connect(app)
    token = await csrf(client, "/integrations/pagerduty")
    r = await client.post("/integrations/pagerduty/disconnect", data={"csrf_token": token})
    assert r.status_code == 303
    await ticks(app, 1)
    assert (await client.get("/api/integration")).json()["connected"] is False
