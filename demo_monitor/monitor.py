"""The running monitor: ties the pure fleet, rules and alerts to the store, the outbox and the live stream.

Everything that changes state goes through here, writes SQLite first, then tells the outbox worker and the
dashboards. `tick()` is one step of the simulation; `run()` calls it every tick interval.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from demo_monitor.broadcast import Broadcaster
from demo_monitor.connection import Connection
from demo_monitor.domain.alerts import Alert, check_transition, new_alert_from_rule
from demo_monitor.domain.events import CLIENT, follow_up_row, trigger_row
from demo_monitor.domain.fleet import METRICS, Fleet, validate_fault, validate_metric
from demo_monitor.domain.rules import Cleared, Fired, Rule, RuleEngine
from demo_monitor.domain.still_active import StillActiveAlerts
from demo_monitor.exceptions import NotFound
from demo_monitor.incident_check import IncidentCheck
from demo_monitor.pagerduty import OutboxWorker, utcnow_iso
from demo_monitor.scenario_player import ScenarioPlayer
from demo_monitor.settings import Settings
from demo_monitor.store import Store
from demo_monitor.web import alert_view, fleet_view

log = logging.getLogger("demo_monitor")


class Monitor:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        worker: OutboxWorker,
        broadcaster: Broadcaster,
        connection: Connection,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.store = store
        self.worker = worker
        self.broadcaster = broadcaster
        self.clock = clock
        self.fleet = Fleet(
            settings.fleet_size,
            seed=settings.seed,
            start=clock(),
            interval=settings.tick_interval,
            history=settings.history_size,
        )
        self.engine = RuleEngine()
        self.incidents = IncidentCheck(store, worker.client, settings.pagerduty_base)
        self.still_active = StillActiveAlerts(settings.realert_seconds)
        self.rules: list[Rule] = []
        self.scenario = ScenarioPlayer(store, self.fleet.servers, tick_interval=settings.tick_interval, clock=clock,
                                       set_fault=self.set_fault, clear_fault=self.clear_fault)
        self._fault_lock = asyncio.Lock()
        self._dirty: set[str] = set()
        self._publisher: asyncio.Task | None = None

    # -- start-up -------------------------------------------------------------------------------------------

    async def load(self) -> None:
        """Restore rules, faults (held at their target) and the firing state of open alerts."""
        self.rules = await self.store.list_rules()
        for fault in await self.store.list_faults():
            if fault["server"] in self.fleet.servers and fault["metric"] in METRICS:
                self.fleet.set_fault(fault["server"], fault["metric"], fault["value"], ramp_ticks=1)
        for alert in await self.store.list_alerts(open_only=True, limit=None):
            if alert.server in self.fleet.servers:
                self.engine.mark_firing(alert.server, alert.rule_id, self.fleet.now)
        await self.scenario.load()

    # -- the simulation ---------------------------------------------------------------------------------------

    async def tick(self) -> None:
        await self.scenario.run_due_steps()
        sample = self.fleet.tick()
        transitions = self.engine.evaluate(self.rules, sample, self.fleet.now)
        changed = False
        for transition in transitions:
            if isinstance(transition, Fired):
                await self._open_alert(transition)
            else:
                self.still_active.cleared(transition.server, transition.rule_id)
                await self._clear_alert(transition)
            changed = True
        changed = await self._realert(sample) or changed
        self.broadcaster.publish("tick", fleet_view.tick_message(self.fleet, self.rules, sample))
        if changed:
            await self.publish_alerts()

    async def run(self) -> None:
        interval = self.settings.tick_interval
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("tick failed")
            next_at += interval
            delay = next_at - loop.time()
            if delay < -interval * 5:  # fell far behind (e.g. laptop slept): do not race to catch up
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))

    # -- faults and scenarios ---------------------------------------------------------------------------------

    async def set_fault(self, name: str, metric: object, value: object, ramp_ticks: int = 2) -> dict:
        self.fleet.server(name)
        metric, target = validate_fault(metric, value)
        async with self._fault_lock:
            await self.store.put_fault(name, metric, target, utcnow_iso(self.clock))
            self.fleet.set_fault(name, metric, target, ramp_ticks=ramp_ticks)
        return {"server": name, "metric": metric, "value": target, "fault": "active"}

    async def clear_fault(self, name: str, metric: object | None, ramp_ticks: int | None = None) -> dict:
        self.fleet.server(name)
        if metric is not None:
            validate_metric(metric)
        async with self._fault_lock:
            await self.store.delete_fault(name, metric)
            metrics = [metric] if metric else list(self.fleet.servers[name].faults)
            cleared = []
            for m in metrics:
                fault = self.fleet.servers[name].faults.get(m)
                if fault is not None and ramp_ticks:
                    fault.ramp_ticks = ramp_ticks
                    fault.progress = min(fault.progress, ramp_ticks)
                if self.fleet.clear_fault(name, m):
                    cleared.append(m)
        return {"server": name, "metric": metric, "recovering": cleared}

    async def play_scenario(self, name: str) -> dict:
        return await self.scenario.play(name)

    async def stop_scenario(self) -> None:
        await self.scenario.stop()

    @property
    def scenario_name(self) -> str | None:
        return self.scenario.name

    # -- rules --------------------------------------------------------------------------------------------

    async def update_rule(self, rule_id: int, values: dict, enabled: bool) -> Rule:
        if not await self.store.update_rule(rule_id, enabled=enabled, **values):
            raise NotFound(f"There is no rule {rule_id}.")
        self.rules = await self.store.list_rules()
        return next(r for r in self.rules if r.id == rule_id)

    # -- alerts -------------------------------------------------------------------------------------------

    def alert_url(self, alert_id: str) -> str:
        return f"{self.settings.base_url}/alerts/{alert_id}"

    async def _open_alert(self, fired: Fired) -> Alert:
        integration = await self.store.get_integration()
        version = await self.connection.events_api_version()
        opened_at = utcnow_iso(self.clock)

        def make(number: int) -> Alert:
            alert_id = f"alert-{number}-{secrets.token_hex(3)}"
            return new_alert_from_rule(alert_id, number, fired.server, fired.rule, fired.value, opened_at)

        def rows(alert: Alert) -> list[dict]:
            if not integration:
                return []
            return [trigger_row(alert, version=version, pagerduty_base=self.settings.pagerduty_base,
                                service_key=integration["service_key"], vendor=self.settings.vendor_key,
                                alert_url=self.alert_url(alert.id), now=utcnow_iso(self.clock))]

        alert = await self.store.create_alert(make, rows)
        log.info("alert %s opened: %s", alert.id, alert.description)
        if integration:
            self.worker.wake()
        return alert

    async def _clear_alert(self, cleared: Cleared) -> None:
        for alert in await self.store.list_alerts(open_only=True, server=cleared.server, rule_id=cleared.rule_id,
                                                  limit=None):
            await self._transition(alert, "resolve", who=CLIENT)

    async def _realert(self, sample: dict[str, dict[str, float]]) -> bool:
        """A new alert for each condition still active a hold after its alert was resolved."""
        opened = False
        for entry in self.still_active.due(self.clock()):
            rule = next((r for r in self.rules if r.id == entry.rule_id and r.enabled), None)
            value = sample.get(entry.server, {}).get(rule.metric) if rule else None
            if rule is None or value is None or not self.engine.is_firing(entry.server, rule.id):
                continue
            log.info("condition of alert %s still active after its hold: alerting again", entry.alert_id)
            await self._open_alert(Fired(entry.server, rule, value))
            opened = True
        return opened

    async def alert_changed(self, alert_id: str) -> None:
        """PagerDuty (a webhook) or a person changed the alert: if it was resolved while its condition still
        holds, it stays on the dashboard, and alerts again after the hold."""
        alert = await self.store.get_alert(alert_id)
        if alert and alert.state == "resolved" and self.engine.is_firing(alert.server, alert.rule_id):
            self.still_active.note(alert.id, alert.server, alert.rule_id, self.clock())
        await self.publish_alerts(changed=alert_id)

    async def _transition(self, alert: Alert, action: str, who: str) -> Alert:
        new_state = check_transition(alert, action)
        now = utcnow_iso(self.clock)
        if action == "acknowledge":
            changes = {"state": new_state, "acknowledged_at": now, "acknowledged_by": who}
        else:
            changes = {"state": new_state, "resolved_at": now, "resolved_by": who}
        trigger = await self.store.first_outbox(alert.id, "trigger")
        rows = [] if trigger is None else [
            follow_up_row(alert, action, trigger, vendor=self.settings.vendor_key, alert_url=self.alert_url(alert.id),
                          who=who, now=now)
        ]
        await self.store.update_alert(alert.id, changes, rows)
        if rows:
            self.worker.wake()
        return await self.store.get_alert(alert.id)

    async def act_on_alert(self, alert_id: str, action: str, who: str) -> Alert:
        """A person acknowledged or resolved the alert in the monitor: record it and tell PagerDuty."""
        alert = await self.store.get_alert(alert_id)
        if alert is None:
            raise NotFound(f"There is no alert {alert_id!r}.")
        alert = await self._transition(alert, action, who)
        await self.alert_changed(alert.id)
        return alert

    async def alerts_json(self, *, state: str | None = None, server: str | None = None, open_only: bool = False,
                          limit: int = 200, check: bool = False) -> list[dict]:
        """Newest first, filtered in SQL (store.list_alerts). `check`: first ask PagerDuty whether their incidents
        still exist (pages only)."""
        alerts = await self.store.list_alerts(state=state, server=server, open_only=open_only, limit=limit)
        return await self._as_json(alerts, check)

    async def active_alerts_json(self, *, limit: int = 50, check: bool = False) -> list[dict]:
        """What the dashboard shows: open alerts, and resolved ones whose condition is still active."""
        alerts = await self.store.list_alerts(open_only=True, limit=limit)
        for alert_id in self.still_active.alert_ids():
            alert = await self.store.get_alert(alert_id)
            if alert is not None and alert.state == "resolved":
                alerts.append(alert)
        alerts.sort(key=lambda a: a.number, reverse=True)
        return await self._as_json(alerts[:limit], check)

    async def _as_json(self, alerts: list[Alert], check: bool) -> list[dict]:
        if check:
            alerts = await self.incidents.refresh(alerts)
        outbox = await self.store.outbox_for_alerts([a.id for a in alerts])
        return [self.alert_json(a, outbox[a.id]) for a in alerts]

    async def alert_json_by_id(self, alert_id: str, *, check: bool = False) -> tuple[Alert, dict, list[dict]]:
        alert = await self.store.get_alert(alert_id)
        if alert is None:
            raise NotFound(f"There is no alert {alert_id!r}.")
        if check:
            (alert,) = await self.incidents.refresh([alert])
        rows = (await self.store.outbox_for_alerts([alert.id]))[alert.id]
        return alert, self.alert_json(alert, rows), rows

    def alert_json(self, alert: Alert, outbox_rows: list[dict]) -> dict:
        rule = next((r for r in self.rules if r.id == alert.rule_id), None)
        return alert_view.alert_json(alert, outbox_rows, rule=rule, url=self.alert_url(alert.id),
                                     still_active=self.still_active.get(alert.id))

    async def publish_alerts(self, changed: str | None = None) -> None:
        if not self.broadcaster.subscribers:
            return
        self.broadcaster.publish("alerts", {"open": await self.active_alerts_json(), "changed": changed})

    async def on_delivery_change(self, alert_id: str) -> None:
        """The outbox worker recorded an attempt: tell the dashboards, at most about five times a second
        (a burst of deliveries becomes one message)."""
        if not self.broadcaster.subscribers:
            return
        self._dirty.add(alert_id)
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(self._publish_dirty())

    async def _publish_dirty(self) -> None:
        await asyncio.sleep(0.2)
        changed, self._dirty = self._dirty, set()
        await self.publish_alerts(changed=next(iter(changed)) if len(changed) == 1 else None)

    async def close(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            await asyncio.gather(self._publisher, return_exceptions=True)
