"""`fake-pagerduty exam …` (issue 20): starts an exam on a running sandbox, waits, prints the grade, exits 1 on
any fail, 2 when it cannot run one. Here the CLI runs on a thread and reaches the in-process sandbox through a
transport that hands each request to the test's event loop (no ports), while a client sends events there."""

from __future__ import annotations

import asyncio
import io
import json

import httpx
import pytest

from fake_pagerduty import exam_cli
from fake_pagerduty.cli import build_parser
from tests.conftest import SAMPLE_KEY
from tests.fake_pagerduty.exam_clients import Client

URL = "http://sandbox.test"


class _LoopTransport(httpx.BaseTransport):
    """A sync transport for a thread: each request is sent by `client` on `loop` (where the app runs)."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client, self._loop = client, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self._client.send(self._client.build_request(
                request.method, str(request.url), headers=request.headers, content=request.content))
            return httpx.Response(response.status_code, headers=response.headers, content=response.content)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(60)


async def _run(sandbox, sandbox_app, argv: list[str], client: Client | None) -> tuple[int, str, str]:
    args = build_parser().parse_args(["exam", "--url", URL, *argv])
    out, err = io.StringIO(), io.StringIO()
    transport = _LoopTransport(sandbox, asyncio.get_running_loop())
    cli = asyncio.create_task(asyncio.to_thread(exam_cli.main, args, env={}, out=out, err=err, transport=transport))
    if client is not None:
        runner = sandbox_app.state.exams
        while not runner._tasks:  # noqa: ASYNC110 - the exam starts when the CLI's POST reaches the app
            await asyncio.sleep(0.01)
        await client.until(lambda: not runner._tasks or cli.done())
    return await cli, out.getvalue(), err.getvalue()


def test_the_exam_command_needs_a_url_and_a_routing_key():
    args = build_parser().parse_args(["exam", "--url", URL, "--routing-key", "k"])
    assert (args.url, args.routing_key, args.duration, args.seed, args.json) == (URL, "k", 60.0, 0, False)
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["exam", "--url", URL])
    assert exit_info.value.code == 2


async def test_a_passing_integration_exits_0_and_json_prints_the_exam(sandbox, sandbox_app):
    code, out, err = await _run(sandbox, sandbox_app, ["--routing-key", SAMPLE_KEY, "--duration", "4", "--seed", "1",
                                                       "--latency-ms", "300", "--json"], Client(sandbox))
    assert code == 0, out + err
    exam = json.loads(out)
    assert (exam["status"], exam["routing_key"], exam["seed"]) == ("passed", SAMPLE_KEY, 1)
    assert {c["id"]: c["status"] for c in exam["result"]["checks"] if c["group"] == "events"}["backoff_grows"] == "pass"
    assert err == ""


async def test_a_failing_integration_exits_1_and_names_each_fail_with_its_evidence(sandbox, sandbox_app):
    code, out, err = await _run(sandbox, sandbox_app, ["--routing-key", SAMPLE_KEY, "--duration", "4", "--seed", "1",
                                                       "--latency-ms", "300"],
                                Client(sandbox, backoff=lambda attempt: 0))
    assert code == 1
    assert err.startswith("Exam E")
    assert "send events with routing key e93facc04764012d7bfb002500d5d1a6 now" in err
    lines = out.splitlines()
    assert lines[0].endswith(f"for routing key {SAMPLE_KEY}: failed")
    [fail] = [line for line in lines if line.startswith("  FAIL")]
    assert "Waits longer after each failure (backoff)" in fail and "It retried at once" in fail
    evidence = lines[lines.index(fail) + 1]
    assert evidence.startswith(f"        {URL}/events/")
    assert "  PASS  Retries a 429 (throttled)" in out


async def test_a_refused_exam_or_an_unreachable_sandbox_exits_2(sandbox, sandbox_app):
    code, out, err = await _run(sandbox, sandbox_app, ["--routing-key", SAMPLE_KEY, "--duration", "0"], None)
    assert (code, out) == (2, "")
    assert err == ("fake-pagerduty exam: POST /_sandbox/exam answered 400: Invalid exam 'duration_seconds' must be"
                   " a number between 1 and 3600\n")
    args = build_parser().parse_args(["exam", "--url", "http://127.0.0.1:9", "--routing-key", SAMPLE_KEY])
    err = io.StringIO()
    assert exam_cli.main(args, env={}, out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("fake-pagerduty exam: could not reach the sandbox at http://127.0.0.1:9: ")


async def test_an_exam_that_saw_no_events_is_not_a_pass(sandbox, sandbox_app):
    """A CI job whose client never sent (the wrong URL or key) must not go green: nothing was graded."""
    code, out, err = await _run(sandbox, sandbox_app, ["--routing-key", SAMPLE_KEY, "--duration", "1"], None)
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[0].endswith(f"for routing key {SAMPLE_KEY}: not graded")
    assert lines[1] == (f"  No request with routing key {SAMPLE_KEY} met a fault: is your client sending events"
                        f" to {URL} with this key while the exam runs?")
    assert "  ----  Retries a 429 (throttled)" in out


async def test_a_reset_during_the_exam_exits_2_saying_so(sandbox, sandbox_app):
    args = build_parser().parse_args(["exam", "--url", URL, "--routing-key", SAMPLE_KEY, "--duration", "60"])
    out, err = io.StringIO(), io.StringIO()
    transport = _LoopTransport(sandbox, asyncio.get_running_loop())
    cli = asyncio.create_task(asyncio.to_thread(exam_cli.main, args, env={}, out=out, err=err, transport=transport))
    runner = sandbox_app.state.exams
    while not runner._tasks:  # noqa: ASYNC110 - the exam starts when the CLI's POST reaches the app
        await asyncio.sleep(0.01)
    assert (await sandbox.post("/_sandbox/reset", json={})).json()["deleted"]["exams"] == 1
    async with asyncio.timeout(10):
        assert await cli == 2
    exam_id = err.getvalue().split()[1]
    assert err.getvalue().splitlines()[-1] == (
        f"fake-pagerduty exam: the exam {exam_id} is gone: the sandbox was reset while it ran")
    assert out.getvalue() == ""
