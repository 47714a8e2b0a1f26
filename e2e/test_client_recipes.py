"""The README's recipe for pdpyras (PagerDuty's older Python client), against a real sandbox process.

pdpyras sessions take the base URL as their `url` attribute and, being requests sessions, the CA bundle as
`verify`; they accept http:// too. requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment win
over a session's `verify` (this machine sets them), hence `trust_env = False` in the recipe.
"""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():  # pdpyras announces its own deprecation on import
    warnings.simplefilter("ignore", UserWarning)
    import pdpyras

pytestmark = pytest.mark.e2e


def test_pdpyras_over_https_with_the_sandbox_ca(fake_pagerduty):
    events = pdpyras.EventsAPISession(fake_pagerduty.routing_key)
    events.url = fake_pagerduty.https_url
    events.verify = str(fake_pagerduty.ca_pem_path)
    events.trust_env = False
    dedup_key = events.trigger("Queue backlog on worker-3 (pdpyras)", "worker-3", dedup_key="pdpyras/worker-3")
    assert dedup_key == "pdpyras/worker-3"

    rest = pdpyras.APISession(fake_pagerduty.api_key)
    rest.url = f"{fake_pagerduty.https_url}/api"
    rest.verify = str(fake_pagerduty.ca_pem_path)
    rest.trust_env = False
    assert [(i["title"], i["incident_key"]) for i in rest.list_all("incidents")] == [
        ("Queue backlog on worker-3 (pdpyras)", "pdpyras/worker-3")]
    [event] = fake_pagerduty.events()
    assert (event["outcome"], event["warnings"]) == ("created", [])


def test_pdpyras_over_plain_http(fake_pagerduty):
    events = pdpyras.EventsAPISession(fake_pagerduty.routing_key)
    events.url = fake_pagerduty.url
    events.trigger("Plain HTTP trigger (pdpyras)", "worker-4", dedup_key="pdpyras/worker-4")
    rest = pdpyras.APISession(fake_pagerduty.api_key)
    rest.url = fake_pagerduty.rest_url
    assert [i["incident_key"] for i in rest.list_all("incidents")] == ["pdpyras/worker-4"]
