"""`fake-pagerduty exam --url URL --routing-key KEY [--duration S] [--json]`: start an integration exam on a running
sandbox (`POST /_sandbox/exam`), wait for its grade, print it, and exit 1 on any `fail` or when no request of the key
met a fault (nothing graded), 2 when the exam could not be run. The pytest plugin's `fake_pagerduty.exam(...)` runs
the same client (`ExamClient`)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx

POLL_SECONDS = 0.25
SYMBOLS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "not_seen": "----"}
GROUPS = {"events": "Events API under faults", "webhooks": "Webhooks", "report": "Report (the exam's requests)"}


class ExamError(Exception):
    """The sandbox refused to start the exam or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ExamClient:
    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["X-Sandbox-Token"] = token
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, trust_env=False,
                                  transport=transport)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ExamError(f"could not reach the sandbox at {self.url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            error = error if isinstance(error, dict) else {}
            detail = "; ".join(error.get("errors") or []) or ("" if error.get("message") else response.text[:200])
            raise ExamError(f"{method} {path} answered {response.status_code}: {error.get('message', '')} {detail}"
                            .strip(), response.status_code)
        return body

    def start(self, routing_key: str, *, duration: float, seed: int = 0, vendor_key: str | None = None,
              latency_ms: int | None = None) -> dict:
        body: dict = {"routing_key": routing_key, "duration_seconds": duration, "seed": seed}
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        if vendor_key:
            body["vendor_key"] = vendor_key
        return self._call("POST", "/_sandbox/exam", json=body)["exam"]

    def get(self, exam_id: str) -> dict:
        return self._call("GET", f"/_sandbox/exam/{exam_id}")["exam"]

    def wait(self, exam: dict, *, patience: float, idle: Callable[[], None] = lambda: time.sleep(POLL_SECONDS)) -> dict:
        """The exam once it is over (graded or stopped); ExamError after `patience` seconds."""
        deadline = time.monotonic() + patience
        while exam["status"] == "running":
            if time.monotonic() > deadline:
                raise ExamError(f"the exam {exam['id']} was still running after {patience:g} s")
            idle()
            try:
                exam = self.get(exam["id"])
            except ExamError as exc:
                if exc.status == 404:
                    raise ExamError(f"the exam {exam['id']} is gone: the sandbox was reset while it ran") from None
                raise
        return exam


def patience(duration: float) -> float:
    """How long an exam of `duration` seconds may take in all: its window, the grace after it, some slack."""
    return duration + min(duration, 30.0) + 30.0


def failed(exam: dict) -> bool:
    """Anything but a pass: a fail, nothing graded (no request of the key met a fault), stopped."""
    return exam["status"] != "passed" or exam["result"] is None or exam["result"]["status"] == "fail"


def format_exam(exam: dict, base_url: str) -> str:
    """The exam for people: one line a check, and under each fail its evidence as URLs."""
    lines = [f"Integration exam {exam['id']} for routing key {exam['routing_key']}: {exam['status'].replace('_', ' ')}"]
    if exam["result"] is None:
        lines.append(f"  {exam['progress'].get('note')}")
        return "\n".join(lines)
    if exam["status"] == "not_graded":
        lines.append(f"  No request with routing key {exam['routing_key']} met a fault: is your client sending events"
                     f" to {base_url} with this key while the exam runs?")
    width = max(len(c["name"]) for c in exam["result"]["checks"])
    group = None
    for check in exam["result"]["checks"]:
        if check.get("group") != group:
            group = check.get("group")
            lines.append("\n" + GROUPS.get(group, str(group)))
        lines.append(f"  {SYMBOLS[check['status']]}  {check['name']:<{width}}  {check['reason']}")
        if check["status"] == "fail":
            lines.extend(f"        {base_url}{item['console_url']}" for item in check["evidence"])
    lines.append(f"\nThe page: {base_url}{exam['url']}  (the report: {base_url}{exam['report_url']})")
    return "\n".join(lines)


def add_parser(sub: Any) -> None:
    exam = sub.add_parser("exam", help="grade an integration: run an exam on a running sandbox (exit 1 on a fail)")
    exam.add_argument("--url", required=True, help="the running sandbox, e.g. http://127.0.0.1:8090")
    exam.add_argument("--routing-key", required=True, help="the integration key the client under test sends with")
    exam.add_argument("--duration", type=float, default=60.0, help="seconds the faults may take (default 60)")
    exam.add_argument("--seed", type=int, default=0, help="picks the order of the faults (default 0)")
    exam.add_argument("--latency-ms", type=int, default=None,
                      help="how late the exam's slow answer is, in ms (default 2000)")
    exam.add_argument("--vendor-key", default=None, help="the partner app whose webhook URL to probe")
    exam.add_argument("--sandbox-token", default=None,
                      help="the sandbox token, if it needs one (or FAKE_PAGERDUTY_SANDBOX_TOKEN)")
    exam.add_argument("--json", action="store_true", help="print the exam as JSON")


def main(args: Any, *, env: dict[str, str], out: TextIO = sys.stdout, err: TextIO = sys.stderr,
         transport: httpx.BaseTransport | None = None) -> int:
    client = ExamClient(args.url, token=args.sandbox_token or env.get("FAKE_PAGERDUTY_SANDBOX_TOKEN"),
                        transport=transport)
    try:
        exam = client.start(args.routing_key, duration=args.duration, seed=args.seed, vendor_key=args.vendor_key,
                            latency_ms=args.latency_ms)
        if not args.json:
            print(f"Exam {exam['id']} started: send events with routing key {args.routing_key} now"
                  f" (up to {args.duration:g} s); watch {client.url}{exam['url']}", file=err, flush=True)
        exam = client.wait(exam, patience=patience(args.duration))
    except ExamError as exc:
        print(f"fake-pagerduty exam: {exc}", file=err)
        return 2
    finally:
        client.close()
    print(json.dumps(exam, indent=2) if args.json else format_exam(exam, client.url), file=out)
    return 1 if failed(exam) else 0
