"""The integration exam, the pure part: a seeded schedule of faults for one routing key, and the grades for
what the sender did with each (`exam_runner.py` runs the schedule and sends the webhook probes).

The schedule is a list of steps, each one fault rule (`domain/faults.py`) that fires a set number of times on
the key's next requests: a 429, a 500, a 502, a 503, a cut connection, an answer delayed past a short client
timeout, and a burst of three 503s in a row (to see the waits grow). The seed picks their order. The runner
puts each step's rule in force once the sender recovered from the previous one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from fake_pagerduty.domain.report_terms import FAIL, NOT_SEEN, PASS, WARN, Check, Sent, plural

STEP_KINDS = ("429", "500", "502", "503", "cut", "latency", "burst")
LATENCY_MS, MIN_LATENCY_MS, MAX_LATENCY_MS = 2000, 100, 30_000  # how late the late answer is (ms)
BURST = 3
SANE_TOTAL_SECONDS = 60.0  # an event should be through within this, however many faults it met
SANE_ATTEMPTS = 10
TOO_QUICK_SECONDS = 0.05  # retries mostly sooner than this after a failure (the median wait) are not waiting at all
GROWTH = 1.5  # over a run of failures, the last wait must be this many times the first
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 1, 3600, 60
MAX_SEED = 2**31 - 1
WEBHOOK_STALE_SECONDS = 3600  # how old the replayed delivery claims to be


@dataclass(frozen=True)
class Step:
    kind: str
    rule: dict  # a fault rule definition (without id and routing key)
    count: int

    def to_dict(self) -> dict:
        return {"kind": self.kind, "rule": self.rule, "count": self.count}


def _step(kind: str, latency_ms: int) -> Step:
    if kind == "cut":
        return Step(kind, {"disconnect": True, "count": 1, "label": "exam: cut connection"}, 1)
    if kind == "latency":
        return Step(kind, {"latency_ms": latency_ms, "count": 1, "label": f"exam: {latency_ms} ms late"}, 1)
    if kind == "burst":
        return Step(kind, {"status": 503, "count": BURST, "label": f"exam: {BURST} x 503"}, BURST)
    return Step(kind, {"status": int(kind), "count": 1, "label": f"exam: {kind}"}, 1)


def plan(seed: int, latency_ms: int = LATENCY_MS) -> list[Step]:
    """The steps in the order this seed gives (the same seed, the same exam)."""
    kinds = list(STEP_KINDS)
    random.Random(seed).shuffle(kinds)
    return [_step(kind, latency_ms) for kind in kinds]


UNKNOWN = {  # what an exam names that the sandbox does not have
    "routing_key": "no integration in the sandbox has routing key {routing_key!r}: use the integration key your"
                   " client sends events with",
    "vendor_key": "no partner app in the sandbox has vendor key {vendor_key!r}",
}


def parse_request(doc: Any) -> dict | list[str]:
    """`POST /_sandbox/exam`'s body: routing_key, duration_seconds, seed, latency_ms, vendor_key (optional)."""
    if not isinstance(doc, dict):
        return ["the body must be a JSON object like {\"routing_key\": \"…\", \"duration_seconds\": 60}"]
    errors = []
    unknown = sorted(set(doc) - {"routing_key", "duration_seconds", "seed", "latency_ms", "vendor_key"})
    if unknown:
        errors.append("unknown field(s): " + ", ".join(unknown))
    key = doc.get("routing_key")
    if not isinstance(key, str) or not key.strip():
        errors.append("'routing_key' must be the integration key the client sends events with")
    duration = doc.get("duration_seconds", DEFAULT_DURATION)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not (
            MIN_DURATION <= duration <= MAX_DURATION):
        errors.append(f"'duration_seconds' must be a number between {MIN_DURATION} and {MAX_DURATION}")
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        errors.append(f"'seed' must be a whole number between 0 and {MAX_SEED}")
    latency = doc.get("latency_ms", LATENCY_MS)
    if isinstance(latency, bool) or not isinstance(latency, int) or not MIN_LATENCY_MS <= latency <= MAX_LATENCY_MS:
        errors.append(f"'latency_ms' must be a whole number between {MIN_LATENCY_MS} and {MAX_LATENCY_MS}")
    vendor_key = doc.get("vendor_key")
    if vendor_key is not None and not (isinstance(vendor_key, str) and vendor_key.strip()):
        errors.append("'vendor_key' must be a partner app's vendor key")
    if errors:
        return errors
    return {"routing_key": key.strip(), "duration_seconds": float(duration), "seed": seed, "latency_ms": latency,
            "vendor_key": vendor_key}


# ---- grading what the sender did with each fault ----------------------------------------------------------------


@dataclass
class Faulted:
    """One fault the sender met, and what it did next with the same event."""

    kind: str
    hits: list[Sent]  # the requests the step's rule answered (in order)
    after: list[Sent]  # the same event's requests after the last hit

    @property
    def delivered(self) -> Sent | None:
        if self.kind == "latency" and self.hits and self.hits[0].accepted:
            return self.hits[0]
        return next((s for s in self.after if s.accepted), None)

    @property
    def attempts(self) -> list[Sent]:
        return self.hits + self.after


def faulted(steps_fired: list[tuple[str, list[int]]], sent: list[Sent]) -> list[Faulted]:
    """Each step that fired (its kind and the journal ids its rule answered), with the same event's later
    requests."""
    by_id = {s.id: s for s in sent}
    found = []
    for kind, ids in steps_fired:
        by_event: dict[tuple, list[Sent]] = {}
        for i in ids:  # a rule that fires several times may meet several events (a sender with many in flight)
            if i in by_id:
                by_event.setdefault(by_id[i].identity, []).append(by_id[i])
        for hits in by_event.values():
            found.append(Faulted(kind, hits, _retries(hits, sent, set(ids))))
    return found


def _retries(hits: list[Sent], sent: list[Sent], fired: set[int]) -> list[Sent]:
    """The same event's requests after the last hit, up to the first that got through. A resolve of its key that
    resolved something ends the event: the same key triggered later is the next problem, not a retry."""
    identity, key, after = hits[0].identity, hits[0].sent_key, []
    for s in sent:
        if s.id <= hits[-1].id or s.id in fired:
            continue
        if s.identity == identity:
            after.append(s)
            if s.accepted:
                break
        elif key and s.sent_key == key and s.action == "resolve" and s.outcome == "resolved":
            break
    return after


_RETRY_KINDS = {
    "retries_429": ("Retries a 429 (throttled)", ("429",)),
    "retries_5xx": ("Retries a 500, 502 or 503", ("500", "502", "503")),
    "retries_cut_connection": ("Retries when the connection is cut", ("cut",)),
}


def _retried(check_id: str, faults: list[Faulted]) -> Check:
    name, kinds = _RETRY_KINDS[check_id]
    met = [f for f in faults if f.kind in kinds]
    if not met:
        return Check(check_id, name, NOT_SEEN, "The sender sent nothing while this fault was in force.")
    dropped = [f for f in met if not f.after]
    if dropped:
        return Check(check_id, name, FAIL,
                     f"After {_what(dropped[0])} the same event was never sent again: it is lost.",
                     [s.id for f in dropped for s in f.hits])
    return Check(check_id, name, PASS,
                 f"Sent the event again after {' and '.join(_what(f) for f in met)}.",
                 [s.id for f in met for s in f.attempts])


def _what(f: Faulted) -> str:
    return {"cut": "a cut connection", "latency": "a slow answer"}.get(f.kind, f"a {f.hits[0].status or f.kind}")


def survives_latency(faults: list[Faulted], latency_ms: int) -> Check:
    name = "Copes with a slow answer"
    met = [f for f in faults if f.kind == "latency"]
    if not met:
        return Check("survives_latency", name, NOT_SEEN, "The sender sent nothing while the answer was delayed.")
    f = met[0]
    ids = [s.id for s in f.attempts]
    duplicates = [s for s in f.attempts if s.outcome == "created"][1:]
    if duplicates:
        return Check("survives_latency", name, FAIL, "A retry after the slow answer opened a second incident.", ids)
    if f.delivered is None:
        return Check("survives_latency", name, FAIL, f"The answer came {latency_ms} ms late and the event never got"
                     " through.", ids)
    return Check("survives_latency", name, PASS, f"The answer came {latency_ms} ms late; the event got through once.",
                 ids)


def backoff_grows(faults: list[Faulted]) -> Check:
    name = "Waits longer after each failure (backoff)"
    bursts = [f for f in faults if f.kind == "burst"]
    gave_up = [f for f in bursts if not f.after]
    if gave_up:
        return Check("backoff_grows", name, FAIL, "It stopped retrying during a run of failures.",
                     [s.id for s in gave_up[0].hits])
    bursts = [f for f in bursts if len(f.hits) >= 2]
    if not bursts:
        return Check("backoff_grows", name, NOT_SEEN, "No event met several failures in a row.")
    f = max(bursts, key=lambda f: len(f.hits))
    attempts = f.hits + f.after[:1]
    # the client's own waits: from an answer to the next request (or, untimed, from one request to the next)
    waits = [b.at - (a.at if a.answered is None else a.answered) for a, b in zip(attempts, attempts[1:], strict=False)]
    ids = [s.id for s in attempts]
    shown = ", ".join(f"{w:.2f} s" for w in waits)
    if len(waits) < 2:
        return Check("backoff_grows", name, FAIL, "It stopped retrying during a run of failures.", ids)
    # the median, not the longest: a client that retries at once still shows one long wait when its machine
    # stalls it (a busy CI runner), and one wait must not pass it as backing off
    if sorted(waits)[len(waits) // 2] < TOO_QUICK_SECONDS:
        return Check("backoff_grows", name, FAIL, f"It retried at once ({shown} between attempts): hammering a"
                     " failing server makes the outage worse.", ids)
    if waits[-1] < GROWTH * waits[0]:  # (timed on the sandbox's side: a few ms either way)
        return Check("backoff_grows", name, FAIL,
                     f"Waits between attempts did not grow ({shown}): back off exponentially, with jitter.", ids)
    return Check("backoff_grows", name, PASS, f"Waits between attempts grew: {shown}.", ids)


def sane_total(faults: list[Faulted]) -> Check:
    name = "Gets each event through within a sane total"
    if not faults:
        return Check("sane_total", name, NOT_SEEN, "No fault was met.")
    slow = []
    for f in faults:
        done = f.delivered
        end = done.at if done else (f.attempts[-1].at if f.attempts else f.hits[0].at)
        if len(f.attempts) > SANE_ATTEMPTS or end - f.hits[0].at > SANE_TOTAL_SECONDS:
            slow.append(f)
    if slow:
        f = slow[0]
        return Check("sane_total", name, FAIL, f"One event took {plural(len(f.attempts), 'attempt')} and"
                     f" {f.attempts[-1].at - f.hits[0].at:.1f} s (at most {SANE_ATTEMPTS} and"
                     f" {SANE_TOTAL_SECONDS:g} s is sane).", [s.id for s in f.attempts])
    through = [f for f in faults if f.delivered]
    if not through:
        return Check("sane_total", name, NOT_SEEN, "No event that met a fault got through.")
    longest = max(f.delivered.at - f.hits[0].at for f in through)
    return Check("sane_total", name, PASS, f"The slowest event took {longest:.1f} s to get through.",
                 [s.id for f in through for s in f.attempts])


def delivered_once_in_order(faults: list[Faulted], sent: list[Sent]) -> Check:
    name = "Every event delivered, once, in order"
    if not faults:
        return Check("delivered_once_in_order", name, NOT_SEEN, "No fault was met.")
    lost = [f for f in faults if f.delivered is None]
    if lost:
        return Check("delivered_once_in_order", name, FAIL,
                     f"{plural(len(lost), 'event')} that met a fault never got through.",
                     [s.id for f in lost for s in f.attempts])
    # With a dedup key a repeat joins the open incident, so one key opening two incidents means the first was
    # resolved in between (a new problem); without one, every copy of the same bytes opens an incident.
    opened: dict[tuple, list[int]] = {}
    for s in sent:
        if s.outcome == "created" and s.body is not None and s.sent_key is None:
            opened.setdefault(s.identity, []).append(s.id)
    twice = [ids for ids in opened.values() if len(ids) > 1]
    twice += [ids for f in faults if len(ids := [s.id for s in f.attempts if s.outcome == "created"]) > 1
              and ids not in twice]
    if twice:
        return Check("delivered_once_in_order", name, FAIL,
                     "The same trigger opened more than one incident.", [i for ids in twice for i in ids])
    out_of_order = []
    first_trigger: dict[str | None, int] = {}
    for s in sent:
        if s.accepted and s.action == "trigger":
            first_trigger.setdefault(s.dedup_key, s.id)
    for s in sent:
        if (s.accepted and s.action in ("acknowledge", "resolve") and s.outcome == "dropped"
                and first_trigger.get(s.dedup_key, 0) > s.id):
            out_of_order.append(s.id)
    if out_of_order:
        return Check("delivered_once_in_order", name, FAIL,
                     "An acknowledge or resolve got through before its trigger, so PagerDuty dropped it.",
                     out_of_order)
    return Check("delivered_once_in_order", name, PASS,
                 f"All {plural(len(faults), 'event')} that met a fault got through once, in order.",
                 [f.delivered.id for f in faults if f.delivered])


NOT_GRADED_NOTE = ("nothing graded: no request with this routing key met a fault (is the client sending events to"
                   " this sandbox with this key while the exam runs?)")


def exam_status(checks: list[dict]) -> str:
    """How an exam ended: failed on any fail; not_graded when no request of the key met a fault (the client under
    test sent nothing, or elsewhere); passed otherwise."""
    if any(c["status"] == FAIL for c in checks):
        return "failed"
    if all(c["status"] == NOT_SEEN for c in checks if c.get("group") == "events"):
        return "not_graded"
    return "passed"


def grade_events(steps_fired: list[tuple[str, list[int]]], sent: list[Sent], *,
                 latency_ms: int = LATENCY_MS) -> list[Check]:
    faults = faulted(steps_fired, sent)
    return [_retried("retries_429", faults), _retried("retries_5xx", faults),
            _retried("retries_cut_connection", faults), survives_latency(faults, latency_ms), backoff_grows(faults),
            sane_total(faults), delivered_once_in_order(faults, sent)]


# ---- the webhook probes ------------------------------------------------------------------------------------------

WEBHOOK_CHECKS = {
    "webhook_genuine": "Answers a genuine webhook in time",
    "webhook_forged": "Refuses a webhook with a forged signature",
    "webhook_replayed": "Refuses a replayed webhook (an old delivery sent again)",
}


def grade_webhooks(probes: dict[str, dict] | None, *, why_not: str, timeout: float) -> list[Check]:
    """`probes`: for each probe ('genuine', 'forged', 'replayed'), {"status": int|None, "seconds": float,
    "error": str|None}; None when there is no webhook URL to probe (`why_not` says why)."""
    checks = []
    for check_id, name in WEBHOOK_CHECKS.items():
        probe = (probes or {}).get(check_id.removeprefix("webhook_"))
        if probe is None:
            checks.append(Check(check_id, name, NOT_SEEN, why_not))
            continue
        status, seconds, error = probe.get("status"), probe.get("seconds", 0.0), probe.get("error")
        answer = f"answered {status} in {seconds:.2f} s" if status is not None else f"did not answer ({error})"
        if check_id == "webhook_genuine":
            if status is not None and 200 <= status < 300:
                checks.append(Check(check_id, name, PASS, f"A correctly signed delivery: {answer}."))
            else:
                checks.append(Check(check_id, name, FAIL, f"A correctly signed delivery: {answer}; PagerDuty"
                                    f" wants a 2xx within {timeout:g} s, or it retries and may disable the"
                                    " webhook."))
            continue
        what = ("A delivery signed with the wrong secret" if check_id == "webhook_forged"
                else f"A correctly signed delivery of an event {WEBHOOK_STALE_SECONDS // 60} minutes old")
        if status is not None and 400 <= status < 500:
            checks.append(Check(check_id, name, PASS, f"{what}: {answer}."))
        elif status is not None and 200 <= status < 300:
            fix = ("verify X-PagerDuty-Signature (HMAC-SHA256 of the raw body) and answer 401"
                   if check_id == "webhook_forged" else
                   "refuse deliveries whose event.occurred_at is more than a few minutes old")
            checks.append(Check(check_id, name, FAIL, f"{what}: {answer}, so it was taken as real; {fix}."))
        else:
            checks.append(Check(check_id, name, WARN, f"{what}: {answer}; refuse it with a 4xx instead."))
    return checks
