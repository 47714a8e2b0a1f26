"""Alerts: what an alert says, its life (open → acknowledged → resolved), and how its delivery is summarised."""

from __future__ import annotations

from dataclasses import dataclass, field

from demo_monitor.domain.rules import Rule, format_value

STATES: tuple[str, ...] = ("open", "acknowledged", "resolved")

_DESCRIPTIONS = {
    "memory_usage": "Server {server} running low on memory",
    "cpu_usage": "Server {server} CPU usage is high",
    "disk_usage": "Server {server} running low on disk space",
    "error_rate": "Server {server} error rate is high",
    "latency_ms": "Server {server} is responding slowly",
}


class AlertError(ValueError):
    """An action that does not apply to the alert in its current state (shown as a 409)."""


def describe(server: str, metric: str) -> str:
    """The one-line summary sent to PagerDuty, e.g. 'Server www15 running low on memory'."""
    return _DESCRIPTIONS.get(metric, "Server {server} " + metric + " out of range").format(server=server)


def details(server: str, metric: str, value: float, threshold: float) -> dict[str, str]:
    """e.g. {"server_name": "www15", "memory_usage": "98%", "threshold": "90%"}."""
    return {
        "server_name": server,
        metric: format_value(metric, value),
        "threshold": format_value(metric, threshold),
    }


@dataclass
class Alert:
    id: str
    number: int
    server: str
    metric: str
    rule_id: int
    severity: str
    threshold: float
    operator: str
    value: float  # the value that fired the rule
    description: str
    state: str = "open"
    opened_at: str = ""
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    pd_status: str | None = None  # incident status as PagerDuty reported it by webhook
    pd_agent: str | None = None  # who changed it in PagerDuty
    pd_incident_url: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def incident_key(self) -> str:
        return self.id

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"

    def rule_text(self) -> str:
        return f"{self.metric} {self.operator} {format_value(self.metric, self.threshold)}"


def check_transition(alert: Alert, action: str) -> str:
    """The new state for a person's action ('acknowledge' or 'resolve'), or AlertError if it does not apply."""
    if action == "acknowledge":
        if alert.state != "open":
            raise AlertError(f"Alert {alert.id} is {alert.state}; only an open alert can be acknowledged.")
        return "acknowledged"
    if action == "resolve":
        if alert.state == "resolved":
            raise AlertError(f"Alert {alert.id} is already resolved.")
        return "resolved"
    raise AlertError(f"Unknown action {action!r}.")


def new_alert_from_rule(alert_id: str, number: int, server: str, rule: Rule, value: float, opened_at: str) -> Alert:
    return Alert(
        id=alert_id,
        number=number,
        server=server,
        metric=rule.metric,
        rule_id=rule.id,
        severity=rule.severity,
        threshold=rule.threshold,
        operator=rule.operator,
        value=value,
        description=describe(server, rule.metric),
        opened_at=opened_at,
        details=details(server, rule.metric, value, rule.threshold),
    )


# -- delivery ---------------------------------------------------------------------------------------------

DELIVERY_STATES: tuple[str, ...] = ("queued", "sent", "retrying", "failed")


@dataclass(frozen=True)
class Delivery:
    """One outbox row as the rules see it."""

    event_type: str
    status: str
    attempts: int = 0
    last_error: str | None = None


def delivery_summary(rows: list[Delivery]) -> dict:
    """The alert's delivery state for people: the first event not yet sent decides; else the last one sent.

    Returns {"status": "not_sent"|"queued"|"sent"|"retrying"|"failed", "event": …, "attempts": …, "reason": …}.
    """
    if not rows:
        return {"status": "not_sent", "event": None, "attempts": 0,
                "reason": "PagerDuty was not connected when the alert opened"}
    for row in rows:
        if row.status != "sent":
            return {"status": row.status, "event": row.event_type, "attempts": row.attempts, "reason": row.last_error}
    last = rows[-1]
    return {"status": "sent", "event": last.event_type, "attempts": last.attempts, "reason": None}
