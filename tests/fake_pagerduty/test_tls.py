"""The sandbox's local CA: made once and kept, server certificates for loopback names, the PEM it serves."""

from __future__ import annotations

import ipaddress
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from cryptography import x509

from fake_pagerduty import tls
from fake_pagerduty.app import create_app
from fake_pagerduty.cli import build_parser, settings_from_args
from fake_pagerduty.settings import Settings


def _certs(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


def test_ca_is_created_once_and_kept(tmp_path):
    first = tls.load_or_create_ca(tmp_path / "ca")
    pem = first.cert_path.read_bytes()
    key = first.key_path.read_bytes()
    second = tls.load_or_create_ca(tmp_path / "ca")

    assert (first.created, second.created) == (True, False)
    assert second.cert_path.read_bytes() == pem
    assert second.key_path.read_bytes() == key
    [ca] = _certs(pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert "fake-pagerduty local CA" in ca.subject.rfc4514_string()
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600


def test_sandboxes_starting_together_share_one_ca(tmp_path):
    directory = tmp_path / "shared-ca"
    with ThreadPoolExecutor(max_workers=6) as pool:
        cas = list(pool.map(lambda _: tls.load_or_create_ca(directory), range(6)))
    assert sum(ca.created for ca in cas) == 1
    assert len({ca.cert_pem for ca in cas}) == 1
    assert sorted(p.name for p in directory.iterdir() if not p.name.startswith(".")) == ["ca-key.pem", "ca.pem"]


def test_server_certificate_names_loopback_and_is_issued_by_the_ca(tmp_path):
    ca = tls.load_or_create_ca(tmp_path / "ca")
    [ca_cert] = _certs(ca.cert_path.read_bytes())
    with ca.server_cert_file(["127.0.0.1", "::1", "localhost"]) as path:
        pem = Path(path).read_bytes()
    assert b"PRIVATE KEY" in pem
    leaf = _certs(pem)[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert leaf.issuer == ca_cert.subject
    leaf.verify_directly_issued_by(ca_cert)  # raises if the CA did not sign it
    assert not Path(path).exists()  # the key does not outlive the server


def test_server_names_add_a_specific_bound_host_only():
    assert tls.server_names(Settings()) == ["127.0.0.1", "::1", "localhost"]
    assert tls.server_names(Settings(host="0.0.0.0")) == ["127.0.0.1", "::1", "localhost"]
    assert tls.server_names(Settings(host="sandbox.internal")) == ["127.0.0.1", "::1", "localhost", "sandbox.internal"]


def test_ca_dir_defaults_next_to_the_database_or_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert tls.ca_dir(Settings(db_path=str(tmp_path / "var" / "sandbox.db"))) == tmp_path / "var" / "fake-pagerduty-ca"
    assert tls.ca_dir(Settings(db_path=":memory:")) == tmp_path / "data" / "fake-pagerduty" / "ca"
    assert tls.ca_dir(Settings(db_path=":memory:", ca_dir=tmp_path / "mine")) == tmp_path / "mine"


def test_cli_flags_reach_settings(tmp_path):
    args = build_parser().parse_args(
        ["serve", "--https-port", "8443", "--ca-dir", str(tmp_path / "ca"), "--strict", "--db", ":memory:"]
    )
    settings = settings_from_args(args)
    assert (settings.https_port, settings.ca_dir, settings.strict) == (8443, tmp_path / "ca", True)
    plain = settings_from_args(build_parser().parse_args(["serve"]))
    assert (plain.https_port, plain.ca_dir, plain.strict) == (None, None, False)


async def _get(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get(path)


async def test_ca_pem_is_served_when_https_is_on(tmp_path):
    ca = tls.load_or_create_ca(tmp_path / "ca")
    settings = Settings(db_path=str(tmp_path / "sandbox.db"), https_port=8443, ca_dir=tmp_path / "ca")
    response = await _get(settings, "/_sandbox/ca.pem")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-pem-file"
    assert response.content == ca.cert_path.read_bytes()
    assert response.text.startswith("-----BEGIN CERTIFICATE-----")


async def test_ca_pem_is_404_when_https_is_off(tmp_path):
    tls.load_or_create_ca(tmp_path / "ca")
    response = await _get(Settings(db_path=str(tmp_path / "sandbox.db"), ca_dir=tmp_path / "ca"), "/_sandbox/ca.pem")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "HTTPS is off: start the sandbox with --https-port N to get a"
                                                    " local CA", "code": 404}}
