"""PagerDuty's official Python client (PyPI `pagerduty`) against a real sandbox process over HTTPS.

The client refuses http:// base URLs, so this is the path partners using it must take: base URL
`https://127.0.0.1:<https port>` (Events) or `…/api` (REST), and `verify=` an SSL context trusting the
sandbox's CA. The README's recipe is this test.
"""

from __future__ import annotations

import ssl

import httpx
import pagerduty
import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def ca_context(fake_pagerduty) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(fake_pagerduty.ca_pem_path))


def test_official_client_refuses_plain_http(fake_pagerduty):
    with pytest.raises(pagerduty.UrlError):
        pagerduty.EventsApiV2Client(fake_pagerduty.routing_key, base_url=fake_pagerduty.url)


def test_https_is_verified_against_the_sandbox_ca(fake_pagerduty, ca_context):
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{fake_pagerduty.https_url}/_sandbox/ca.pem", verify=ssl.create_default_context())
    port = fake_pagerduty.server.https_port
    for host in ("127.0.0.1", "localhost"):
        response = httpx.get(f"https://{host}:{port}/_sandbox/ca.pem", verify=ca_context)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-pem-file"
        assert response.text == fake_pagerduty.ca_pem_path.read_text()


def test_official_clients_trigger_and_list_incidents_over_https(fake_pagerduty, ca_context):
    events = pagerduty.EventsApiV2Client(fake_pagerduty.routing_key, base_url=fake_pagerduty.https_url,
                                         verify=ca_context)
    dedup_key = events.trigger("Disk 99% full on db-1 (official client)", "db-1.example.com",
                               dedup_key="official-client/db-1/disk", severity="critical")
    assert dedup_key == "official-client/db-1/disk"
    events.send_change_event(payload={"summary": "Deployed v1.2.3", "source": "ci"})

    rest = pagerduty.RestApiV2Client(fake_pagerduty.api_key, base_url=f"{fake_pagerduty.https_url}/api",
                                     verify=ca_context)
    incidents = rest.list_all("incidents")
    assert [(i["title"], i["status"], i["urgency"], i["incident_key"]) for i in incidents] == [
        ("Disk 99% full on db-1 (official client)", "triggered", "high", "official-client/db-1/disk")
    ]
    journal = fake_pagerduty.events()
    assert [(e["api"], e["outcome"], e["response"]["status"]) for e in journal] == [
        ("change", "recorded", 202), ("v2", "created", 202)
    ]
    # strict mode (the plugin's default): the official client's events match PagerDuty's schema
    assert [e["warnings"] for e in journal] == [[], []]
