"""The integration exam (issue 20): `POST /_sandbox/exam` starts one for a routing key (`exam_runner.py` runs it
in the background), `GET /_sandbox/exam/{id}` shows its progress and, once graded, its result; a page for
browsers at the same path (like `/_sandbox/report`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import exam as rules
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.web.sandbox_access import guarded, token_required
from fake_pagerduty.web.sandbox_api import json_body
from fake_pagerduty.web.sandbox_report import checks_json, wants_page


def exam_json(exam: dict) -> dict:
    result = exam["result"]
    progress = exam["progress"]
    return {
        "id": exam["id"], "url": f"/_sandbox/exam/{exam['id']}", "routing_key": exam["routing_key"],
        "vendor_key": exam["vendor_key"], "seed": exam["seed"], "duration_seconds": exam["duration_seconds"],
        "status": exam["status"], "started_at": exam["started_at"], "finished_at": exam["finished_at"],
        "progress": {"phase": progress.get("phase"), "note": progress.get("note"), "step": progress.get("step"),
                     "steps": [{"kind": s["kind"], "label": s["rule"]["label"], "hits": s["hits"]}
                               for s in progress.get("steps", [])],
                     "webhooks": progress.get("webhooks")},
        "result": None if result is None else {"status": result["status"], "checks": checks_json(result["checks"]),
                                               "journal_ids": result["journal_ids"]},
        "report_url": f"/_sandbox/report?routing_key={exam['routing_key']}&since={exam['since_id'] + 1}",
    }


@guarded
async def start_exam(request: Request) -> Response:
    parsed = rules.parse_request(await json_body(request))
    if isinstance(parsed, list):
        raise SandboxError.invalid(parsed, "Invalid exam")
    unknown = await request.app.state.store.exams.unknown(parsed["routing_key"], parsed["vendor_key"])
    if unknown:
        raise SandboxError.invalid([rules.UNKNOWN[name].format(**parsed) for name in unknown], "Invalid exam")
    runner = request.app.state.exams
    running = await runner.running_for(parsed["routing_key"])
    if running is not None:
        raise SandboxError(409, f"An exam of this routing key is running already: /_sandbox/exam/{running}")
    exam = await runner.begin(parsed)
    return JSONResponse({"exam": exam_json(exam)}, status_code=202,
                        headers={"Location": f"/_sandbox/exam/{exam['id']}"})


async def _exam(request: Request) -> dict:
    exam_id = request.path_params["exam_id"]
    exam = await request.app.state.store.exams.get(exam_id)
    if exam is None:
        raise SandboxError.not_found(f"No exam with id {exam_id!r}")
    return exam


@guarded
async def _exam_json(request: Request) -> Response:
    return JSONResponse({"exam": exam_json(await _exam(request))})


async def get_exam(request: Request) -> Response:
    if not wants_page(request):
        return await _exam_json(request)
    state = request.app.state
    locked = token_required(state.settings)
    exam = None if locked else exam_json(await _exam(request))
    return state.templates.TemplateResponse(request, "sandbox_report.html",
                                            {"locked": locked, "report": None, "keys": [], "exam": exam})
