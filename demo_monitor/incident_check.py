"""Does PagerDuty still have an alert's incident? Real PagerDuty does not delete incidents behind a partner's
back, but the sandbox's Reset does, and a link to the incident would then lead to a 404 page.

The sandbox answers `GET /_sandbox/incidents/wait?incident_key=…&timeout=0` with 200 (the incident) or 408
(none). Anything else — real PagerDuty, a sandbox that wants a token, a network error — means "cannot tell":
the alert keeps its link, and this process stops asking a PagerDuty that is not a sandbox.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from demo_monitor.domain.alerts import Alert
from demo_monitor.domain.webhooks import GONE
from demo_monitor.store import Store

log = logging.getLogger("demo_monitor")
MAX_CHECKS = 20  # alerts looked at per page view, newest first
TIMEOUT_SECONDS = 2.0


class IncidentCheck:
    def __init__(self, store: Store, client: httpx.AsyncClient, pagerduty_base: str) -> None:
        self.store = store
        self.client = client
        self.base = pagerduty_base
        self.answers = True  # False once PagerDuty showed it cannot answer (not a sandbox)

    async def exists(self, incident_key: str) -> bool | None:
        try:
            response = await self.client.get(f"{self.base}/_sandbox/incidents/wait",
                                             params={"incident_key": incident_key, "timeout": "0"},
                                             timeout=TIMEOUT_SECONDS)
        except httpx.HTTPError:
            return None
        is_json = response.headers.get("content-type", "").startswith("application/json")
        if response.status_code == 200 and is_json:
            return True
        if response.status_code == 408 and is_json:
            return False
        if response.status_code in (404, 405):
            self.answers = False
        return None

    async def refresh(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts, with pd_status "gone" (stored) for those whose incident PagerDuty no longer has."""
        if not self.answers:
            return alerts
        linked = [a for a in alerts if a.pd_incident_url and a.pd_status != GONE][:MAX_CHECKS]
        if not linked:
            return alerts
        found = await asyncio.gather(*(self.exists(a.incident_key) for a in linked))
        gone = {a.id for a, exists in zip(linked, found, strict=True) if exists is False}
        for alert_id in gone:
            log.info("alert %s: its incident no longer exists in PagerDuty", alert_id)
            await self.store.update_alert(alert_id, {"pd_status": GONE})
        for alert in alerts:
            if alert.id in gone:
                alert.pd_status = GONE
        return alerts
