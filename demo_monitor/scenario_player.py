"""The scripted story under way: its steps are due at wall-clock times and kept in SQLite (meta "scenario"), so
a restart in the middle of the story still ends it (the recovery step is not lost)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Container

from demo_monitor.domain.scenarios import SCENARIOS, timetable
from demo_monitor.exceptions import BadRequest, NotFound
from demo_monitor.store import Store

SetFault = Callable[..., Awaitable[dict]]  # (server, metric, value, ramp_ticks=…) / (server, metric, ramp_ticks=…)


class ScenarioPlayer:
    def __init__(self, store: Store, servers: Container[str], *, tick_interval: float, clock: Callable[[], float],
                 set_fault: SetFault, clear_fault: SetFault) -> None:
        self.store = store
        self.servers = servers
        self.tick_interval = tick_interval
        self.clock = clock
        self.set_fault = set_fault
        self.clear_fault = clear_fault
        self.steps: list[dict] = []  # still to run: {"due", "server", "metric", "value", "ramp_ticks"}
        self.name: str | None = None

    async def play(self, name: str) -> dict:
        scenario = SCENARIOS.get(name)
        if scenario is None:
            raise NotFound(f"There is no scenario named {name!r}.")
        steps = timetable(scenario["steps"], self.servers, self.clock(), self.tick_interval)
        if not steps:
            raise BadRequest("This fleet is too small for the scenario (it needs www15).")
        self.steps = steps
        self.name = name
        await self._save()
        await self.run_due_steps()
        return {"scenario": name, "title": scenario["title"], "steps": len(steps)}

    async def stop(self) -> None:
        self.steps = []
        self.name = None
        await self._save()

    async def load(self) -> None:
        try:
            state = json.loads(await self.store.get_meta("scenario") or "{}")
        except ValueError:
            state = {}
        self.steps = [s for s in state.get("steps", []) if s.get("server") in self.servers]
        self.name = state.get("name") if self.steps else None

    async def run_due_steps(self) -> None:
        ran = False
        while self.steps and self.steps[0]["due"] <= self.clock():
            step = self.steps.pop(0)
            ran = True
            if step["value"] is None:
                await self.clear_fault(step["server"], step["metric"], ramp_ticks=step["ramp_ticks"])
            else:
                await self.set_fault(step["server"], step["metric"], step["value"], ramp_ticks=step["ramp_ticks"])
        if not self.steps:
            self.name = None
        if ran:
            await self._save()

    async def _save(self) -> None:
        state = {"name": self.name, "steps": self.steps} if self.steps else {}
        await self.store.set_meta("scenario", json.dumps(state))
