"""The connection to PagerDuty: the Connect handshake (single-use state, callback), the stored integration,
the Events API version setting, and PagerDuty's signed v3 webhooks coming back."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from demo_monitor import json_body
from demo_monitor.broadcast import Broadcaster
from demo_monitor.domain import webhooks
from demo_monitor.exceptions import BadRequest
from demo_monitor.pagerduty import utcnow_iso
from demo_monitor.settings import Settings
from demo_monitor.store import Store


async def _nothing(alert_id: str) -> None:
    return None


class Connection:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        broadcaster: Broadcaster,
        *,
        clock: Callable[[], float] = time.time,
        on_alert_change: Callable[[str], Awaitable[None]] = _nothing,
    ) -> None:
        self.settings = settings
        self.store = store
        self.broadcaster = broadcaster
        self.clock = clock
        self.on_alert_change = on_alert_change
        self.oauth = None  # the OAuthConnect, set by the app: Disconnect revokes its token

    async def events_api_version(self) -> int:
        stored = await self.store.get_meta("events_api_version")
        return int(stored) if stored in ("1", "2") else self.settings.events_api_version

    async def set_events_api_version(self, version: int) -> None:
        if version not in (1, 2):
            raise BadRequest("The Events API version must be 1 or 2.")
        await self.store.set_meta("events_api_version", str(version))
        await self.publish_integration()

    async def integration_json(self) -> dict:
        integration = await self.store.get_integration()
        version = await self.events_api_version()
        if not integration:
            return {"connected": False, "account": None, "service_name": None, "service_key": None,
                    "connected_at": None, "via": None, "events_api_version": version, "pagerduty_url": self.settings.pagerduty_base}
        return {"connected": True, **integration, "events_api_version": version,
                "pagerduty_url": self.settings.pagerduty_base}

    async def publish_integration(self) -> None:
        self.broadcaster.publish("integration", await self.integration_json())

    async def start_connect(self) -> str:
        """Make a single-use state token and return the PagerDuty Connect URL to send the browser to."""
        token = secrets.token_urlsafe(24)
        await self.store.add_connect_state(token, self.clock())
        callback = f"{self.settings.base_url}/integrations/pagerduty/callback?{urlencode({'state': token})}"
        query = urlencode({"vendor": self.settings.vendor_key, "callback": callback})
        return f"{self.settings.pagerduty_base}/connect?{query}"

    async def connect_callback(self, params: dict[str, str]) -> str:
        """Check the state and store the integration; returns 'connected' or 'cancelled', or raises BadRequest."""
        state = params.get("state")
        if not state:
            raise BadRequest("The PagerDuty callback has no state token, so it cannot be trusted. "
                             "Start again with the “Alert with PagerDuty” button.")
        if not await self.store.consume_connect_state(state, self.clock()):
            raise BadRequest("The PagerDuty callback's state token is wrong, expired or already used. "
                             "Start again with the “Alert with PagerDuty” button.")
        if params.get("error"):
            if params["error"] == "cancelled":
                return "cancelled"
            raise BadRequest(f"PagerDuty reported an error: {params['error']}")
        account = params.get("account", "").strip()
        service_key = params.get("service_key", "").strip()
        service_name = params.get("service_name", "").strip()
        if not account or not service_key:
            raise BadRequest("The PagerDuty callback is missing the account or the service key.")
        if len(service_key) != 32 or not service_key.isalnum():
            raise BadRequest("The service key PagerDuty sent is not a 32-character integration key.")
        await self.store.save_integration(account, service_key, service_name or "(unnamed service)",
                                          utcnow_iso(self.clock))
        await self.publish_integration()
        return "connected"

    async def disconnect(self) -> None:
        if self.oauth is not None:
            await self.oauth.revoke()  # a connection from Connect with OAuth: its token is revoked first
        await self.store.delete_integration()
        await self.publish_integration()

    async def receive_webhook(self, body: bytes, signature: str | None) -> tuple[int, dict]:
        """(status code, JSON) for a v3 webhook delivery. Bad signature → 401, a replay (an event more than
        five minutes old) → 400, and nothing changes; a repeat of a recent one is answered as a duplicate."""
        if not webhooks.verify_signature(self.settings.webhook_secret, body, signature):
            return 401, {"error": "invalid or missing X-PagerDuty-Signature"}
        try:
            payload = json_body.parse(body)
        except ValueError:
            return 400, {"error": "the body is not JSON"}
        try:
            event = webhooks.parse_event(payload)
        except webhooks.WebhookError as exc:
            return 400, {"error": str(exc)}
        if webhooks.is_replay(event["occurred_at"], self.clock()):
            return 400, {"error": f"event.occurred_at {event['occurred_at']} is more than"
                                  f" {webhooks.REPLAY_WINDOW_SECONDS // 60} minutes old: a replayed delivery"}
        alert = await self.store.get_alert(event["incident_key"]) if event["incident_key"] else None
        changes = webhooks.changes_for(alert, event, utcnow_iso(self.clock)) if alert else {}
        fresh = await self.store.apply_webhook(event["id"], event["event_type"], utcnow_iso(self.clock),
                                               alert.id if alert else None, changes)
        if not fresh:
            return 200, {"status": "duplicate", "event_id": event["id"]}
        if alert is None:
            return 202, {"status": "ignored", "reason": "no alert has this incident_key"}
        await self.on_alert_change(alert.id)
        return 200, {"status": "processed", "alert_id": alert.id}
