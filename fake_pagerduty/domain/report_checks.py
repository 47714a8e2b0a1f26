"""The integration report: how well a sender follows PagerDuty's practices, judged from the journal.

This module holds the checks on how the sender behaves: does it resolve what it opens, do its acknowledges and
resolves find their trigger, do its dedup keys stay the same for the same problem, does it give up on a 4xx, does
it respect the rate limit. Pure rules over `Sent` requests, each answering a `Check` (both in `report_terms.py`);
what its events say is `payload_checks.py`'s, and `report` runs every check in the order the report shows them.
docs/grade-your-integration.md says why PagerDuty cares about each and how to fix a fail.
"""

from __future__ import annotations

from collections import defaultdict

from fake_pagerduty.domain import payload_checks
from fake_pagerduty.domain.clock import parse_iso
from fake_pagerduty.domain.report_terms import FAIL, NOT_SEEN, PASS, WARN, Check, Sent, plural, triggers_in

SAME_PROBLEM_SECONDS = 300  # a repeat of the same source + summary within this is the same problem
RATE_LIMIT_PER_MINUTE = 120  # PagerDuty's events rate limit per routing key
HAMMERING_RUN = 5  # this many refused (429) answers in a row ...
HAMMERING_SECONDS = 2.0  # ... within this many seconds is not backing off
THROTTLE_STATUSES = (429,)
RETRYABLE_4XX = (403, 408, 429)  # PagerDuty's v1 throttle, a timeout, the rate limit: retry these


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
    triggered = {s.dedup_key for s in triggers_in(sent) if s.accepted}
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
    triggers = [s for s in triggers_in(sent) if s.accepted]
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
        payload_checks.severity(sent), payload_checks.summary(sent), payload_checks.source(sent),
        payload_checks.timestamps(sent), payload_checks.custom_details_size(sent),
        payload_checks.strict_warnings(sent, strict=strict), no_repeated_4xx(sent), rate_limit(sent),
    ]

