"""Fault rules: what the sandbox does to an Events API request instead of (or before) handling it.

A rule's `match` names the endpoint (`v1`, `v2`, `change` or `any`), the routing key and the path (a glob);
left out, each matches anything. The rule then answers with an HTTP status, adds latency, or cuts the connection. Rules are tried in order; the first
one that matches, still has shots left (`count`) and wins its dice roll (`probability`, from a per-rule RNG
seeded with `seed`, so runs repeat) fires, and no later rule is tried.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field
from typing import Any

ENDPOINTS = ("any", "v1", "v2", "change")
MAX_LATENCY_MS = 120_000
FIELDS = ("label", "match", "status", "body", "latency_ms", "disconnect", "probability", "count", "seed")
MATCH_FIELDS = ("endpoint", "routing_key", "path")
# Shorthand: the match fields may also be given at the top level of a rule (`api` is `endpoint`).
SHORTHAND = {"endpoint": "endpoint", "api": "endpoint", "routing_key": "routing_key", "path": "path"}


@dataclass
class FaultRule:
    id: str
    endpoint: str = "any"
    routing_key: str | None = None
    path: str | None = None
    status: int | None = None
    body: Any = None  # replaces the canned body for `status` when given (a JSON value, or a string sent as is)
    latency_ms: int = 0
    disconnect: bool = False
    probability: float = 1.0
    count: int | None = None  # fire this many times, then stop; None = forever
    seed: int = 0
    label: str = ""
    fired: int = 0
    created_at: str = ""

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else max(self.count - self.fired, 0)

    def matches(self, endpoint: str, path: str, routing_key: str | None) -> bool:
        if self.endpoint != "any" and self.endpoint != endpoint:
            return False
        if self.routing_key is not None and self.routing_key != routing_key:
            return False
        if self.path is not None:
            wanted, actual = self.path.rstrip("/") or "/", path.rstrip("/") or "/"
            if not fnmatch.fnmatchcase(actual, wanted):
                return False
        return True

    def describe(self) -> str:
        """What the rule does, in a few words, for the journal."""
        parts = []
        if self.latency_ms:
            parts.append(f"delayed {self.latency_ms} ms")
        if self.disconnect:
            parts.append("cut the connection")
        elif self.status is not None:
            parts.append(f"answered {self.status}")
        return f"fault {self.id}: " + ", ".join(parts)

    def definition(self) -> dict:
        """The rule as a client gives it (what PUT accepts back)."""
        return {
            "label": self.label,
            "match": {"endpoint": self.endpoint, "routing_key": self.routing_key, "path": self.path},
            "status": self.status, "body": self.body, "latency_ms": self.latency_ms, "disconnect": self.disconnect,
            "probability": self.probability, "count": self.count, "seed": self.seed,
        }

    @classmethod
    def restore(cls, id: str, definition: dict, *, fired: int, created_at: str) -> FaultRule:
        """A rule as it was kept (its definition, already checked when it was made)."""
        rule = parse_rule(definition, id=id, created_at=created_at)
        if isinstance(rule, list):
            raise ValueError(f"stored fault rule {id} is invalid: {'; '.join(rule)}")
        rule.fired = fired
        return rule

    def to_dict(self) -> dict:
        return {"id": self.id, **self.definition(), "fired": self.fired, "remaining": self.remaining,
                "created_at": self.created_at}


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_rule(doc: Any, *, id: str, created_at: str) -> FaultRule | list[str]:
    """Check a rule a client sent; returns the rule or every problem found."""
    if not isinstance(doc, dict):
        return ["a fault rule must be a JSON object"]
    errors: list[str] = []
    unknown = sorted(set(doc) - set(FIELDS) - set(SHORTHAND) - {"id", "fired", "remaining", "created_at"})
    if unknown:
        errors.append("unknown field(s): " + ", ".join(unknown))
    match = doc.get("match")
    if match is None:
        match = {}
    if not isinstance(match, dict):
        errors.append("'match' must be an object like {\"endpoint\": \"v2\"}")
        match = {}
    shorthand = {SHORTHAND[name]: doc[name] for name in SHORTHAND if name in doc}
    if shorthand:
        if set(shorthand) & set(match) or ("api" in doc and "endpoint" in doc):
            errors.append("give each of endpoint, routing_key and path once, in 'match' or at the top level")
        match = {**match, **shorthand}
    unknown = sorted(set(match) - set(MATCH_FIELDS))
    if unknown:
        errors.append("unknown field(s) in 'match': " + ", ".join(unknown))
    endpoint = match.get("endpoint") or "any"
    if endpoint not in ENDPOINTS:
        errors.append("'match.endpoint' must be one of: any v1 v2 change")
    for name in ("routing_key", "path"):
        value = match.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(f"'match.{name}' must be a string")
    path = match.get("path")
    if isinstance(path, str) and not path.startswith("/"):
        errors.append("'match.path' must start with '/'")
    label = doc.get("label")
    if label is not None and not isinstance(label, str):
        errors.append("'label' must be a string")
    status = doc.get("status")
    if status is not None and not (_int(status) and 400 <= status <= 599):
        errors.append("'status' must be an HTTP error status between 400 and 599")
    latency = doc.get("latency_ms")
    if latency is None:
        latency = 0
    if not (_int(latency) and 0 <= latency <= MAX_LATENCY_MS):
        errors.append(f"'latency_ms' must be a whole number between 0 and {MAX_LATENCY_MS}")
    disconnect = doc.get("disconnect") or False
    if not isinstance(disconnect, bool):
        errors.append("'disconnect' must be true or false")
    probability = doc.get("probability")
    if probability is None:
        probability = 1.0
    if not (isinstance(probability, int | float) and not isinstance(probability, bool) and 0 <= probability <= 1):
        errors.append("'probability' must be a number between 0 and 1")
    count = doc.get("count")
    if count is not None and not (_int(count) and count >= 1):
        errors.append("'count' must be a whole number of at least 1, or null for no limit")
    seed = doc.get("seed") or 0
    if not _int(seed):
        errors.append("'seed' must be a whole number")
    if status is not None and disconnect is True:
        errors.append("a rule either answers with 'status' or cuts the connection ('disconnect'), not both")
    if status is None and disconnect is not True and not latency:
        errors.append("a rule needs at least one of 'status', 'latency_ms' or 'disconnect'")
    if doc.get("body") is not None and status is None:
        errors.append("'body' needs a 'status'")
    if errors:
        return errors
    return FaultRule(
        id=id, endpoint=endpoint, routing_key=match.get("routing_key"), path=path, status=status, body=doc.get("body"),
        latency_ms=latency, disconnect=disconnect, probability=float(probability), count=count, seed=seed,
        label=doc.get("label") or "", created_at=created_at,
    )


@dataclass
class FaultBook:
    """The rules in force, in order, each with its own seeded random stream."""

    _rules: list[FaultRule] = field(default_factory=list)
    _dice: dict[str, random.Random] = field(default_factory=dict)

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def __len__(self) -> int:  # the events hot path asks whether any rule is in force, without a copy
        return len(self._rules)

    def get(self, rule_id: str) -> FaultRule | None:
        return next((rule for rule in self._rules if rule.id == rule_id), None)

    def replace(self, rules: list[FaultRule]) -> None:
        self._rules = list(rules)
        self._dice = {rule.id: random.Random(rule.seed) for rule in rules}

    def add(self, rule: FaultRule) -> None:
        self._rules.append(rule)
        self._dice[rule.id] = random.Random(rule.seed)

    def remove(self, rule_id: str) -> None:
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        self._dice.pop(rule_id, None)

    def clear(self) -> None:
        self.replace([])

    def pick(self, endpoint: str, path: str, routing_key: str | None) -> FaultRule | None:
        """The rule that fires for this request, counted as fired; None when no rule fires."""
        for rule in self._rules:
            if rule.exhausted or not rule.matches(endpoint, path, routing_key):
                continue
            if rule.probability < 1.0 and self._dice[rule.id].random() >= rule.probability:
                continue
            rule.fired += 1
            return rule
        return None
