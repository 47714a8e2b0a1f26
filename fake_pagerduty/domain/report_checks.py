"""The integration report's checks: how well a sender follows PagerDuty's practices, judged from the journal.

Pure rules over journal rows given as plain data (`Sent.from_row` reads one `events` row as the store gives
it). Each check answers a `Check`: `pass`, `warn`, `fail` or `not_seen` (nothing happened that it could
judge), a reason in plain words, and the journal ids that prove it (the web layer turns them into links).
docs/grade-your-integration.md says why PagerDuty cares about each and how to fix a fail.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fake_pagerduty.domain.clock import parse_iso

PASS, WARN, FAIL, NOT_SEEN = "pass", "warn", "fail", "not_seen"
STATUSES = (PASS, WARN, FAIL, NOT_SEEN)
SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_LIMIT = 1024  # PagerDuty truncates a summary beyond this
EVENT_LIMIT = 512 * 1024  # PagerDuty refuses an event larger than this
CUSTOM_DETAILS_WARN = 32 * 1024
FUTURE_SLACK_SECONDS = 300
SAME_PROBLEM_SECONDS = 300  # a repeat of the same source + summary within this is the same problem
RATE_LIMIT_PER_MINUTE = 120  # PagerDuty's events rate limit per routing key
HAMMERING_RUN = 5  # this many refused (429) answers in a row ...
HAMMERING_SECONDS = 2.0  # ... within this many seconds is not backing off
EVIDENCE_LIMIT = 10
THROTTLE_STATUSES = (429,)
RETRYABLE_4XX = (403, 408, 429)  # PagerDuty's v1 throttle, a timeout, the rate limit: retry these


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

    @classmethod
    def from_row(cls, row: dict, at: float | None = None) -> Sent:
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


def _triggers(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.action == "trigger" and s.api in ("v1", "v2")]


# ---- the lifecycle: resolve what you open, follow-ups that find their trigger -----------------------------------


def _closed(resolved_at: dict[str, str] | None) -> dict[str, float]:
    """Incident id -> when it was resolved (by anyone), in seconds."""
    return {incident: moment.timestamp() for incident, text in (resolved_at or {}).items()
            if text and (moment := parse_iso(text)) is not None}


def resolves_what_it_opens(sent: list[Sent], resolved_at: dict[str, str] | None = None) -> Check:
    """Still open: opened, not resolved by the sender, nor since by anyone else (`resolved_at`)."""
    name = "Resolves what it opens"
    opened = [s for s in sent if s.outcome == "created"]
    if not opened:
        return Check("resolves_what_it_opens", name, NOT_SEEN, "No trigger opened an incident.")
    resolves = [s for s in sent if s.action == "resolve" and s.accepted]
    resolved_keys = {}
    for s in resolves:
        resolved_keys.setdefault(s.dedup_key, s.id)
    closed = _closed(resolved_at)
    still_open = [s for s in opened if s.incident_id not in closed
                  and not any(r.dedup_key == s.dedup_key and r.id > s.id for r in resolves)]
    if not resolves and len(still_open) >= 2:
        return Check("resolves_what_it_opens", name, FAIL,
                     f"It opened {plural(len(still_open), 'incident')} and never sent a resolve: responders are"
                     " left with incidents nobody closes when the problem clears.", [s.id for s in still_open])
    if not still_open:
        return Check("resolves_what_it_opens", name, PASS,
                     f"Every one of the {plural(len(opened), 'incident')} it opened is resolved.",
                     [s.id for s in opened] + sorted(resolved_keys.values()))
    return Check("resolves_what_it_opens", name, WARN,
                 f"{plural(len(still_open), 'incident')} it opened {'is' if len(still_open) == 1 else 'are'}"
                 " still open: fine while the problem lasts; send a resolve when it clears.",
                 [s.id for s in still_open])


def follow_ups_find_their_trigger(sent: list[Sent]) -> Check:
    name = "Acknowledges and resolves name a known dedup key"
    follow_ups = [s for s in sent if s.action in ("acknowledge", "resolve") and s.accepted]
    if not follow_ups:
        return Check("follow_ups_find_their_trigger", name, NOT_SEEN, "It sent no acknowledge or resolve.")
    triggered = {s.dedup_key for s in _triggers(sent) if s.accepted}
    lost = [s for s in follow_ups if s.outcome == "dropped" and s.dedup_key not in triggered]
    if lost:
        return Check("follow_ups_find_their_trigger", name, FAIL,
                     f"{plural(len(lost), 'acknowledge or resolve', 'acknowledges or resolves')} named a dedup key"
                     " no trigger used, so PagerDuty dropped them: the incident they meant stays open.",
                     [s.id for s in lost])
    return Check("follow_ups_find_their_trigger", name, PASS,
                 f"Each of its {plural(len(follow_ups), 'acknowledge or resolve', 'acknowledges and resolves')} named a"
                 " key a trigger used.",
                 [s.id for s in follow_ups])


def stable_dedup_keys(sent: list[Sent], resolved_at: dict[str, str] | None = None) -> Check:
    """`resolved_at`: when each incident was resolved, by anyone (a new key after that is a new problem)."""
    name = "Dedup keys stay the same for the same problem"
    closed = _closed(resolved_at)
    triggers = [s for s in _triggers(sent) if s.accepted]
    if not triggers:
        return Check("stable_dedup_keys", name, NOT_SEEN, "No trigger was accepted.")
    resolved_by_sender: dict[str, list[int]] = defaultdict(list)
    for s in sent:
        if s.action == "resolve" and s.accepted:
            resolved_by_sender[s.dedup_key].append(s.id)
    by_problem: dict[tuple, list[Sent]] = defaultdict(list)
    for s in triggers:
        payload = s.payload
        by_problem[(str(payload.get("source")), str(payload.get("summary")))].append(s)
    churned: list[int] = []
    for repeats in by_problem.values():
        for before, after in zip(repeats, repeats[1:], strict=False):
            if (after.dedup_key != before.dedup_key and after.at - before.at <= SAME_PROBLEM_SECONDS
                    and not any(before.id < r < after.id for r in resolved_by_sender.get(before.dedup_key, ()))
                    and not closed.get(before.incident_id, float("inf")) <= after.received):
                churned.extend((before.id, after.id))
    if churned:
        churned = sorted(set(churned))
        return Check("stable_dedup_keys", name, FAIL,
                     f"{plural(len(churned), 'trigger')} repeated the same source and summary within"
                     f" {SAME_PROBLEM_SECONDS // 60} minutes under a new dedup key: each repeat opens another"
                     " incident instead of joining the first.", churned)
    return Check("stable_dedup_keys", name, PASS,
                 f"{plural(len(triggers), 'trigger')}: repeats of a problem kept their dedup key.",
                 [s.id for s in triggers])


# ---- payload quality ----------------------------------------------------------------------------------------


def severity(sent: list[Sent]) -> Check:
    name = "Severity is set and means something"
    triggers = [s for s in _triggers(sent) if s.api == "v2"]
    if not triggers:
        return Check("severity", name, NOT_SEEN, "No Events API v2 trigger was sent (v1 has no severity).")
    missing = [s for s in triggers if s.payload.get("severity") not in SEVERITIES]
    if missing:
        return Check("severity", name, FAIL,
                     f"{plural(len(missing), 'trigger')} had no valid payload.severity (one of"
                     f" {', '.join(SEVERITIES)}).", [s.id for s in missing])
    used = {s.payload["severity"] for s in triggers}
    taken = [s for s in triggers if s.accepted]  # the events, not each attempt a fault refused
    if len(taken) >= 5 and used == {"critical"}:
        return Check("severity", name, WARN,
                     f"All {len(taken)} triggers were critical: when everything is critical, nothing is.",
                     [s.id for s in taken])
    return Check("severity", name, PASS, f"Severities used: {', '.join(sorted(used))}.",
                 [s.id for s in triggers])


def _without(field: str, sent: list[Sent], check_id: str, name: str) -> tuple[list[Sent], Check | None]:
    """The triggers, and the check's answer when there are none or some lack the text `field`."""
    triggers = _triggers(sent)
    if not triggers:
        return triggers, Check(check_id, name, NOT_SEEN, "No trigger was sent.")
    bad = [s for s in triggers if not isinstance(s.payload.get(field), str) or not s.payload[field].strip()]
    if bad:
        return triggers, Check(check_id, name, FAIL, f"{plural(len(bad), 'trigger')} had no {field}.",
                               [s.id for s in bad])
    return triggers, None


def summary(sent: list[Sent]) -> Check:
    name = "Summary is within limits and says what is wrong"
    triggers, answer = _without("summary", sent, "summary", name)
    if answer:
        return answer
    long = [s for s in triggers if len(s.payload["summary"]) > SUMMARY_LIMIT]
    if long:
        return Check("summary", name, FAIL,
                     f"{plural(len(long), 'summary', 'summaries')} ran over {SUMMARY_LIMIT} characters:"
                     " PagerDuty cuts them.",
                     [s.id for s in long])
    keys = {s.dedup_key for s in triggers}
    texts = {s.payload["summary"] for s in triggers}
    if len(keys) >= 3 and len(texts) == 1:
        return Check("summary", name, WARN,
                     f"{len(keys)} different problems all had the summary {next(iter(texts))!r}: a responder"
                     " cannot tell them apart.", [s.id for s in triggers])
    return Check("summary", name, PASS,
                 f"{plural(len(texts), 'distinct summary', 'distinct summaries')}, all within limits.",
                 [s.id for s in triggers])


def source(sent: list[Sent]) -> Check:
    name = "Source names the affected system"
    triggers, answer = _without("source", sent, "source", name)
    if answer:
        return answer
    return Check("source", name, PASS, "Every trigger named its source.", [s.id for s in triggers])


def timestamps(sent: list[Sent]) -> Check:
    name = "Timestamps are valid and not in the future"
    triggers = [s for s in _triggers(sent) if s.api == "v2"]
    if not triggers:
        return Check("timestamps", name, NOT_SEEN, "No Events API v2 trigger was sent.")
    stamped = [s for s in triggers if "timestamp" in s.payload]
    if not stamped:
        return Check("timestamps", name, WARN, "No trigger set payload.timestamp: PagerDuty then shows when it"
                     " received the event, not when the problem began.", [s.id for s in triggers])
    invalid, future = [], []
    for s in stamped:
        value = s.payload["timestamp"]
        moment = parse_iso(value) if isinstance(value, str) and value.strip() else None
        if moment is None:
            invalid.append(s.id)
        elif moment.timestamp() - s.at > FUTURE_SLACK_SECONDS:
            future.append(s.id)
    if invalid:
        return Check("timestamps", name, FAIL, f"{plural(len(invalid), 'timestamp')} {'was' if len(invalid) == 1 else 'were'} not ISO 8601.", invalid)
    if future:
        return Check("timestamps", name, FAIL, f"{plural(len(future), 'timestamp')} lay more than"
                     f" {FUTURE_SLACK_SECONDS // 60} minutes in the future: is the sender's clock right?", future)
    return Check("timestamps", name, PASS, f"{plural(len(stamped), 'timestamp')}, all valid.",
                 [s.id for s in stamped])


def custom_details_size(sent: list[Sent]) -> Check:
    name = "custom_details stay small"
    triggers = _triggers(sent)
    if not triggers:
        return Check("custom_details_size", name, NOT_SEEN, "No trigger was sent.")
    too_big = [s.id for s in triggers if s.size > EVENT_LIMIT]
    if too_big:
        return Check("custom_details_size", name, FAIL,
                     f"{plural(len(too_big), 'event')} exceeded PagerDuty's {EVENT_LIMIT // 1024} KB limit.", too_big)
    heavy = [s.id for s in triggers
             if len(json.dumps(s.payload.get("custom_details"), default=str)) > CUSTOM_DETAILS_WARN]
    if heavy:
        return Check("custom_details_size", name, WARN,
                     f"{plural(len(heavy), 'event')} carried over {CUSTOM_DETAILS_WARN // 1024} KB of"
                     " custom_details: link to the details instead.", heavy)
    return Check("custom_details_size", name, PASS, "Every event's custom_details were small.",
                 [s.id for s in triggers])


def strict_warnings(sent: list[Sent], *, strict: bool) -> Check:
    name = "Bodies match PagerDuty's OpenAPI (strict mode)"
    if not strict:
        return Check("strict_warnings", name, NOT_SEEN,
                     "The sandbox runs without --strict, so bodies were not checked against PagerDuty's OpenAPI.")
    if not sent:
        return Check("strict_warnings", name, NOT_SEEN, "Nothing was sent.")
    warned = [s for s in sent if any(not w.startswith("fault ") for w in s.warnings)]
    if warned:
        count = sum(1 for s in warned for w in s.warnings if not w.startswith("fault "))
        return Check("strict_warnings", name, WARN,
                     f"{plural(count, 'strict-mode warning')} on {plural(len(warned), 'request')}: PagerDuty"
                     " accepts these today but does not promise to.", [s.id for s in warned])
    return Check("strict_warnings", name, PASS, f"No strict-mode warning on {plural(len(sent), 'request')}.")


# ---- how it treats refusals -------------------------------------------------------------------------------------


def no_repeated_4xx(sent: list[Sent]) -> Check:
    name = "Gives up on a 4xx instead of sending it again"
    refused = [s for s in sent if 400 <= s.status < 500 and s.status not in RETRYABLE_4XX]
    if not refused:
        return Check("no_repeated_4xx", name, NOT_SEEN, "No request was refused with a 4xx.")
    repeats: list[int] = []
    for s in refused:
        again = [t.id for t in sent if t.id > s.id and t.body_hash == s.body_hash]
        if again:
            repeats.extend([s.id, *again])
    if repeats:
        repeats = sorted(set(repeats))
        return Check("no_repeated_4xx", name, FAIL,
                     f"A request PagerDuty refused with a {refused[0].status} was sent again unchanged"
                     f" ({plural(len(repeats), 'request')} in all): it will be refused every time.", repeats)
    return Check("no_repeated_4xx", name, PASS,
                 f"None of the {plural(len(refused), 'refused request')} was sent again unchanged.",
                 [s.id for s in refused])


def rate_limit(sent: list[Sent]) -> Check:
    name = "Respects the rate limit"
    if not sent:
        return Check("rate_limit", name, NOT_SEEN, "Nothing was sent.")
    ordered = sorted(sent, key=lambda s: s.id)
    run: list[Sent] = []
    for s in ordered:
        if s.status in THROTTLE_STATUSES:
            run.append(s)
            if len(run) >= HAMMERING_RUN and run[-1].at - run[-HAMMERING_RUN].at <= HAMMERING_SECONDS:
                return Check("rate_limit", name, FAIL,
                             f"{HAMMERING_RUN} requests refused with 429 in a row within {HAMMERING_SECONDS:g} s:"
                             " it does not back off when throttled.", [t.id for t in run[-HAMMERING_RUN:]])
        else:
            run = []
    start = 0
    for end, s in enumerate(ordered):
        while s.at - ordered[start].at >= 60:
            start += 1
        if end - start + 1 > RATE_LIMIT_PER_MINUTE:
            return Check("rate_limit", name, FAIL,
                         f"More than {RATE_LIMIT_PER_MINUTE} requests within a minute: PagerDuty would throttle"
                         " them.", [t.id for t in ordered[start:end + 1]])
    throttled = [s.id for s in ordered if s.status in THROTTLE_STATUSES]
    if throttled:
        return Check("rate_limit", name, PASS,
                     f"Throttled {plural(len(throttled), 'time')}, and it backed off.", throttled)
    return Check("rate_limit", name, PASS, f"At most {RATE_LIMIT_PER_MINUTE} requests a minute; never throttled.")


def report(sent: list[Sent], *, strict: bool, resolved_at: dict[str, str] | None = None) -> list[Check]:
    """Every passive check, in the order the report shows them; `resolved_at`: when the incidents the requests
    touched were resolved, by anyone."""
    return [
        resolves_what_it_opens(sent, resolved_at), follow_ups_find_their_trigger(sent),
        stable_dedup_keys(sent, resolved_at),
        severity(sent), summary(sent), source(sent), timestamps(sent), custom_details_size(sent),
        strict_warnings(sent, strict=strict), no_repeated_4xx(sent), rate_limit(sent),
    ]


def overall(checks: list[dict]) -> str:
    """The worst status among checks that saw something: fail, warn, pass (not_seen when none did)."""
    seen = {c["status"] for c in checks}
    for status in (FAIL, WARN, PASS):
        if status in seen:
            return status
    return NOT_SEEN
