"""What the integration report's checks read and answer, and what they share.

`Sent` is one journal request as the checks read it (`Sent.from_row` reads one `events` row as the store gives
it); `Check` is a check's answer: `pass`, `warn`, `fail` or `not_seen` (nothing happened that it could judge), a
reason in plain words, and the journal ids that prove it (the web layer turns them into links). `overall` is the
worst of them. The checks themselves: `report_checks.py` (how the sender behaves) and `payload_checks.py` (what
its events say); `exam.py` answers its grades in the same shape.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from fake_pagerduty.domain.clock import parse_iso

PASS, WARN, FAIL, NOT_SEEN = "pass", "warn", "fail", "not_seen"
STATUSES = (PASS, WARN, FAIL, NOT_SEEN)
EVIDENCE_LIMIT = 10


@dataclass(frozen=True)
class Sent:
    """One request as the report reads it."""

    id: int
    at: float  # seconds (epoch): received_at, or a finer stamp the exam took
    api: str
    action: str | None
    dedup_key: str | None  # as journaled (PagerDuty's own when the event named none)
    status: int  # the answer's HTTP status; 0 when the connection was cut
    outcome: str
    fault_id: str | None
    body: Any  # the parsed JSON body, or None
    body_hash: str
    size: int
    warnings: tuple[str, ...] = ()
    incident_id: str | None = None
    received: float = 0.0  # received_at (the sandbox clock), in seconds: to compare with incidents' times
    answered: float | None = None  # seconds (epoch): when its answer went, if the exam timed it

    @classmethod
    def from_row(cls, row: dict, at: float | None = None, answered: float | None = None) -> Sent:
        raw = row.get("raw_body") or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            body = None
        warnings = row.get("warnings") or "[]"
        if isinstance(warnings, str):
            warnings = json.loads(warnings)
        received = parse_iso(row["received_at"]) if row.get("received_at") else None
        return cls(
            id=row["id"], at=at if at is not None else (received.timestamp() if received else 0.0),
            api=row["api"], action=row.get("action"), dedup_key=row.get("dedup_key"),
            status=row.get("response_status") or 0, outcome=row.get("outcome") or "", fault_id=row.get("fault_id"),
            body=body if isinstance(body, dict) else None, body_hash=hashlib.sha256(raw).hexdigest(),
            size=len(raw), warnings=tuple(w for w in warnings if isinstance(w, str)),
            incident_id=row.get("incident_id"), received=received.timestamp() if received else 0.0,
            answered=answered,
        )

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def sent_key(self) -> str | None:
        """The dedup key the sender itself named (v2 `dedup_key`, v1 `incident_key`)."""
        if self.body is None:
            return None
        key = self.body.get("dedup_key") if self.api != "v1" else self.body.get("incident_key")
        return key if isinstance(key, str) and key else None

    @property
    def identity(self) -> tuple:
        """What makes two requests the same event (a retry of it): its action and key, else its bytes."""
        key = self.sent_key
        return (self.api, self.action, key) if key else ("body", self.body_hash)

    @property
    def payload(self) -> dict:
        if self.body is None:
            return {}
        if self.api == "v1":
            return {"summary": self.body.get("description"), "source": self.body.get("client"),
                    "custom_details": self.body.get("details")}
        payload = self.body.get("payload")
        return payload if isinstance(payload, dict) else {}


@dataclass
class Check:
    id: str
    name: str
    status: str
    reason: str
    evidence: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "status": self.status, "reason": self.reason,
                "evidence": self.evidence[:EVIDENCE_LIMIT], "evidence_total": len(self.evidence)}


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def triggers_in(sent: list[Sent]) -> list[Sent]:
    """The Events API triggers (v1 or v2) among the requests."""
    return [s for s in sent if s.action == "trigger" and s.api in ("v1", "v2")]


def overall(checks: list[dict]) -> str:
    """The worst status among checks that saw something: fail, warn, pass (not_seen when none did)."""
    seen = {c["status"] for c in checks}
    for status in (FAIL, WARN, PASS):
        if status in seen:
            return status
    return NOT_SEEN
