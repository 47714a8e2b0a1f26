"""Bad input on the monitor (hypothesis): the Connect callback's query parameters, every form, the JSON API and
the webhook endpoint. Never a 5xx, no redirect off the monitor, and a callback without the monitor's own state
token never connects it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from demo_monitor.app import create_app
from demo_monitor.domain.webhooks import sign
from demo_monitor.routes import routes
from demo_monitor.settings import Settings
from tests.demo_monitor.conftest import PD_URL, FakePagerDuty
from tests.in_thread_client import InThreadClient

FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
any_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                        max_leaves=8)

FORMS = {  # the monitor's form routes, with the fields each one reads
    "/scenario": ("scenario",),
    "/servers/{name}/fault": ("metric", "action", "value"),
    "/alerts/{alert_id}/{action}": (),
    "/rules/{rule_id}": ("threshold", "for_seconds", "severity", "enabled", "operator"),
    "/integrations/pagerduty/disconnect": (),
    "/integrations/pagerduty/settings": ("events_api_version",),
    "/integrations/pagerduty/oauth/start": (),
    "/integrations/pagerduty/oauth/service": ("service_id", "new_service_name"),
}


class Monitor:
    def __init__(self, client: InThreadClient, app) -> None:
        self.client, self.app = client, app

    def request(self, method: str, path: str, **kwargs):
        answer = self.client.request(method, path, follow_redirects=False, **kwargs)
        assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:300])
        assert "Traceback" not in answer.text
        location = answer.headers.get("location")
        if location is not None:
            parts = urlsplit(location)
            off_site = parts.scheme or parts.netloc
            assert not off_site or location.startswith((PD_URL + "/", "http://monitor.test/")), location
        return answer

    def token(self) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.client.get("/").text).group(1)

    def connected(self) -> bool:
        return self.client.get("/api/integration").json()["connected"]


@pytest.fixture(scope="module")
def monitor(tmp_path_factory) -> Iterator[Monitor]:
    settings_ = Settings(db_path=str(tmp_path_factory.mktemp("fuzz-monitor") / "monitor.db"), pagerduty_url=PD_URL,
                         public_url="http://monitor.test", autostart=False, fleet_size=24)
    app = create_app(settings_, transport=httpx.MockTransport(FakePagerDuty()), backoff=lambda attempts: 1.0)
    with InThreadClient(app, base_url="http://monitor.test") as client:
        yield Monitor(client, app)


def test_the_list_of_forms_is_complete():
    found = {route.path.replace("{rule_id:int}", "{rule_id}").replace("{action:str}", "{action}")
             for route in routes() if isinstance(route, Route) and route.methods and "POST" in route.methods
             and not route.path.startswith(("/api/", "/integrations/pagerduty/webhook"))}
    assert found == set(FORMS)


@settings(FUZZ, max_examples=250)
@given(params=st.fixed_dictionaries({}, optional={
    "account": texts, "service_key": st.one_of(texts, st.just("e93facc04764012d7bfb002500d5d1a6")),
    "service_name": texts, "error": st.one_of(texts, st.just("cancelled")), "state": texts,
    "config": st.one_of(texts, any_json.map(json.dumps)),
}))
def test_a_callback_without_the_monitors_state_never_connects(monitor, params):
    answer = monitor.request("GET", "/integrations/pagerduty/callback", params=params)
    assert answer.status_code in (302, 303, 400)
    assert not monitor.connected()


@settings(FUZZ, max_examples=150)
@given(params=st.fixed_dictionaries({}, optional={
    "code": texts, "state": texts, "error": st.one_of(texts, st.just("access_denied")), "error_description": texts,
}))
def test_an_oauth_callback_without_this_browsers_state_never_connects(monitor, params):
    answer = monitor.request("GET", "/integrations/pagerduty/oauth/callback", params=params)
    assert answer.status_code == 400
    assert not monitor.connected()


@pytest.mark.parametrize("path", sorted(FORMS))
def test_every_form_with_any_fields(monitor, path):
    token = monitor.token()
    names = FORMS[path]

    @settings(FUZZ, max_examples=60)
    @given(fields=st.dictionaries(st.one_of(st.sampled_from(names or ("x",)), texts), texts, max_size=5),
           name=st.one_of(st.just("www15"), texts), alert_id=texts, action=st.one_of(
               st.sampled_from(["acknowledge", "resolve"]), texts), rule_id=st.integers(-5, 10 ** 20))
    def run(fields, name, alert_id, action, rule_id):
        target = (path.replace("{name}", quote(name, safe="")).replace("{alert_id}", quote(alert_id, safe=""))
                  .replace("{action}", quote(action, safe="")).replace("{rule_id}", str(rule_id)))
        monitor.request("POST", target, data={**fields, "csrf_token": token})

    run()


@settings(FUZZ, max_examples=200)
@given(method=st.sampled_from(["POST", "DELETE"]), name=st.one_of(st.just("www15"), texts), body=any_json)
def test_the_fault_api_with_any_body(monitor, method, name, body):
    monitor.request(method, f"/api/servers/{quote(name, safe='')}/fault", content=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"})


@settings(FUZZ, max_examples=200)
@given(body=st.one_of(any_json.map(lambda doc: json.dumps(doc).encode()), st.binary(max_size=200),
                      st.builds(lambda doc: json.dumps({"event": doc}).encode(), any_json)))
def test_the_webhook_endpoint_with_any_signed_body(monitor, body):
    """Rightly signed garbage is still refused cleanly (4xx) or ignored, never a crash."""
    answer = monitor.request("POST", "/integrations/pagerduty/webhook", content=body,
                             headers={"X-PagerDuty-Signature": sign(monitor.app.state.settings.webhook_secret, body),
                                      "Content-Type": "application/json"})
    assert answer.status_code in (200, 202, 400)
