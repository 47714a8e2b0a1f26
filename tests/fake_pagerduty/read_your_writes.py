"""Read-your-writes under load, as a partner's parallel test suite meets it: many clients each send an event
and, as soon as its 2xx arrives, read it back through every way the sandbox offers. Shared by the fast tier
(in-process app) and e2e (the real `fake-pagerduty serve` process, with its events writer process).

A miss is a read that started after the 2xx and did not see the write; an inconsistency is a page whose
`total`/`more` disagree with the entries it holds (they must come from one read snapshot)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import httpx

from tests.conftest import REST_HEADERS, SAMPLE_KEY
from tests.transport_client import TransportClient


@dataclass
class Report:
    events: int = 0
    reads: int = 0
    misses: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self, events: int) -> None:
        assert self.errors == [], self.errors[:5]
        assert self.misses == [], f"{len(self.misses)} of {self.reads} reads missed: {self.misses[:5]}"
        assert self.inconsistent == [], self.inconsistent[:5]
        assert self.events == events


def _page_consistent(entries: int, total: int, more: bool, limit: int, offset: int) -> bool:
    return entries == max(0, min(limit, total - offset)) and more == (offset + entries < total)


async def run(client: httpx.AsyncClient | TransportClient, *, events: int = 2000, clients: int = 16, prefix: str = "ryw") -> Report:
    """`clients` concurrent clients send `events` v2 triggers in all, each read back at once five ways."""
    report = Report()
    numbers = itertools.count()
    answered = 0  # triggers answered 202 so far: every read that starts later sees at least that many

    async def one(n: int) -> None:
        nonlocal answered
        key = f"{prefix}-{n}"
        body = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": key,
                "payload": {"summary": f"{key} is down", "source": "web-01", "severity": "critical"}}
        sent = await client.post("/v2/enqueue", json=body)
        if sent.status_code != 202:
            report.errors.append(f"{key}: trigger answered {sent.status_code} {sent.text[:200]}")
            return
        answered += 1
        report.events += 1
        at_least = answered

        journal, waited, incidents, state, page = await asyncio.gather(
            client.get("/_sandbox/events", params={"dedup_key": key}),
            client.get("/_sandbox/events/wait", params={"dedup_key": key, "timeout": "0"}),
            client.get("/api/incidents", params={"incident_key": key, "total": "true"}, headers=REST_HEADERS),
            client.get("/_sandbox/state", params={"limit": "1"}),
            client.get("/_sandbox/events", params={"limit": "7", "offset": str(n % 11)}),
        )
        report.reads += 5
        if waited.status_code == 408:
            report.misses.append(f"{key}: journal wait timed out")
            return
        for name, answer in (("journal", journal), ("wait", waited), ("incidents", incidents), ("state", state),
                             ("page", page)):
            if answer.status_code != 200:
                report.errors.append(f"{key}: {name} answered {answer.status_code} {answer.text[:200]}")
                return
        found = journal.json()
        if found["total"] != 1 or [e["dedup_key"] for e in found["events"]] != [key]:
            report.misses.append(f"{key}: journal found {found['total']}")
        if (waited.json().get("event") or {}).get("dedup_key") != key:
            report.misses.append(f"{key}: journal wait found nothing")
        listed = incidents.json()
        if [i["incident_key"] for i in listed["incidents"]] != [key] or listed["total"] != 1:
            report.misses.append(f"{key}: GET /api/incidents found {listed['total']}")
        totals = state.json()
        if totals["totals"]["incidents"] < at_least or totals["journal"]["count"] < at_least:
            report.misses.append(f"{key}: /_sandbox/state counted {totals['totals']['incidents']} incidents and"
                                 f" {totals['journal']['count']} events, after {at_least} were answered")
        shown = page.json()
        if shown["total"] < at_least:
            report.misses.append(f"{key}: journal page total {shown['total']} < {at_least}")
        if not _page_consistent(len(shown["events"]), shown["total"], shown["more"], 7, n % 11):
            report.inconsistent.append(f"{key}: {len(shown['events'])} entries at offset {n % 11} with"
                                       f" total {shown['total']} and more {shown['more']}")

    async def worker() -> None:
        while (n := next(numbers)) < events:
            try:
                await one(n)
            except httpx.HTTPError as exc:
                report.errors.append(f"{prefix}-{n}: {exc!r}")

    await asyncio.gather(*(worker() for _ in range(clients)))
    return report
