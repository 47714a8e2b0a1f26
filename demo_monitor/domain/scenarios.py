"""Scripted demo stories: which server breaks, when, and when it recovers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScenarioStep:
    at_tick: int
    server: str
    metric: str
    value: float | None  # None = recover
    ramp_ticks: int = 2


SCENARIOS: dict[str, dict] = {
    "memory-leak": {
        "title": "Memory leak on www15",
        "story": "Memory on www15 climbs over ten seconds past 90 %, an alert opens and PagerDuty is paged; "
        "thirty seconds later the leak is fixed and everything resolves.",
        "steps": [
            ScenarioStep(0, "www15", "memory_usage", 97.5, ramp_ticks=10),
            ScenarioStep(40, "www15", "memory_usage", None, ramp_ticks=4),
        ],
    },
}
