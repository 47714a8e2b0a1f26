"""The README is the contract partner developers trust: where it lists flags, environment variables or
endpoints, they are checked against the code here, both ways, so the two cannot drift apart (issue 19). The
behaviour behind each claim is tested beside the code it is about; docs/testing.md lists which test holds which
claim."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from starlette.routing import Route

from demo_monitor import cli as monitor_cli
from demo_monitor.routes import routes as monitor_routes
from fake_pagerduty import cli as sandbox_cli
from fake_pagerduty.routes import routes as sandbox_routes
from tests.stub_project import run_scripts_test

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FLAG = re.compile(r"--[a-z][a-z0-9-]*")


def _section(title: str) -> str:
    """The README's section under `## {title}`, up to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def _words(title: str) -> str:
    """That section with its line breaks and runs of spaces folded to single spaces."""
    return " ".join(_section(title).split())


def _serve_flags(parser: argparse.ArgumentParser, command: str = "serve") -> set[str]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    serve = sub.choices[command]
    return {flag for action in serve._actions for flag in action.option_strings if flag not in ("-h", "--help")}


def _synopsis(command: str) -> str:
    """The README's `{command} serve [...]` block: its lines up to `python -m …`."""
    lines = README.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(f"{command} serve ["))
    last = next(i for i in range(first, len(lines)) if lines[i].startswith("python -m "))
    return "\n".join(lines[first:last])


# ---- flags ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "parser"), [("fake-pagerduty", sandbox_cli.build_parser()),
                                                 ("demo-monitor", monitor_cli.build_parser())])
def test_the_serve_synopsis_lists_every_flag_and_only_real_ones(command, parser):
    real = _serve_flags(parser)
    shown = set(FLAG.findall(_synopsis(command)))
    # a BooleanOptionalAction is --x and --no-x: either spelling shows it
    missing = {f for f in real if f not in shown and not ({f, f.replace("--no-", "--", 1)} & shown)
               and not ({f, "--no-" + f.removeprefix("--")} & shown)}
    assert not missing, f"{command} serve flags the README does not show: {sorted(missing)}"
    assert shown <= real, f"flags the README shows that {command} serve does not have: {sorted(shown - real)}"


def test_every_flag_the_readme_names_exists():
    scripts = {}
    for name in ("demo", "bench"):
        text = (ROOT / "scripts" / name).read_text(encoding="utf-8")
        scripts[name] = set(re.findall(r'add_argument\("(--[a-z0-9-]+)"', text)) | set(
            re.findall(r"^\s+(--[a-z0-9-]+)\)", text, re.M))
    known = (_serve_flags(sandbox_cli.build_parser()) | _serve_flags(monitor_cli.build_parser())
             | _serve_flags(sandbox_cli.build_parser(), "exam")
             | scripts["demo"] | scripts["bench"] | {"--cacert"})  # curl's, in the recipes
    named = set(FLAG.findall(README))
    assert named <= known, sorted(named - known)


# ---- environment variables ----------------------------------------------------------------------------------------


def test_the_readme_names_every_fake_pagerduty_environment_variable_and_only_real_ones():
    code = set()
    for path in (ROOT / "fake_pagerduty").rglob("*.py"):
        code |= set(re.findall(r"FAKE_PAGERDUTY_[A-Z_]*[A-Z]", path.read_text(encoding="utf-8")))
    named = set(re.findall(r"FAKE_PAGERDUTY_[A-Z_]*[A-Z]", README))
    assert code == named, {"not in the README": sorted(code - named), "not in the code": sorted(named - code)}


def test_the_readme_names_every_demo_monitor_environment_variable_and_only_real_ones():
    settings = (ROOT / "demo_monitor" / "settings.py").read_text(encoding="utf-8")
    code = {"DEMO_MONITOR_" + s for s in re.findall(r'^\s+"([A-Z_]+)": \("', settings, re.M)}
    section = _section("Demo monitor (`demo_monitor/`)")
    named = set(re.findall(r"DEMO_MONITOR_[A-Z_]*[A-Z]", section))
    named |= {"DEMO_MONITOR_" + s for s in re.findall(r"`…_([A-Z_]+)`", section)}
    literal = set()
    for path in (ROOT / "demo_monitor").rglob("*.py"):
        literal |= set(re.findall(r"DEMO_MONITOR_[A-Z_]*[A-Z]", path.read_text(encoding="utf-8")))
    assert code <= named, sorted(code - named)
    assert named <= code | literal, sorted(named - code - literal)


def test_both_databases_default_to_memory_as_the_readme_says():
    from demo_monitor.settings import Settings as MonitorSettings
    from fake_pagerduty.settings import Settings as SandboxSettings

    assert SandboxSettings.from_env({}).db_path == MonitorSettings.from_env({}).db_path == ":memory:"
    assert "`--db` defaults to `:memory:`" in _section("Use the sandbox from your own code")
    assert "`--db` defaults to `:memory:`" in _section("Demo monitor (`demo_monitor/`)")


# ---- endpoints ----------------------------------------------------------------------------------------------------


def _shape(path: str) -> str:
    """A path with its parameters as {} (`{id}`, `{fault_id}`, `{alert_id:str}` alike)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _readme_paths(text: str, prefix: str) -> set[str]:
    """Paths starting with `prefix` that `text` names, optional parts (`[/{id}]`, `[?full=true]`) both ways."""
    found = set()
    for raw in re.findall(re.escape(prefix) + r"[A-Za-z0-9_{}/.\-\[\]?=|]*", text):
        raw = re.sub(r"\[\?[^\]]*\]|\?.*$", "", raw).rstrip(".")
        for variant in (re.sub(r"\[[^\]]*\]", "", raw), raw.replace("[", "").replace("]", "")):
            head, _, last = variant.rpartition("/")
            for end in last.split("|"):  # `…/acknowledge|resolve`
                found.add(_shape(f"{head}/{end}".rstrip("/") or "/"))
    return found


def _routes(routes, prefix: str) -> dict[str, set[str]]:
    served: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, Route) and (route.path == prefix.rstrip("/") or route.path.startswith(prefix)):
            served.setdefault(_shape(route.path), set()).update(m for m in route.methods if m != "HEAD")
    return served


def test_every_sandbox_control_is_in_the_readme_or_the_openapi_document_and_the_other_way_round():
    import json

    spec = json.loads((ROOT / "fake_pagerduty" / "openapi" / "sandbox.json").read_text(encoding="utf-8"))
    in_spec = {(_shape(path), method.upper()) for path, item in spec["paths"].items() for method in item
               if method in ("get", "put", "post", "delete")}
    in_readme = _readme_paths(README, "/_sandbox")
    served = _routes(sandbox_routes(), "/_sandbox/")

    undocumented = sorted((p, m) for p, methods in served.items() for m in methods
                          if (p, m) not in in_spec and p not in in_readme)
    assert not undocumented, f"sandbox routes in neither the README nor sandbox.json: {undocumented}"
    assert {p for p, _ in in_spec} <= set(served), sorted({p for p, _ in in_spec} - set(served))
    assert all(m in served[p] for p, m in in_spec), sorted((p, m) for p, m in in_spec if m not in served[p])
    patterns = [route.path_regex for route in sandbox_routes() if isinstance(route, Route)]
    unknown = sorted(p for p in in_readme if not any(r.match(p.replace("{}", "x")) for r in patterns))
    assert not unknown, f"the README names sandbox paths that do not exist: {unknown}"
    # the controls the spec does not describe are in the README's own words
    controls = _readme_paths(_section("Sandbox controls"), "/_sandbox")
    assert {"/_sandbox/openapi.json", "/_sandbox/reset", "/_sandbox/state"} <= controls


def test_every_monitor_json_endpoint_is_in_the_readme_and_the_other_way_round():
    section = _section("Demo monitor (`demo_monitor/`)")
    served = _routes(monitor_routes(), "/api/")
    served.update(_routes(monitor_routes(), "/healthz/"))
    action = _shape("/api/alerts/{alert_id}/{action:str}")
    expected = (set(served) - {action}) | {"/api/alerts/{}/acknowledge", "/api/alerts/{}/resolve"}
    named = _readme_paths(section, "/api/") | _readme_paths(section, "/healthz")
    assert expected <= named, f"monitor endpoints the README does not list: {sorted(expected - named)}"
    patterns = [route.path_regex for route in monitor_routes() if isinstance(route, Route)]
    unknown = sorted(p for p in named if not any(r.match(p.replace("{}", "x")) for r in patterns))
    assert not unknown, f"monitor endpoints the README lists that do not exist: {unknown}"


# ---- claims that were wrong -------------------------------------------------------------------------------------


def test_the_readme_says_refused_events_count_toward_the_rate_limit():
    """Behaviour: test_sandbox_controls.py::test_refused_events_count_toward_the_rate_limit_throttled_ones_do_not."""
    text = _words("Sandbox controls")
    assert "Only accepted requests count" not in text
    assert "every request that reaches the limit counts, an invalid event (400) too" in text


def test_the_readme_says_the_seed_file_is_applied_at_every_start():
    """Behaviour: test_sandbox_controls.py::test_a_restart_applies_the_seed_file_again_over_partner_app_changes."""
    text = _words("Use the sandbox from your own code")
    assert "`--seed FILE` is applied at every start" in text
    assert "is undone at the next start" in text


def test_the_readme_says_what_the_token_does_not_guard():
    """Behaviour: test_sandbox_controls.py::test_the_page_the_openapi_document_and_the_ca_need_no_token."""
    text = _words("Sandbox controls")
    assert "every call needs" not in text
    assert "the Sandbox page, which asks people for the token, `/_sandbox/openapi.json` and `/_sandbox/ca.pem` stay open" in text


def test_the_readme_lists_every_field_webhook_data_adds_to_the_incident():
    """Behaviour: test_webhooks_delivery.py::test_event_data_is_the_incident_as_the_rest_api_shows_it."""
    from fake_pagerduty.domain.webhooks import event_data

    added = set(event_data({"incident_number": 1, "assignments": []})) - {"incident_number", "assignments"}
    text = " ".join(_section("Webhooks (v3) from the sandbox").split())
    sentence = text[text.index('"data":{…the incident as GET /api/incidents/{id} shows it'):][:200]
    assert added == {"number", "assignees", "conference_bridge"}
    assert all(f'"{field}"' in sentence for field in added), sentence


def test_the_readme_shows_the_clock_as_the_sandbox_sends_it():
    """`offset_seconds` is a float (0.0, 3600.0, 10.5): the README showed integers."""
    from datetime import timedelta

    from fake_pagerduty.domain.clock import Clock
    from fake_pagerduty.web.sandbox_api import clock_json

    class State:
        clock = Clock()

    State.clock.reset(3600)
    assert State.clock.offset == timedelta(seconds=3600)
    shown = clock_json(State)["offset_seconds"]
    assert isinstance(shown, float) and f'"offset_seconds":{shown!r}' in README
    assert '"offset_seconds":0.0' in README and '"offset_seconds":0}' not in README


def test_the_readme_says_a_plain_reset_keeps_webhook_subscriptions():
    """Behaviour: test_sandbox_controls.py::test_a_plain_reset_keeps_webhook_subscriptions_a_full_one_does_not."""
    assert "partner apps and webhook subscriptions stay" in _section("Sandbox controls")


def test_the_readme_says_the_state_dump_shows_the_secrets_rest_redacts():
    """Behaviour: test_sandbox_controls.py::test_the_state_dump_shows_subscription_secrets_the_rest_api_redacts."""
    text = _words("Sandbox controls")
    assert "`subscriptions`, secrets included" in text
    assert "the webhook secrets of subscriptions (which the REST API shows only in the answer that creates one)" in text


def test_the_readme_documents_the_monitor_alert_actions_as_they_are():
    """Behaviour: tests/demo_monitor/test_api.py (415 without application/json, `by`, 404 for an unknown alert)."""
    text = " ".join(_section("Demo monitor (`demo_monitor/`)").split())
    assert '`{"by": "Sam"}` names who acted' in text
    assert "must be sent as `Content-Type: application/json`, else 415" in text
    assert "an unknown alert is a 404" in text


def test_the_readme_says_cancel_keeps_an_existing_connection():
    """Behaviour: tests/demo_monitor/test_integration.py::test_cancelling_a_second_handshake_keeps_the_connection…"""
    text = " ".join(README.split())
    assert "still connected as before" in text and "The monitor is still connected…" in text


# ---- scripts/test and $E2E_ARTIFACTS ------------------------------------------------------------------------------


def test_scripts_test_uses_e2e_artifacts_and_wipes_only_its_own_files(tmp_path):
    """scripts/test wiped and printed test-artifacts/ whatever $E2E_ARTIFACTS said (issue 19). Run against a stub
    .venv: the folder it prints is $E2E_ARTIFACTS, pytest gets the same, and a file of the caller's survives."""
    artifacts = tmp_path / "my-artifacts"
    (artifacts / "failures" / "old").mkdir(parents=True)
    (artifacts / "keep-me.txt").write_text("mine")

    result, pytest_calls = run_scripts_test(tmp_path, {"E2E_ARTIFACTS": str(artifacts)},
                                            logged="$* E2E_ARTIFACTS=$E2E_ARTIFACTS")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"== test artifacts (screenshots, server logs): {artifacts}" in result.stdout
    assert (artifacts / "keep-me.txt").read_text() == "mine" and not (artifacts / "failures").exists()
    assert not (tmp_path / "project" / "test-artifacts").exists()
    assert len(pytest_calls) == 2 and all(line.endswith(f"E2E_ARTIFACTS={artifacts}") for line in pytest_calls)
