"""The fleet as JSON (the API, the pages, the live stream): every server's status, metrics and faults, the rules'
threshold lines for the charts, and the tick message every dashboard gets."""

from __future__ import annotations

from demo_monitor.domain.fleet import METRICS, Fleet, Server
from demo_monitor.domain.rules import Rule, server_status


def thresholds(rules: list[Rule]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {m: [] for m in METRICS}
    for rule in rules:
        if rule.enabled:
            out[rule.metric].append({"value": rule.threshold, "severity": rule.severity})
    return out


def _server_json(fleet: Fleet, rules: list[Rule], server: Server) -> dict:
    return {
        "name": server.name,
        "role": server.role,
        "status": server_status(rules, server.current) if server.current else "ok",
        "metrics": dict(server.current),
        "faults": fleet.active_faults(server.name),
    }


def servers_json(fleet: Fleet, rules: list[Rule]) -> list[dict]:
    return [_server_json(fleet, rules, server) for server in fleet.servers.values()]


def server_json(fleet: Fleet, rules: list[Rule], name: str) -> dict:
    return _server_json(fleet, rules, fleet.server(name))


def tick_message(fleet: Fleet, rules: list[Rule], sample: dict[str, dict[str, float]]) -> dict:
    rows = [[name, server_status(rules, values), *(round(values[m], 1) for m in METRICS)]
            for name, values in sample.items()]
    return {"t": round(fleet.now, 3), "metrics": list(METRICS), "servers": rows}
