"""domain/own_endpoints.py: is this URL the sandbox itself? Every spelling of its addresses and ports."""

from __future__ import annotations

import ipaddress

import pytest

from fake_pagerduty.domain.own_endpoints import OwnEndpoints, normalize_host, parse_ipv4, url_endpoint

OWN = OwnEndpoints.of(host="127.0.0.1", port=8090, https_port=8443, public_url="https://sandbox.example:9443/")

THE_SANDBOX = [
    "http://127.0.0.1:8090/_sandbox/reset?full=true",
    "https://127.0.0.1:8443/_sandbox/reset",  # --https-port
    "http://localhost:8090/",
    "http://LOCALHOST:8090/",
    "HTTP://LocalHost:8090/",
    "http://localhost.:8090/",  # trailing dot
    "http://127.0.0.1.:8090/",
    "http://app.localhost:8090/",  # RFC 6761: *.localhost is loopback
    "http://127.1:8090/",
    "http://127.0.1:8090/",
    "http://0x7f.0.0.1:8090/",
    "http://0X7F.1:8090/",
    "http://0x7f000001:8090/",
    "http://0177.0.0.1:8090/",  # octal
    "http://2130706433:8090/",  # one number
    "http://127.0.0.2:8090/",  # all of 127/8 is loopback
    "http://[::1]:8090/",
    "http://[0:0:0:0:0:0:0:1]:8090/",
    "http://[::ffff:127.0.0.1]:8090/",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]:8090/",
    "http://0.0.0.0:8090/",  # connects to this machine
    "http://0:8090/",
    "http://[::]:8090/",
    "http://user:pass@127.0.0.1:8090/",  # userinfo
    "http://evil.test@localhost:8090/",
    "http://a@b@127.0.0.1:8090/",
    "http://%31%32%37.0.0.1:8090/",  # percent-encoded
    "http://%6c%6f%63%61%6c%68%6f%73%74:8090/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:8090/",  # full-width digits (IDNA maps them)
    "http://127.0.0.1:08090/",
    "https://sandbox.example:9443/_sandbox/reset",  # --public-url
    "https://SANDBOX.example.:9443/x",
]

NOT_THE_SANDBOX = [
    "http://127.0.0.1:8000/integrations/pagerduty/webhook",  # the demo monitor: loopback, another port
    "http://localhost:8000/hook",
    "http://[::1]:8000/hook",
    "http://127.0.0.1/hook",  # port 80
    "https://127.0.0.1/hook",  # port 443
    "https://receiver.test/pagerduty",
    "http://10.0.0.5:8090/hook",  # another machine's port 8090
    "http://127.0.0.1.evil.test:8090/",
    "http://localhost.evil.test:8090/",
    "http://evil.test#@127.0.0.1:8090/",
    "https://sandbox.example/",  # the public host on another port
]


@pytest.mark.parametrize("url", THE_SANDBOX)
def test_every_spelling_of_the_sandbox_is_the_sandbox(url):
    assert OWN.names_self(url), url


@pytest.mark.parametrize("url", NOT_THE_SANDBOX)
def test_other_ports_and_hosts_are_not_the_sandbox(url):
    assert not OWN.names_self(url), url


def test_the_public_host_and_port_are_the_sandbox_whatever_the_scheme():
    # A connection to the public host and port reaches the sandbox (or its proxy) whichever scheme is written.
    assert OWN.names_self("http://sandbox.example:9443/")


def test_default_ports_count():
    own = OwnEndpoints.of(host="127.0.0.1", port=80, https_port=443)
    assert own.names_self("http://localhost/_sandbox/reset")
    assert own.names_self("https://127.0.0.1/_sandbox/reset")
    assert own.names_self("http://127.0.0.1:80/")
    assert not own.names_self("http://127.0.0.1:81/")


def test_public_url_without_a_port_means_the_schemes_default():
    own = OwnEndpoints.of(host="127.0.0.1", port=8090, public_url="http://sandbox.test")
    assert own.names_self("http://sandbox.test/_sandbox/reset")
    assert own.names_self("http://sandbox.test:80/")
    assert not own.names_self("http://sandbox.test:8080/")


def test_bound_to_every_address_the_machines_own_addresses_count():
    own = OwnEndpoints.of(host="0.0.0.0", port=8090)
    mine = ipaddress.ip_address("192.168.1.20")
    assert own.reaches(mine, 8090, lambda address: address == mine)
    assert not own.reaches(ipaddress.ip_address("192.168.1.21"), 8090, lambda address: address == mine)
    assert own.names_self("http://127.0.0.1:8090/") and own.names_self("http://[::1]:8090/")
    assert not own.names_self("http://127.0.0.1:8000/")


def test_bound_to_one_address_only_that_address_and_the_unspecified_ones():
    own = OwnEndpoints.of(host="192.168.1.20", port=8090)
    assert own.names_self("http://192.168.1.20:8090/")
    assert own.names_self("http://0.0.0.0:8090/")
    assert not own.names_self("http://192.168.1.21:8090/")


def test_resolved_addresses_are_compared_too():
    assert OWN.reaches_any(8090, ["127.0.0.1"])
    assert OWN.reaches_any(8090, ["::1"])
    assert OWN.reaches_any(8090, ["::ffff:127.0.0.1"])
    assert OWN.reaches_any(8090, ["fe80::1%eth0", "127.0.0.1"])
    assert not OWN.reaches_any(8090, ["93.184.216.34"])
    assert not OWN.reaches_any(8000, ["127.0.0.1"])


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("127.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"), ("0177.0.0.01", "127.0.0.1"), ("0", "0.0.0.0"), ("0x", "0.0.0.0"),
    ("255.255.255.255", "255.255.255.255"), ("1.2.3.4.", "1.2.3.4"),
    ("256.0.0.1", None), ("1.2.3.4.5", None), ("08.0.0.1", None), ("1..2", None), ("", None), ("a.b.c.d", None),
    ("4294967296", None), ("0x1g", None),
])
def test_ipv4_in_every_inet_aton_spelling(text, expected):
    address = parse_ipv4(text)
    assert (str(address) if address else None) == expected


def test_hosts_and_urls_that_name_nothing():
    assert normalize_host("") is None and normalize_host("[not-an-address]") is None
    assert url_endpoint("ftp://127.0.0.1:8090/") is None
    assert url_endpoint("http://127.0.0.1:99999/") is None
    assert url_endpoint("not a url") is None
    assert url_endpoint("http://example.test/") == ("example.test", 80)
