import subprocess
import sys

from demo_monitor.cli import build_parser, settings_from_args


def test_serve_flags_build_settings_with_the_documented_defaults():
    settings = settings_from_args(build_parser().parse_args(["serve"]))
    assert (settings.host, settings.port, settings.db_path) == ("127.0.0.1", 8000, ":memory:")
    assert settings.pagerduty_url == "http://127.0.0.1:8090"
    assert settings.vendor_key == "demo-monitor"
    assert settings.webhook_secret == "demo-webhook-secret"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert (settings.fleet_size, settings.tick_interval, settings.seed) == (24, 1.0, 42)


def test_serve_flags_override_everything():
    args = build_parser().parse_args([
        "serve", "--host", "127.0.0.2", "--port", "9000", "--db", "x.db", "--pagerduty-url", "http://pd:1",
        "--vendor-key", "v", "--public-url", "http://demo.example/", "--webhook-secret", "s",
        "--fleet-size", "200", "--tick-interval", "0.5", "--seed", "7", "--events-api", "2",
    ])
    s = settings_from_args(args)
    assert (s.host, s.port, s.db_path, s.pagerduty_url, s.vendor_key, s.webhook_secret) == (
        "127.0.0.2", 9000, "x.db", "http://pd:1", "v", "s")
    assert s.base_url == "http://demo.example"
    assert (s.fleet_size, s.tick_interval, s.seed, s.events_api_version) == (200, 0.5, 7, 2)


def test_python_dash_m_shows_the_serve_help():
    out = subprocess.run([sys.executable, "-m", "demo_monitor", "serve", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "--pagerduty-url" in out and "--fleet-size" in out and "--webhook-secret" in out
