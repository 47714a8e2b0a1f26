"""The pure rules for where a browser may be sent: partner callbacks, ?next= paths, links and images."""

from __future__ import annotations

import pytest

from fake_pagerduty.domain.callbacks import (
    Origin,
    callback_allowed,
    is_http_url,
    is_https_url,
    parse_pattern,
    safe_next,
    with_query,
)

LOOPBACK = ["http://127.0.0.1:*", "http://localhost:*", "https://127.0.0.1:*", "https://localhost:*"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/integrations/pagerduty/callback",
        "http://127.0.0.1/cb",
        "https://localhost:8443/cb?state=x#frag",
        "HTTP://LOCALHOST:9/cb",
        "http://127.0.0.1:65535/",
        "http://127.0.0.1/cb!~",
        "http://127.0.0.1/" + "a" * 2031,  # 2,048 characters, the most a callback may have
    ],
)
def test_loopback_callbacks_are_allowed(url):
    assert callback_allowed(url, LOOPBACK)


@pytest.mark.parametrize(
    "url",
    [
        "",
        None,
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.com/cb",
        "/relative/cb",
        "127.0.0.1:8000/cb",
        "http://127.0.0.1@evil.com/cb",
        "http://127.0.0.1:8000@evil.com/cb",
        "http://user:pass@127.0.0.1:8000/cb",
        "http://evil.com\\@127.0.0.1/cb",
        "http:\\\\127.0.0.1\\cb",
        "http:/127.0.0.1/cb",
        "http:127.0.0.1/cb",
        "http://127.0.0.1.evil.com/cb",
        "http://evil.com/#@127.0.0.1",
        "http://evil.com/?x=http://127.0.0.1",
        "ftp://127.0.0.1/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:80a/cb",
        "http://127.0.0.1 /cb",
        "http://127.0.0.1/c b",
        "http://127.0.0.1/\ncb",
        "http://127.0.0.1%2f@evil.com/",
        "http://[::1]/cb",
        "http://ⅼocalhost/cb",
        "http://127.0.0.1/cb\x7f",
        "http://127.0.0.1/" + "a" * 2032,  # 2,049 characters
        42,
    ],
)
def test_anything_else_is_refused(url):
    assert not callback_allowed(url, LOOPBACK)


def test_scheme_and_port_must_match_the_pattern():
    assert callback_allowed("https://partner.example:8443/cb", ["https://partner.example:8443"])
    assert not callback_allowed("http://partner.example:8443/cb", ["https://partner.example:8443"])
    assert not callback_allowed("https://partner.example:9443/cb", ["https://partner.example:8443"])
    # No port in the pattern means the scheme's default port.
    assert callback_allowed("https://partner.example/cb", ["https://partner.example"])
    assert callback_allowed("https://partner.example:443/cb", ["https://partner.example"])
    assert not callback_allowed("https://partner.example:8443/cb", ["https://partner.example"])


def test_broken_patterns_match_nothing():
    for pattern in ["", "127.0.0.1:*", "javascript:*", "http://:*", "http://a@b:*", "http://x/path", 42, None]:
        assert parse_pattern(pattern) is None
        assert not callback_allowed("http://127.0.0.1/cb", [pattern])


def test_patterns_read_as_written():
    assert parse_pattern("https://PARTNER.example/") == Origin("https", "partner.example", 443)  # slash, case
    assert parse_pattern("https://BOX") == Origin("https", "box", 443)
    assert parse_pattern("http://a:*") == Origin("http", "a", None)
    assert parse_pattern("ftp://127.0.0.1:*") is None
    # a broken pattern is skipped, not the end of the list
    assert callback_allowed("http://127.0.0.1/cb", ["nonsense", "http://127.0.0.1:*"])


def test_with_query_keeps_the_callbacks_own_query_byte_for_byte():
    assert with_query("http://127.0.0.1:9/cb?state=a%7Eb&x=", {"error": "cancelled"}) == (
        "http://127.0.0.1:9/cb?state=a%7Eb&x=&error=cancelled"
    )
    assert with_query("http://127.0.0.1:9/cb", {"service_name": "Demo Monitor (2)", "account": "acme"}) == (
        "http://127.0.0.1:9/cb?service_name=Demo+Monitor+%282%29&account=acme"
    )
    assert with_query("http://127.0.0.1:9/cb#top", {"a": "b&c"}) == "http://127.0.0.1:9/cb?a=b%26c#top"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/connect?vendor=demo-monitor&callback=http%3A%2F%2F127.0.0.1", "/connect?vendor=demo-monitor&callback=http%3A%2F%2F127.0.0.1"),
        ("/incidents/Q123", "/incidents/Q123"),
        ("//evil.com", "/incidents"),
        ("///evil.com", "/incidents"),
        ("/\\evil.com", "/incidents"),
        ("https://evil.com/", "/incidents"),
        ("javascript:alert(1)", "/incidents"),
        ("evil.com", "/incidents"),
        ("/ok\r\nSet-Cookie: x=1", "/incidents"),
        ("", "/incidents"),
        (None, "/incidents"),
        ("/" + "a" * 4095, "/" + "a" * 4095),
        ("/" + "a" * 4096, "/incidents"),
    ],
)
def test_safe_next_accepts_only_same_site_paths(target, expected):
    assert safe_next(target) == expected


def test_links_are_http_and_images_https_only():
    assert is_http_url("http://grafana.local/d/1") and is_http_url("https://example.com")
    for bad in ["javascript:alert(1)", "data:image/png;base64,AAAA", "//example.com/x", "/local", "vbscript:x"]:
        assert not is_http_url(bad)
        assert not is_https_url(bad)
    for odd in ["http://exa%6dple.com/", "http://:80/"]:  # an escaped host, no host
        assert not is_http_url(odd)
    assert is_https_url("https://example.com/graph.png")
    assert not is_https_url("http://example.com/graph.png")
