"""PagerDuty's official Python client (PyPI `pagerduty`) against a real sandbox process over HTTPS.

The client refuses http:// base URLs, so this is the path partners using it must take: base URL
`https://127.0.0.1:<https port>` (Events) or `…/api` (REST), and `verify=` an SSL context trusting the
sandbox's CA.
"""

from __future__ import annotations

import sqlite3
import ssl

import httpx
import pagerduty
import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def ca_context(fake_pagerduty_server) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(fake_pagerduty_server.ca_pem_path))


def _journal(server, dedup_key: str) -> list[tuple]:
    with sqlite3.connect(server.workdir / "sandbox.db") as db:
        return db.execute(
            "SELECT api, path, action, outcome, response_status FROM events WHERE dedup_key = ?", (dedup_key,)
        ).fetchall()


def test_official_client_refuses_plain_http(fake_pagerduty_server):
    with pytest.raises(pagerduty.UrlError):
        pagerduty.EventsApiV2Client("e93facc04764012d7bfb002500d5d1a6", base_url=fake_pagerduty_server.http_url)


def test_https_is_verified_against_the_sandbox_ca(fake_pagerduty_server, ca_context):
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{fake_pagerduty_server.https_url}/_sandbox/ca.pem", verify=ssl.create_default_context())
    for host in ("127.0.0.1", "localhost"):
        response = httpx.get(f"https://{host}:{fake_pagerduty_server.https_port}/_sandbox/ca.pem", verify=ca_context)
        assert response.status_code == 200
        assert response.text == fake_pagerduty_server.ca_pem_path.read_text()


def test_official_events_client_triggers_over_https(fake_pagerduty_server, ca_context):
    client = pagerduty.EventsApiV2Client(
        "e93facc04764012d7bfb002500d5d1a6", base_url=fake_pagerduty_server.https_url, verify=ca_context
    )
    dedup_key = client.trigger("Disk 99% full on db-1 (official client)", "db-1.example.com",
                               dedup_key="official-client/db-1/disk", severity="critical")
    assert dedup_key == "official-client/db-1/disk"
    client.acknowledge(dedup_key)
    assert _journal(fake_pagerduty_server, dedup_key) == [
        ("v2", "/v2/enqueue", "trigger", "created", 202),
        ("v2", "/v2/enqueue", "acknowledge", "acknowledged", 202),
    ]
