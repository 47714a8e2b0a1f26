"""The rules page: every threshold rule, editable."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse

from demo_monitor.domain.fleet import METRICS
from demo_monitor.domain.rules import OPERATORS, SEVERITIES, validate_rule_edit
from demo_monitor.web.security import checked_form
from demo_monitor.web.templating import render


async def rules_page(request: Request):
    monitor = request.app.state.monitor
    return await render(request, "rules.html", {
        "rules": monitor.rules,
        "metrics": METRICS,
        "operators": OPERATORS,
        "severities": SEVERITIES,
        "message": request.query_params.get("message"),
    })


async def update_form(request: Request):
    form = await checked_form(request)
    rule_id = request.path_params["rule_id"]
    values = validate_rule_edit(
        form.get("metric", ""), form.get("operator", ""), form.get("threshold", ""),
        form.get("severity", ""), form.get("for_seconds", ""),
    )
    rule = await request.app.state.monitor.update_rule(rule_id, values, enabled=form.get("enabled") == "on")
    return RedirectResponse(f"/rules?message=Rule+{rule.id}+saved.", status_code=303)
