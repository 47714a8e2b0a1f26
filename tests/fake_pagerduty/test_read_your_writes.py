"""Every read that starts after a 2xx sees that write, with 16 clients at once (see read_your_writes.py);
the real server process, with its events writer process and both cores busy, is e2e/test_read_your_writes.py."""

from __future__ import annotations

from tests.fake_pagerduty.read_your_writes import run
from tests.transport_client import TransportClient

EVENTS = 2000


async def test_16_clients_read_back_each_event_as_soon_as_it_is_answered(sandbox_app):
    """Through TransportClient: its 12,000 requests skip httpx.AsyncClient's cookie, redirect and URL merging."""
    report = await run(TransportClient(sandbox_app, "http://sandbox.test"), events=EVENTS, clients=16)
    report.assert_clean(EVENTS)
    assert report.reads == 5 * EVENTS


async def test_a_page_and_its_total_come_from_one_snapshot(sandbox_app, sandbox):
    """The defect a fresh clone met: five triggers answered 202, then `limit=2&offset=2` gave ids [3, 2] with
    total 3 — the count read before two of the writes, the page after. Count and page now share one read."""
    store = sandbox_app.state.store
    for n in range(5):
        assert (await sandbox.post("/v2/enqueue", json={
            "routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "trigger", "dedup_key": f"p-{n}",
            "payload": {"summary": "s", "source": "x", "severity": "info"}})).status_code == 202
    traced: dict[int, list[str]] = {}  # per reader connection: other reads (webhooks, timeouts) run too
    for n, reader in enumerate(store.database._all_readers):
        await reader.set_trace_callback(traced.setdefault(n, []).append)
    page = (await sandbox.get("/_sandbox/events", params={"limit": 2, "offset": 2})).json()
    for reader in store.database._all_readers:
        await reader.set_trace_callback(None)
    assert [e["dedup_key"] for e in page["events"]] == ["p-2", "p-1"]
    assert (page["total"], page["more"], page["last_event_id"]) == (5, True, 5)
    [statements] = [s for s in traced.values() if any("COUNT(*) FROM events" in line for line in s)]
    start = statements.index(next(line for line in statements if "COUNT(*) FROM events" in line)) - 1
    read = statements[start:start + 5]
    assert read[0] == "BEGIN" and read[-1] == "COMMIT", read
    assert ["COUNT(*) FROM events" in read[1], "FROM events" in read[2], "sqlite_sequence" in read[3]] == [True] * 3
