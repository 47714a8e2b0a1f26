"""Threshold rules and the engine that turns samples into fired / cleared transitions, with a hold time."""

from __future__ import annotations

from dataclasses import dataclass

from demo_monitor.domain.fleet import LABELS, METRICS

SEVERITIES: tuple[str, ...] = ("critical", "error", "warning", "info")
SEVERITY_RANK: dict[str, int] = {"ok": 0, "info": 1, "warning": 2, "error": 3, "critical": 4}
OPERATORS: tuple[str, ...] = (">", ">=", "<", "<=")


class RuleError(ValueError):
    """A rule edit that does not make sense; the message is shown to the person."""


@dataclass(frozen=True)
class Rule:
    id: int
    metric: str
    operator: str
    threshold: float
    severity: str
    for_seconds: int
    enabled: bool = True

    def breached(self, value: float) -> bool:
        if self.operator == ">":
            return value > self.threshold
        if self.operator == ">=":
            return value >= self.threshold
        if self.operator == "<":
            return value < self.threshold
        return value <= self.threshold

    def describe(self) -> str:
        return f"{self.metric} {self.operator} {format_value(self.metric, self.threshold)} for {self.for_seconds}s"

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "metric": self.metric,
            "operator": self.operator,
            "threshold": self.threshold,
            "severity": self.severity,
            "for_seconds": self.for_seconds,
            "enabled": self.enabled,
        }


def format_value(metric: str, value: float) -> str:
    """98 -> '98%', 97.456 -> '97.5%', 250 -> '250ms'."""
    unit = "ms" if metric == "latency_ms" else "%"
    return f"{round(float(value), 1):g}{unit}"


_OPERATOR_WORDS = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}


def rule_words(metric: str, operator: str, threshold: float, for_seconds: int | None = None) -> str:
    """'Memory above 90% for 2 seconds': a rule as people say it."""
    text = f"{LABELS.get(metric, metric)} {_OPERATOR_WORDS.get(operator, operator)} {format_value(metric, threshold)}"
    if for_seconds:
        text += f" for {for_seconds} second{'' if for_seconds == 1 else 's'}"
    return text


def validate_rule_edit(metric: str, operator: str, threshold: str | float, severity: str, for_seconds: str | int) -> dict:
    """Check a person's rule edit; return clean values or raise RuleError with a readable message."""
    if metric not in METRICS:
        raise RuleError(f"Unknown metric {metric!r}; choose one of: {', '.join(METRICS)}.")
    if operator not in OPERATORS:
        raise RuleError(f"Unknown comparison {operator!r}; choose one of: {' '.join(OPERATORS)}.")
    if severity not in SEVERITIES:
        raise RuleError(f"Unknown severity {severity!r}; choose one of: {', '.join(SEVERITIES)}.")
    try:
        threshold_value = float(threshold)
    except (TypeError, ValueError):
        raise RuleError("The threshold must be a number.") from None
    if threshold_value != threshold_value or threshold_value < 0 or threshold_value > 1_000_000:
        raise RuleError("The threshold must be a number between 0 and 1000000.")
    try:
        hold = int(for_seconds)
    except (TypeError, ValueError):
        raise RuleError("'For' must be a whole number of seconds.") from None
    if hold < 0 or hold > 86400:
        raise RuleError("'For' must be between 0 and 86400 seconds.")
    return {"metric": metric, "operator": operator, "threshold": threshold_value, "severity": severity,
            "for_seconds": hold}


@dataclass(frozen=True)
class Fired:
    server: str
    rule: Rule
    value: float


@dataclass(frozen=True)
class Cleared:
    server: str
    rule_id: int
    value: float | None


class RuleEngine:
    """Remembers, per (server, rule), since when a rule has been breached and whether it is firing.

    A rule fires once its condition has held for `for_seconds` (measured in sample time) and clears on the
    first sample where it no longer holds (or when the rule is disabled or removed).
    """

    def __init__(self) -> None:
        self._since: dict[tuple[str, int], float] = {}
        self._firing: set[tuple[str, int]] = set()

    def mark_firing(self, server: str, rule_id: int, since: float) -> None:
        """Restore a firing state (e.g. an alert still open after a restart)."""
        self._since[(server, rule_id)] = since
        self._firing.add((server, rule_id))

    def is_firing(self, server: str, rule_id: int) -> bool:
        return (server, rule_id) in self._firing

    def evaluate(
        self, rules: list[Rule], sample: dict[str, dict[str, float]], now: float
    ) -> list[Fired | Cleared]:
        out: list[Fired | Cleared] = []
        active = {rule.id: rule for rule in rules if rule.enabled}
        # rules that were disabled or deleted clear whatever they had fired
        for key in sorted(k for k in self._firing if k[1] not in active):
            self._firing.discard(key)
            self._since.pop(key, None)
            out.append(Cleared(key[0], key[1], None))
        for server, values in sample.items():
            for rule in active.values():
                value = values.get(rule.metric)
                if value is None:
                    continue
                key = (server, rule.id)
                if rule.breached(value):
                    since = self._since.setdefault(key, now)
                    if key not in self._firing and now - since >= rule.for_seconds:
                        self._firing.add(key)
                        out.append(Fired(server, rule, value))
                else:
                    self._since.pop(key, None)
                    if key in self._firing:
                        self._firing.discard(key)
                        out.append(Cleared(server, rule.id, value))
        return out


def server_status(rules: list[Rule], values: dict[str, float]) -> str:
    """The worst severity among enabled rules the current values breach; 'ok' if none."""
    worst = "ok"
    for rule in rules:
        if not rule.enabled:
            continue
        value = values.get(rule.metric)
        if value is not None and rule.breached(value) and SEVERITY_RANK[rule.severity] > SEVERITY_RANK[worst]:
            worst = rule.severity
    return worst
