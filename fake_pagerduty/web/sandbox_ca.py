"""`GET /_sandbox/ca.pem`: the local CA's certificate, for clients that call the sandbox over HTTPS."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from fake_pagerduty import tls
from fake_pagerduty.errors import SandboxError


async def ca_pem(request: Request) -> Response:
    settings = request.app.state.settings
    path = tls.ca_cert_path(settings)
    if not settings.https_port or not path.is_file():
        raise SandboxError.not_found("HTTPS is off: start the sandbox with --https-port N to get a local CA")
    return Response(
        path.read_bytes(),
        media_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="fake-pagerduty-ca.pem"'},
    )
