"""The integration report's payload checks: do a sender's events say what PagerDuty needs, within its limits?

Severity, summary, source, timestamps, the size of custom_details, and (with `--strict`) PagerDuty's OpenAPI:
pure rules over `Sent` requests, each answering a `Check` (`report_terms.py`). `report_checks.report` runs them
with the sender-behaviour checks; docs/grade-your-integration.md says why PagerDuty cares about each and how to
fix a fail.
"""

from __future__ import annotations

import json

from fake_pagerduty.domain.clock import parse_iso
from fake_pagerduty.domain.report_terms import FAIL, NOT_SEEN, PASS, WARN, Check, Sent, plural, triggers_in

SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_LIMIT = 1024  # PagerDuty truncates a summary beyond this
EVENT_LIMIT = 512 * 1024  # PagerDuty refuses an event larger than this
CUSTOM_DETAILS_WARN = 32 * 1024
FUTURE_SLACK_SECONDS = 300


def severity(sent: list[Sent]) -> Check:
    name = "Severity is set and means something"
    triggers = [s for s in triggers_in(sent) if s.api == "v2"]
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
    triggers = triggers_in(sent)
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
    triggers = [s for s in triggers_in(sent) if s.api == "v2"]
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
    triggers = triggers_in(sent)
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

