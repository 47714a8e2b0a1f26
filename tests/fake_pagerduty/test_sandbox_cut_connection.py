"""A fault rule that cuts the connection, against a real uvicorn server on a free 127.0.0.1 port: the client
gets no status line at all (httpx: "Server disconnected without sending a response")."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from fake_pagerduty.app import create_app
from fake_pagerduty.server_process import bound_socket
from fake_pagerduty.settings import Settings
from tests.conftest import SAMPLE_KEY

EVENT = {"routing_key": SAMPLE_KEY, "event_action": "trigger", "dedup_key": "cut",
         "payload": {"summary": "Disk full", "source": "web-1", "severity": "error"}}


@pytest.fixture(params=["httptools", "h11"])
def live_sandbox(request, tmp_path) -> Iterator[str]:
    """The sandbox under uvicorn (each HTTP implementation) in a thread; yields its base URL."""
    sock = bound_socket()  # uvicorn listens on it: the port is ours from the start
    port = sock.getsockname()[1]
    app = create_app(Settings(port=port, db_path=str(tmp_path / "sandbox.db")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=request.param,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:  # uvicorn offers no event to await from another thread
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def test_cut_connection_drops_the_socket_without_a_response(live_sandbox):
    with httpx.Client(base_url=live_sandbox, timeout=10) as client:
        rule = client.post("/_sandbox/faults", json={"match": {"endpoint": "v2"}, "disconnect": True, "count": 1})
        assert rule.status_code == 201

        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.post("/v2/enqueue", json=EVENT)

        # the server is fine, the rule is spent, and the journal says what happened
        assert client.post("/v2/enqueue", json=EVENT).status_code == 202
        cut, handled = client.get("/_sandbox/events", params={"order": "asc"}).json()["events"]
    assert (cut["outcome"], cut["fault_id"], cut["response"]["status"]) == ("fault", rule.json()["fault"]["id"], 0)
    assert cut["detail"] == f"fault {rule.json()['fault']['id']}: cut the connection"
    assert handled["outcome"] == "created"
