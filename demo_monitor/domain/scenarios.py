"""Scripted demo stories: which server breaks, when, and when it recovers."""

from __future__ import annotations

from collections.abc import Container
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


def timetable(steps: list[ScenarioStep], servers: Container[str], start: float, tick_interval: float) -> list[dict]:
    """The steps on servers the fleet has, each due at a wall-clock time (epoch seconds), as they are kept:
    {"due", "server", "metric", "value", "ramp_ticks"}."""
    return [
        {"due": start + s.at_tick * tick_interval, "server": s.server, "metric": s.metric, "value": s.value,
         "ramp_ticks": s.ramp_ticks}
        for s in steps
        if s.server in servers
    ]
