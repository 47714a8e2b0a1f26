"""PagerDuty's Simple Install Flow, round trip to a partner's redirect URL, and the sandbox's own error page
for a handshake from a vendor it does not know."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from e2e.conftest import sign_in


class _Partner(BaseHTTPRequestHandler):
    """A partner's redirect endpoint: records each page request's path and query, answers with a small page."""

    def do_GET(self) -> None:
        if self.path != "/favicon.ico":  # the browser's own extra request
            self.server.requests.append(self.path)
        body = b'<!doctype html><title>Partner</title><link rel="icon" href="data:,"><h1>Installed</h1>'
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def partner() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Partner)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_simple_install_flow_round_trip(page, sandbox_server, partner, screens):
    redirect_url = f"http://127.0.0.1:{partner.server_port}/pagerduty/installed?tenant=t-42"
    page.goto(f"{sandbox_server.url}/install/integration?" + urlencode(
        {"app_id": "PDEMOMN", "redirect_url": redirect_url, "version": "2"}))
    sign_in(page)
    page.get_by_label("Service name").fill("Install Flow Service")
    screens.take(page, "10-sandbox-install-flow")
    page.get_by_role("button", name="Create service").click()

    expect(page.get_by_role("heading", name="Installed")).to_be_visible()
    assert len(partner.requests) == 1, partner.requests
    landed = urlsplit(partner.requests[0])
    assert landed.path == "/pagerduty/installed"
    query = parse_qs(landed.query)
    assert query["tenant"] == ["t-42"]
    config = json.loads(query["config"][0])
    assert config["account"] == {"subdomain": "acme", "name": "Acme Corp"}
    [key] = config["integration_keys"]
    assert key["name"] == "Install Flow Service"
    assert key["type"] == "service"
    assert re.fullmatch(r"[0-9a-f]{32}", key["integration_key"]), key
    assert key["id"].startswith("P")


def test_unknown_vendor_gets_the_sandbox_error_page(page, sandbox_server, partner):
    callback = f"http://127.0.0.1:{partner.server_port}/callback"
    response = page.goto(f"{sandbox_server.url}/connect?" + urlencode({"vendor": "no-such-vendor",
                                                                        "callback": callback}))
    assert response.status == 400
    expect(page.get_by_role("heading", name="Unknown partner app")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_count(0)
    assert partner.requests == []
