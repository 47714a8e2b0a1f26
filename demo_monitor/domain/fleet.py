"""A simulated fleet: believable, seeded, deterministic metric time series kept in ring buffers.

Each metric is a daily shape (busier in the afternoon) + a slow mean-reverting drift + noise, clamped to a
range that stays under the default alert thresholds. A fault drives one metric to a target over a few ticks
and holds it there; clearing the fault lets the metric ramp back to its natural value.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

METRICS: tuple[str, ...] = ("cpu_usage", "memory_usage", "disk_usage", "latency_ms", "error_rate")
UNITS: dict[str, str] = {
    "cpu_usage": "%",
    "memory_usage": "%",
    "disk_usage": "%",
    "latency_ms": "ms",
    "error_rate": "%",
}
LABELS: dict[str, str] = {
    "cpu_usage": "CPU",
    "memory_usage": "Memory",
    "disk_usage": "Disk",
    "latency_ms": "Latency",
    "error_rate": "Error rate",
}
# Upper bound a fault may drive a metric to.
LIMITS: dict[str, float] = {
    "cpu_usage": 100.0,
    "memory_usage": 100.0,
    "disk_usage": 100.0,
    "latency_ms": 60000.0,
    "error_rate": 100.0,
}
# What "Break" drives each metric to.
BREAK_VALUES: dict[str, float] = {
    "cpu_usage": 97.0,
    "memory_usage": 98.0,
    "disk_usage": 98.0,
    "latency_ms": 2500.0,
    "error_rate": 12.0,
}
DEFAULT_RAMP_TICKS = 2


class UnknownServer(LookupError):
    """A server name the fleet does not have (404)."""


class FaultError(ValueError):
    """A fault that cannot be set: unknown metric, or a value out of range (400); the message is shown as is."""


def validate_metric(metric: object) -> str:
    if not isinstance(metric, str) or metric not in METRICS:
        raise FaultError(f"'metric' must be one of: {', '.join(METRICS)}.")
    return metric


def validate_fault(metric: object, value: object) -> tuple[str, float]:
    """(metric, target) of a fault to set; no value means "Break" (BREAK_VALUES)."""
    metric = validate_metric(metric)
    if value is None:
        return metric, BREAK_VALUES[metric]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError("'value' must be a number.")
    if not 0 <= value <= LIMITS[metric]:
        raise FaultError(f"'value' for {metric} must be between 0 and {LIMITS[metric]:g}.")
    return metric, float(value)


@dataclass(frozen=True)
class Shape:
    """How one metric behaves on one kind of server."""

    base: float
    daily: float  # amplitude of the daily curve
    noise: float  # standard deviation of per-tick noise
    drift: float  # step of the slow random walk
    low: float
    high: float


PROFILES: dict[str, dict[str, Shape]] = {
    "web": {
        "cpu_usage": Shape(28, 22, 3.0, 0.4, 3, 78),
        "memory_usage": Shape(52, 8, 1.2, 0.3, 20, 80),
        "disk_usage": Shape(41, 0, 0.1, 0.05, 10, 85),
        "latency_ms": Shape(85, 40, 9.0, 1.0, 20, 400),
        "error_rate": Shape(0.6, 0.4, 0.15, 0.02, 0, 3.5),
    },
    "db": {
        "cpu_usage": Shape(35, 18, 2.5, 0.4, 5, 78),
        "memory_usage": Shape(66, 5, 0.8, 0.2, 40, 85),
        "disk_usage": Shape(62, 0, 0.1, 0.05, 20, 88),
        "latency_ms": Shape(12, 6, 1.5, 0.2, 2, 80),
        "error_rate": Shape(0.2, 0.1, 0.05, 0.01, 0, 2),
    },
    "cache": {
        "cpu_usage": Shape(18, 12, 2.0, 0.3, 2, 70),
        "memory_usage": Shape(70, 4, 0.6, 0.2, 40, 86),
        "disk_usage": Shape(24, 0, 0.1, 0.03, 5, 80),
        "latency_ms": Shape(2.5, 1.2, 0.3, 0.05, 0.5, 20),
        "error_rate": Shape(0.1, 0.05, 0.03, 0.005, 0, 1.5),
    },
}


def fleet_names(size: int) -> list[tuple[str, str]]:
    """Server (name, role) pairs: mostly web servers www1…, then databases db1… and caches cache1….

    From 24 servers up there are always at least 15 web servers, so www15 exists.
    """
    if size <= 0:
        return []
    web = max(math.ceil(size * 0.65), min(size, 15))
    web = min(web, size)
    rest = size - web
    dbs = (rest + 1) // 2
    caches = rest - dbs
    names = [(f"www{i}", "web") for i in range(1, web + 1)]
    names += [(f"db{i}", "db") for i in range(1, dbs + 1)]
    names += [(f"cache{i}", "cache") for i in range(1, caches + 1)]
    return names


def daily_curve(timestamp: float) -> float:
    """0 at 04:00 UTC, 1 at 16:00 UTC: a smooth business-day shape."""
    hours = (timestamp % 86400) / 3600
    return 0.5 - 0.5 * math.cos(2 * math.pi * (hours - 4) / 24)


@dataclass
class Fault:
    target: float
    ramp_ticks: int = DEFAULT_RAMP_TICKS
    progress: int = 0  # 0 … ramp_ticks
    recovering: bool = False

    @property
    def weight(self) -> float:
        return self.progress / self.ramp_ticks if self.ramp_ticks else 1.0


@dataclass
class Server:
    name: str
    role: str
    rng: random.Random
    phase: float  # seconds the daily curve is shifted by
    history: dict[str, deque] = field(default_factory=dict)
    drift: dict[str, float] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    current: dict[str, float] = field(default_factory=dict)


class Fleet:
    """The simulated servers. `tick()` advances time by one step and returns the new sample of every server."""

    def __init__(
        self, size: int, *, seed: int = 42, start: float = 0.0, interval: float = 1.0, history: int = 300
    ) -> None:
        self.interval = interval
        self.start = start
        self.ticks = 0
        self.timestamps: deque[float] = deque(maxlen=history)
        self.servers: dict[str, Server] = {}
        for name, role in fleet_names(size):
            rng = random.Random(f"{seed}:{name}")
            server = Server(name=name, role=role, rng=rng, phase=rng.uniform(-3600, 3600))
            for metric in METRICS:
                server.history[metric] = deque(maxlen=history)
                server.drift[metric] = 0.0
            self.servers[name] = server

    @property
    def now(self) -> float:
        return self.start + self.ticks * self.interval

    def names(self) -> list[str]:
        return list(self.servers)

    def server(self, name: str) -> Server:
        """The server of that name; the one place that says there is none."""
        server = self.servers.get(name)
        if server is None:
            raise UnknownServer(f"There is no server named {name!r}.")
        return server

    def set_fault(self, name: str, metric: str, value: float, ramp_ticks: int = DEFAULT_RAMP_TICKS) -> None:
        server = self.servers[name]
        if metric not in METRICS:
            raise KeyError(metric)
        existing = server.faults.get(metric)
        progress = 0
        if existing is not None:
            # keep the part of the ramp already done, so a new target does not jump
            progress = round(existing.weight * max(ramp_ticks, 1))
        server.faults[metric] = Fault(target=value, ramp_ticks=max(ramp_ticks, 1), progress=progress)

    def clear_fault(self, name: str, metric: str) -> bool:
        fault = self.servers[name].faults.get(metric)
        if fault is None:
            return False
        fault.recovering = True
        return True

    def active_faults(self, name: str) -> dict[str, float]:
        """Faults that are driving or holding a metric (not those recovering)."""
        return {m: f.target for m, f in self.servers[name].faults.items() if not f.recovering}

    def _natural(self, server: Server, metric: str, timestamp: float) -> float:
        shape = PROFILES[server.role][metric]
        rng = server.rng
        drift = server.drift[metric] + rng.gauss(0, shape.drift)
        drift *= 0.995  # mean-reverting: the walk never wanders far
        span = shape.high - shape.low
        drift = max(-span / 4, min(span / 4, drift))
        server.drift[metric] = drift
        value = shape.base + shape.daily * daily_curve(timestamp + server.phase) + drift + rng.gauss(0, shape.noise)
        return max(shape.low, min(shape.high, value))

    def tick(self) -> dict[str, dict[str, float]]:
        """Advance one step; return {server: {metric: value}} and record it in the history."""
        self.ticks += 1
        timestamp = self.now
        self.timestamps.append(timestamp)
        sample: dict[str, dict[str, float]] = {}
        for server in self.servers.values():
            values: dict[str, float] = {}
            for metric in METRICS:
                value = self._natural(server, metric, timestamp)
                fault = server.faults.get(metric)
                if fault is not None:
                    if fault.recovering:
                        fault.progress -= 1
                    elif fault.progress < fault.ramp_ticks:
                        fault.progress += 1
                    if fault.progress <= 0:
                        del server.faults[metric]
                    else:
                        value = value + fault.weight * (fault.target - value)
                value = round(value, 2)
                values[metric] = value
                server.history[metric].append(value)
            server.current = values
            sample[server.name] = values
        return sample

    def history(self, name: str) -> dict[str, list[float]]:
        server = self.servers[name]
        out: dict[str, list[float]] = {"t": list(self.timestamps)}
        for metric in METRICS:
            values = list(server.history[metric])
            # servers all tick together, so the lengths match the timestamps
            out[metric] = values
        return out
